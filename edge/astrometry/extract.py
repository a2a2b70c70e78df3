"""Star extraction: the point sources of a stacked (mean) night-sky frame, for astrometry and photometry.

The input is one camera's mean frame (the mean of a clip's frames, or of a recording), so that
stars stand out of the noise and a meteor, spread over few frames, fades. Extraction uses `sep`
(Barbary 2016, the Source Extractor algorithms as a library): a smooth background is fitted and
subtracted, sources are found at `threshold_sigma` times the background RMS, then their centres are
refined with Source Extractor's windowed centroid (`sep.winpos`), which is close to a PSF fit for
round stars and far less noisy than the isophotal barycentre.

Kept: round, compact sources. Dropped: single hot pixels (no spread beyond one pixel), long streaks
(a meteor or satellite trail in the stack), sources whose windowed centroid did not converge, and
those touching the sensor edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sep

_MAX_ELONGATION = 2.0  # a / b: streaks (meteors, satellites) are longer
_MIN_FWHM_PX = 1.1  # below this a "star" is a hot pixel (a lone pixel measures ~0.8 px)
_EDGE_PX = 3.0
_HALF_LIGHT_TO_FWHM = 2.0  # for a Gaussian the half-light radius is FWHM / 2


@dataclass
class StarList:
    """Point sources of one frame; arrays of equal length, brightest first.

    x_px, y_px: windowed centroid (column, row), pixel (0, 0) is the centre of the top-left pixel.
    flux_adu: background-subtracted flux in a circular aperture of radius 2.5 FWHM (at least 3 px), ADU.
    fwhm_px: full width at half maximum from the half-light radius, px.
    peak_adu: highest background-subtracted pixel value, ADU.
    snr: flux over its error (the background RMS map over the aperture plus a Poisson term at
        1 e-/ADU): for ranking stars by how well they are measured, not a calibrated figure.
    """

    x_px: np.ndarray
    y_px: np.ndarray
    flux_adu: np.ndarray
    fwhm_px: np.ndarray
    peak_adu: np.ndarray
    snr: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.x_px)
        for name in ("y_px", "flux_adu", "fwhm_px", "peak_adu"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name}: length {len(getattr(self, name))} differs from x_px's {n}")
        if self.snr is None:
            self.snr = np.full(n, np.nan)

    def __len__(self) -> int:
        return len(self.x_px)

    def select(self, index) -> StarList:
        """The sources picked by a boolean mask or an index array."""
        return StarList(
            self.x_px[index],
            self.y_px[index],
            self.flux_adu[index],
            self.fwhm_px[index],
            self.peak_adu[index],
            self.snr[index],
        )


def empty_star_list() -> StarList:
    e = np.zeros(0)
    return StarList(e, e.copy(), e.copy(), e.copy(), e.copy(), e.copy())


def extract_stars(
    image: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    threshold_sigma: float = 5.0,
    max_stars: int = 600,
) -> StarList:
    """The stars of a stacked frame `image` (2-D, any real dtype, ADU), brightest `max_stars` first.

    mask: True where pixels must be ignored (e.g. a horizon or a hot-pixel map), same shape as image.
    threshold_sigma: detection threshold over the local background, in units of its RMS.
    A frame with no stars (clouds, daylight, a lens cap) gives an empty StarList, not an error.
    """
    img = np.asarray(image)
    if img.ndim != 2:
        raise ValueError(f"image: expected a 2-D frame, got shape {img.shape}")
    if img.size == 0 or min(img.shape) < 16:
        raise ValueError(f"image: shape {img.shape} is too small to extract stars from")
    if not np.issubdtype(img.dtype, np.number) or np.iscomplexobj(img):
        raise ValueError(f"image: expected real numbers, got dtype {img.dtype}")
    if not (np.isfinite(threshold_sigma) and threshold_sigma > 0):
        raise ValueError(f"threshold_sigma: {threshold_sigma} is not a positive number")
    if max_stars < 1:
        raise ValueError(f"max_stars: {max_stars} must be at least 1")
    data = np.ascontiguousarray(img, dtype=np.float64)
    bad = ~np.isfinite(data)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != data.shape:
            raise ValueError(f"mask: shape {mask.shape} differs from the image's {data.shape}")
        bad = bad | mask
    if bad.all():
        return empty_star_list()
    data = np.where(bad, np.nanmedian(np.where(bad, np.nan, data)), data)
    bad_arg = np.ascontiguousarray(bad) if bad.any() else None

    bkg = sep.Background(data, mask=bad_arg, bw=64, bh=64, fw=3, fh=3)
    sub = data - bkg.back()
    rms = bkg.rms()
    global_rms = float(bkg.globalrms)
    if not np.isfinite(global_rms) or global_rms <= 0:
        # a perfectly flat frame (synthetic, or a saturated sensor): no noise to judge stars by
        return empty_star_list()
    sep.set_extract_pixstack(max(300000, data.size // 4))
    sep.set_sub_object_limit(4096)
    try:
        objects = sep.extract(sub, threshold_sigma, err=rms, mask=bad_arg, minarea=2, deblend_cont=0.005)
    except Exception as exc:  # sep raises plain Exception for "too many objects" and the like
        raise ValueError(f"image: star extraction failed ({exc}); is the frame mostly saturated?") from exc
    if len(objects) == 0:
        return empty_star_list()

    h, w = data.shape
    a, b = objects["a"], objects["b"]
    with np.errstate(divide="ignore", invalid="ignore"):
        elongation = np.where(b > 0, a / b, np.inf)
    keep = (
        (elongation < _MAX_ELONGATION)
        & (objects["x"] > _EDGE_PX)
        & (objects["x"] < w - 1 - _EDGE_PX)
        & (objects["y"] > _EDGE_PX)
        & (objects["y"] < h - 1 - _EDGE_PX)
        & (objects["npix"] >= 2)
    )
    objects = objects[keep]
    if len(objects) == 0:
        return empty_star_list()
    # brightest first, then cut: the windowed centroids and apertures cost per source
    objects = objects[np.argsort(-objects["flux"])][: 2 * max_stars]

    x, y = objects["x"].astype(float), objects["y"].astype(float)
    r_half, _ = sep.flux_radius(sub, x, y, 6.0 * np.ones_like(x), 0.5, subpix=5, mask=bad_arg)
    fwhm = _HALF_LIGHT_TO_FWHM * r_half
    sig = np.clip(fwhm, 0.8, 10.0) / 2.3548
    xw, yw, wflag = sep.winpos(sub, x, y, sig, mask=bad_arg)
    moved = np.hypot(xw - x, yw - y)
    ok = (wflag == 0) & np.isfinite(xw) & np.isfinite(yw) & (moved < 2.0) & (fwhm >= _MIN_FWHM_PX)
    radius = np.maximum(3.0, 2.5 * np.nan_to_num(fwhm, nan=1.6))
    flux, flux_err, _ = sep.sum_circle(
        sub, xw, yw, radius, err=rms, mask=bad_arg, bkgann=None, gain=1.0, subpix=5
    )
    ok &= np.isfinite(flux) & (flux > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(flux_err > 0, flux / flux_err, np.inf)
    stars = StarList(xw[ok], yw[ok], flux[ok], fwhm[ok], objects["peak"][ok].astype(float), snr[ok])
    order = np.argsort(-stars.flux_adu)[:max_stars]
    return stars.select(order)
