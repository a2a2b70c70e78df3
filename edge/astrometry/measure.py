"""Meteor positions on the sky: per-frame pixel centroids to apparent alt/az and ICRS RA/Dec.

Inputs: a camera model fitted to that camera's stars (`edge.astrometry.calibrate`), so that it maps
pixels to *observed* (refracted) directions, the station's `Site`, frame times (POSIX s, UTC),
and the meteor's centroids (from the detector, or from `meteor_centroid` on a background-subtracted
frame). RA/Dec follow the meteor convention of docs/design.md: the ICRS direction of a star that
would appear at the same place at that instant, i.e. the observed alt/az turned into ICRS with the
same transform as the stars (`altaz_to_icrs(..., refraction=atmosphere)`).
"""

from __future__ import annotations

import math

import numpy as np

from edge.astrometry.camera_model import CameraModel
from edge.geometry.celestial import Atmosphere, altaz_to_icrs
from edge.geometry.earth import Site


def pixel_to_sky(
    model: CameraModel, site: Site, t_unix, x_px, y_px, atmosphere: Atmosphere | None
) -> dict[str, np.ndarray]:
    """Sky directions of pixel positions: ra_deg, dec_deg (ICRS, meteor convention), alt_deg, az_deg.

    alt/az are apparent (refracted when `atmosphere` is given, as the model was fitted to refracted
    star positions). `t_unix` (POSIX s, UTC) broadcasts with x_px and y_px. Positions that the model
    cannot invert, or that are not finite, give NaN in every output, never a number.
    """
    if not isinstance(model, CameraModel):
        raise ValueError(f"model: expected a CameraModel, got {type(model).__name__}")
    x, y, t = np.broadcast_arrays(np.asarray(x_px, float), np.asarray(y_px, float), np.asarray(t_unix, float))
    alt, az = model.pixel_to_altaz(x, y)
    alt, az = np.asarray(alt, float), np.asarray(az, float)
    good = np.isfinite(alt) & np.isfinite(az) & np.isfinite(t)
    ra = np.full(x.shape, np.nan)
    dec = np.full(x.shape, np.nan)
    if good.any():
        ra[good], dec[good] = altaz_to_icrs(alt[good], az[good], t[good], site, refraction=atmosphere)
    alt = np.where(good, alt, np.nan)
    az = np.where(good, az, np.nan)
    return {"ra_deg": ra, "dec_deg": dec, "alt_deg": alt, "az_deg": az}


def meteor_centroid(
    diff: np.ndarray,
    x_guess_px: float,
    y_guess_px: float,
    *,
    half_box_px: int = 6,
    noise_adu: float | None = None,
) -> tuple[float, float, float]:
    """Light-weighted centre of the meteor near a guess, in a background-subtracted frame `diff` (ADU).

    Pixels of the (2 half_box_px + 1)^2 box around the guess that are above 3 sigma of the noise
    (`noise_adu`, default the standard deviation of `diff`) are weighted by their value. Returns
    (x_px, y_px, sigma_px): the centre and its 1-sigma statistical error per axis; NaN when the box
    leaves the frame or holds no signal.
    """
    d = np.asarray(diff, float)
    if d.ndim != 2:
        raise ValueError(f"diff: expected a 2-D frame, got shape {d.shape}")
    if not (np.isfinite(x_guess_px) and np.isfinite(y_guess_px)):
        return math.nan, math.nan, math.nan
    h, w = d.shape
    x0, y0 = int(round(x_guess_px)), int(round(y_guess_px))
    if not (half_box_px <= x0 < w - half_box_px and half_box_px <= y0 < h - half_box_px):
        return math.nan, math.nan, math.nan
    sigma = float(np.std(d)) if noise_adu is None else float(noise_adu)
    yy, xx = np.mgrid[y0 - half_box_px : y0 + half_box_px + 1, x0 - half_box_px : x0 + half_box_px + 1]
    box = d[y0 - half_box_px : y0 + half_box_px + 1, x0 - half_box_px : x0 + half_box_px + 1]
    box = np.where(box > 3.0 * sigma, box, 0.0)
    total = box.sum()
    if not total > 0:
        return math.nan, math.nan, math.nan
    xc, yc = (box * xx).sum() / total, (box * yy).sum() / total
    lit = box > 0
    # each lit pixel's noise moves the centre by (position - centre) * noise / total
    var = sigma**2 * (((xx - xc) ** 2 + (yy - yc) ** 2)[lit]).sum() / 2.0 / total**2
    return float(xc), float(yc), float(math.sqrt(var))


def meteor_positions(
    model: CameraModel,
    site: Site,
    t_unix,
    x_px,
    y_px,
    atmosphere: Atmosphere | None,
    *,
    centroid_sigma_px=0.0,
    fit_residual_arcmin: float = 0.0,
) -> dict[str, np.ndarray]:
    """`pixel_to_sky` plus `sigma_arcmin`, each position's 1-sigma uncertainty per axis on the sky.

    It combines the centroid's error (`centroid_sigma_px`, scalar or per position, times the local
    pixel scale) and the calibration's star residual (`fit_residual_arcmin`, the median of the fit,
    taken as the model's error) in quadrature.
    """
    out = pixel_to_sky(model, site, t_unix, x_px, y_px, atmosphere)
    c = np.broadcast_to(np.asarray(centroid_sigma_px, float), out["ra_deg"].shape)
    if np.any(c < 0) or not (np.isfinite(fit_residual_arcmin) and fit_residual_arcmin >= 0):
        raise ValueError("centroid_sigma_px and fit_residual_arcmin must be non-negative")
    out["sigma_arcmin"] = np.where(
        np.isfinite(out["ra_deg"]), np.hypot(c * model.pixel_scale_arcmin, fit_residual_arcmin), np.nan
    )
    return out
