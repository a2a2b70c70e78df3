"""A standard FITS WCS (TAN with SIP distortion) fitted to a camera model at one instant.

The camera model (`edge.astrometry.camera_model.CameraModel`, from the astrometric calibration)
maps pixels to apparent alt/az; at a given time and site (and with refraction when an
`Atmosphere` is given) that is a map from pixels to ICRS RA/Dec, the same "star at this pixel"
convention as `edge.astrometry.measure.pixel_to_sky`. A grid of pixels is sent through it and
astropy's `fit_wcs_from_points` fits a gnomonic projection plus SIP polynomials, so that
astropy.wcs, DS9 and other FITS tools show sky coordinates. The sky turns by 0.25 arcmin per
second, so the WCS is for the event's time (DATE-OBS / MJD-OBS in its header).
"""

from __future__ import annotations

import numpy as np
from astropy.time import Time
from astropy.wcs import WCS, Sip

from edge.astrometry.camera_model import CameraModel
from edge.geometry.celestial import Atmosphere, altaz_to_icrs, to_time
from edge.geometry.earth import Site

MIN_ALT_DEG = 3.0  # below this refraction is unmodelled: such pixels are left out of the fit


def pixel_grid_to_icrs(
    model: CameraModel, site: Site, t_unix: float, atmosphere: Atmosphere | None, n: int = 25
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_px, y_px, ra_deg, dec_deg) on an n x n grid over the sensor, pixels above 3 deg altitude."""
    gx, gy = np.meshgrid(
        np.linspace(-0.5, model.width_px - 0.5, n),
        np.linspace(-0.5, model.height_px - 0.5, max(3, n * model.height_px // model.width_px + 2)),
    )
    x, y = gx.ravel(), gy.ravel()
    ra, dec = pixel_to_icrs(model, site, t_unix, atmosphere, x, y)
    ok = np.isfinite(ra) & np.isfinite(dec)
    return x[ok], y[ok], ra[ok], dec[ok]


def pixel_to_icrs(
    model: CameraModel, site: Site, t_unix: float, atmosphere: Atmosphere | None, x_px, y_px
) -> tuple[np.ndarray, np.ndarray]:
    """ICRS (ra_deg, dec_deg) of pixels through the camera model; NaN where not on the sky (below 3 deg)."""
    alt, az = model.pixel_to_altaz(x_px, y_px)
    ok = np.isfinite(alt) & np.isfinite(az) & (alt > MIN_ALT_DEG)
    ra = np.full(np.shape(alt), np.nan)
    dec = np.full(np.shape(alt), np.nan)
    if ok.any():
        ra[ok], dec[ok] = altaz_to_icrs(alt[ok], az[ok], to_time(float(t_unix)), site, refraction=atmosphere)
    return ra, dec


def _poly_fit(u: np.ndarray, v: np.ndarray, values: np.ndarray, lo: int, hi: int, scale: float):
    """Least-squares coefficients of monomials u^p v^q (lo <= p + q <= hi) for each column of values.

    The fit runs on u / scale, v / scale (well conditioned) and the coefficients are scaled back.
    """
    terms = [(p, n - p) for n in range(lo, hi + 1) for p in range(n, -1, -1)]
    us, vs = u / scale, v / scale
    design = np.column_stack([us**p * vs**q for p, q in terms])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    factor = np.array([scale ** -(p + q) for p, q in terms])
    return coef * factor[:, None], terms


def fit_wcs(
    model: CameraModel,
    site: Site,
    t_unix: float,
    atmosphere: Atmosphere | None,
    *,
    sip_degree: int = 7,
    grid: int = 41,
) -> WCS:
    """TAN-SIP WCS of the camera at `t_unix`; pixel (0, 0) is the centre of the top-left pixel (FITS 1, 1).

    The tangent point (CRVAL) is the sky direction of the optical centre (CRPIX). With both fixed,
    gnomonic intermediate coordinates are a polynomial in the pixel offsets, so the CD matrix and
    the SIP forward (A, B, orders 2..sip_degree) and inverse (AP, BP, one order higher)
    coefficients come from linear least squares on a grid of pixels sent through the model. This is
    what `astropy.wcs.utils.fit_wcs_from_points(..., sip_degree=...)` fits, without its iterative
    search for CRVAL, which takes seconds per camera. Raises ValueError when the optical centre or
    too little of the frame is on the sky (3 deg above the horizon).
    """
    x, y, ra, dec = pixel_grid_to_icrs(model, site, t_unix, atmosphere, grid)
    n_terms = (sip_degree + 1) * (sip_degree + 2) // 2
    if len(x) < 3 * n_terms:
        raise ValueError(f"fit_wcs: only {len(x)} grid pixels are on the sky, need {3 * n_terms}")
    c_ra, c_dec = pixel_to_icrs(model, site, t_unix, atmosphere, model.cx_px, model.cy_px)
    if not (np.isfinite(c_ra) and np.isfinite(c_dec)):
        raise ValueError("fit_wcs: the optical centre is not on the sky (below 3 deg altitude)")
    # gnomonic intermediate world coordinates (deg) about CRVAL, from astropy itself
    tan = WCS(naxis=2)
    tan.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    tan.wcs.crval = [float(c_ra), float(c_dec)]
    tan.wcs.crpix = [0.0, 0.0]
    tan.wcs.cd = np.eye(2)
    xi, eta = tan.wcs_world2pix(ra, dec, 0)
    xi, eta = xi + 1.0, eta + 1.0  # origin 0 with CRPIX 0 shifts by one pixel (one degree here)
    u, v = x - model.cx_px, y - model.cy_px
    scale = float(max(model.width_px, model.height_px)) / 2.0
    coef, terms = _poly_fit(u, v, np.column_stack([xi, eta]), 1, sip_degree, scale)  # (n_terms - 1, 2)
    cd = coef[:2].T  # rows: xi, eta; columns: u, v
    cd_inv = np.linalg.inv(cd)
    high = coef[2:] @ cd_inv.T  # SIP distortion in pixel units: (f, g) per higher term
    a = np.zeros((sip_degree + 1, sip_degree + 1))
    b = np.zeros_like(a)
    for (p, q), (fa, fb) in zip(terms[2:], high, strict=True):
        a[p, q], b[p, q] = fa, fb
    # inverse: pixel offsets as polynomials of the undistorted ones
    inv_deg = sip_degree + 1
    uu, vv = (np.column_stack([xi, eta]) @ cd_inv.T).T
    coef_i, terms_i = _poly_fit(uu, vv, np.column_stack([u - uu, v - vv]), 1, inv_deg, scale)
    ap = np.zeros((inv_deg + 1, inv_deg + 1))
    bp = np.zeros_like(ap)
    for (p, q), (fa, fb) in zip(terms_i, coef_i, strict=True):
        ap[p, q], bp[p, q] = fa, fb
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"]
    wcs.wcs.crval = [float(c_ra), float(c_dec)]
    wcs.wcs.crpix = [model.cx_px + 1.0, model.cy_px + 1.0]
    wcs.wcs.cd = cd
    wcs.wcs.radesys = "ICRS"
    wcs.sip = Sip(a, b, ap, bp, wcs.wcs.crpix)
    wcs.pixel_shape = (model.width_px, model.height_px)
    t = Time(float(t_unix), format="unix", scale="utc")
    wcs.wcs.dateobs = t.isot
    wcs.wcs.mjdobs = t.mjd
    wcs.wcs.set()
    return wcs


def wcs_error_px(
    wcs: WCS, model: CameraModel, site: Site, t_unix: float, atmosphere: Atmosphere | None, grid: int = 40
) -> np.ndarray:
    """Pixel distance between the camera model and the WCS over a grid: model pixel -> sky -> WCS pixel."""
    x, y, ra, dec = pixel_grid_to_icrs(model, site, t_unix, atmosphere, grid)
    wx, wy = wcs.all_world2pix(ra, dec, 0)
    return np.hypot(wx - x, wy - y)
