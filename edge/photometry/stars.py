"""Aperture photometry of stars: circular apertures with a local annulus background (sep).

Inputs are a (H, W) image (usually the mean of the frames around an event, ADU per frame) and
star centroids from the star extraction or from the catalogue matched by the astrometric
calibration (`edge.astrometry.calibrate`). Pixel (0, 0) is the centre of the top-left pixel,
which is sep's convention too.
"""

from __future__ import annotations

import numpy as np
import sep


def _as_image(image: np.ndarray) -> np.ndarray:
    data = np.asarray(image)
    if data.ndim != 2:
        raise ValueError(f"image: expected a (H, W) array, got shape {data.shape}")
    data = np.ascontiguousarray(data, dtype=np.float64)
    if not np.all(np.isfinite(data)):
        raise ValueError("image: has non-finite pixels")
    return data


def robust_sigma(image: np.ndarray) -> float:
    """Background noise of an image, ADU: 1.4826 x the median absolute deviation."""
    data = np.asarray(image, float)
    med = np.median(data)
    return float(1.4826 * np.median(np.abs(data - med)))


def aperture_fluxes(
    image: np.ndarray,
    x_px,
    y_px,
    *,
    radius_px: float = 3.0,
    annulus_px: tuple[float, float] = (6.0, 9.0),
    gain_e_per_adu: float | None = None,
    noise_adu: float | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Background-subtracted flux (ADU) in circles of `radius_px` around (x_px, y_px), and its 1-sigma error.

    The background per pixel is the mean of the annulus `annulus_px` = (inner, outer) radii in pixels
    (sep's `bkgann`, which masks nothing, so keep the annulus clear of bright neighbours). The error
    combines the per-pixel noise `noise_adu` (a scalar or a (H, W) map, e.g. the frames' standard
    deviation over sqrt(number of frames) for a mean frame; default: the image's robust noise) over
    the aperture and, when `gain_e_per_adu` is given, the source's shot noise. Apertures partly off
    the image come back as NaN.
    """
    data = _as_image(image)
    x = np.atleast_1d(np.asarray(x_px, float))
    y = np.atleast_1d(np.asarray(y_px, float))
    if x.shape != y.shape:
        raise ValueError(f"x_px, y_px: shapes {x.shape} and {y.shape} differ")
    inner, outer = annulus_px
    if not (0 < radius_px <= inner < outer):
        raise ValueError(f"radius_px {radius_px} and annulus {annulus_px}: need 0 < radius <= inner < outer")
    flux = np.full(x.shape, np.nan)
    err = np.full(x.shape, np.nan)
    h, w = data.shape
    ok = (
        np.isfinite(x)
        & np.isfinite(y)
        & (x - radius_px >= -0.5)
        & (x + radius_px <= w - 0.5)
        & (y - radius_px >= -0.5)
        & (y + radius_px <= h - 0.5)
    )
    if not ok.any():
        return flux, err
    if noise_adu is None:
        sigma = max(robust_sigma(data), 1e-3)
    else:
        sigma = np.asarray(noise_adu, np.float64)
        if sigma.ndim and sigma.shape != data.shape:
            raise ValueError(f"noise_adu: shape {sigma.shape} does not match the image's {data.shape}")
        if not np.all(np.isfinite(sigma)) or np.any(sigma < 0):
            raise ValueError("noise_adu: must be finite and non-negative")
        sigma = float(sigma) if sigma.ndim == 0 else np.ascontiguousarray(sigma)
    f, e, _flag = sep.sum_circle(
        data,
        x[ok],
        y[ok],
        radius_px,
        err=sigma,
        gain=gain_e_per_adu,
        bkgann=(inner, outer),
        subpix=5,
    )
    flux[ok] = f
    err[ok] = e
    return flux, err


def peak_values(image: np.ndarray, x_px, y_px, radius_px: float = 2.0) -> np.ndarray:
    """Largest pixel value within `radius_px` of each position (to reject saturated stars); NaN off-image."""
    data = np.asarray(image)
    h, w = data.shape
    x = np.atleast_1d(np.asarray(x_px, float))
    y = np.atleast_1d(np.asarray(y_px, float))
    r = int(np.ceil(radius_px))
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    keep = dx**2 + dy**2 <= radius_px**2
    dx, dy = dx[keep], dy[keep]
    out = np.full(x.shape, np.nan)
    good = np.isfinite(x) & np.isfinite(y)
    xi = np.rint(x[good]).astype(int)[:, None] + dx[None, :]
    yi = np.rint(y[good]).astype(int)[:, None] + dy[None, :]
    inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    vals = np.where(inside, data[np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)], -np.inf)
    peak = vals.max(axis=1).astype(float)
    out[good] = np.where(np.isfinite(peak), peak, np.nan)
    return out
