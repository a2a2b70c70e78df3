"""The per-event photometric calibration of the M3 paper (their equations 3-4), fitted on stars.

    V = zero_point - 2.5 log10(flux_adu) - extinction_coeff * X + colour_term * (B - V)

V and B - V are the catalogue's (Hipparcos, `edge.catalogue.stars`), flux_adu the star's
background-subtracted aperture flux in ADU per frame (`edge.photometry.stars.aperture_fluxes`)
and X the airmass at the star's apparent altitude (`edge.photometry.extinction.airmass`). This
is the form of `edge.protocol.Photometry`: `zero_point` is the V magnitude of 1 ADU per frame
above the atmosphere, so -2.5 log10(flux) + zero_point is the magnitude seen at the ground and
subtracting extinction_coeff * X brings it above the atmosphere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.photometry.extinction import DEFAULT_K_V_MAG

MIN_STARS = 8
MIN_AIRMASS_SPREAD = 0.15  # below this the extinction is not measurable: it is held at the default
MIN_COLOUR_SPREAD = 0.3  # B - V range below which the colour term is held at 0
MAX_VI = 2.0  # redder stars (V - I > 2) have Hipparcos V off by ~0.1 mag: left out
MAX_RMS_MAG = 0.3  # a fit worse than this is flagged not ok (clouds, wrong matches)
MAG_ERROR_FLOOR = 0.02


@dataclass
class PhotometricFit:
    """Result of `fit_photometry`; see the module docstring for the equation and units (mag)."""

    ok: bool
    zero_point: float
    extinction_coeff: float
    colour_term: float
    rms_mag: float
    n_stars: int
    reason: str | None = None
    used: np.ndarray | None = None  # bool mask over the input stars: the ones kept in the fit
    residual_mag: np.ndarray | None = None  # catalogue V minus fitted V per input star (NaN if unusable)


def _solve(y, X, bv, w, free_k: bool, free_c: bool, k_fixed: float, c_fixed: float):
    cols = [np.ones_like(y)]
    rhs = y.copy()
    if free_k:
        cols.append(-X)
    else:
        rhs = rhs + k_fixed * X
    if free_c:
        cols.append(bv)
    else:
        rhs = rhs - c_fixed * bv
    A = np.column_stack(cols)
    sw = np.sqrt(w)
    p, *_ = np.linalg.lstsq(A * sw[:, None], rhs * sw, rcond=None)
    zp = p[0]
    k = p[1] if free_k else k_fixed
    c = p[-1] if free_c else c_fixed
    return float(zp), float(k), float(c)


def fit_photometry(
    flux_adu,
    vmag,
    bv,
    airmass,
    *,
    flux_err_adu=None,
    vi=None,
    min_stars: int = MIN_STARS,
    clip_sigma: float = 3.0,
) -> PhotometricFit:
    """Fit zero point, extinction coefficient and colour term to stars (arrays of equal length).

    Stars with non-positive or non-finite flux, non-finite V, B - V or airmass, or V - I > 2 (when
    `vi` is given) are left out; outliers beyond `clip_sigma` robust sigmas are clipped iteratively.
    The extinction coefficient is held at the default (0.25 mag/airmass) when the stars span less
    than 0.15 airmass, and at 0 if the fit makes it negative; the colour term is held at 0 when B - V
    spans less than 0.3 mag. The result says so in `reason`. `ok` is False with too few stars or an
    RMS above 0.3 mag.
    """
    flux = np.asarray(flux_adu, float)
    v = np.asarray(vmag, float)
    colour = np.asarray(bv, float)
    X = np.asarray(airmass, float)
    n_in = flux.shape[0] if flux.ndim else 0
    if not (flux.shape == v.shape == colour.shape == X.shape) or flux.ndim != 1:
        raise ValueError(
            f"flux_adu, vmag, bv, airmass: need 1-D arrays of one length, got shapes "
            f"{flux.shape}, {v.shape}, {colour.shape}, {X.shape}"
        )
    usable = np.isfinite(flux) & (flux > 0) & np.isfinite(v) & np.isfinite(colour) & np.isfinite(X)
    if vi is not None:
        vi_arr = np.asarray(vi, float)
        usable &= ~(vi_arr > MAX_VI)
    if flux_err_adu is not None:
        ferr = np.asarray(flux_err_adu, float)
        sig = 1.0857 * np.where(np.isfinite(ferr) & (ferr > 0), ferr, 0.0) / np.where(flux > 0, flux, 1.0)
    else:
        sig = np.zeros_like(flux)
    sig = np.hypot(sig, MAG_ERROR_FLOOR)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = v + 2.5 * np.log10(np.where(flux > 0, flux, np.nan))

    def failed(reason: str, used: np.ndarray) -> PhotometricFit:
        return PhotometricFit(
            False,
            float("nan"),
            float("nan"),
            float("nan"),
            float("nan"),
            int(used.sum()),
            reason,
            used,
            np.full(n_in, np.nan),
        )

    if usable.sum() < min_stars:
        return failed(f"too few usable stars: {int(usable.sum())} < {min_stars}", usable)
    free_k = np.ptp(X[usable]) >= MIN_AIRMASS_SPREAD
    free_c = np.ptp(colour[usable]) >= MIN_COLOUR_SPREAD
    notes = []
    if not free_k:
        notes.append(f"extinction held at {DEFAULT_K_V_MAG}: airmass spans only {np.ptp(X[usable]):.2f}")
    if not free_c:
        notes.append("colour term held at 0: B-V spans less than 0.3 mag")
    used = usable.copy()
    k_fixed, c_fixed = DEFAULT_K_V_MAG, 0.0
    for _ in range(10):
        zp, k, c = _solve(
            y[used], X[used], colour[used], 1.0 / sig[used] ** 2, free_k, free_c, k_fixed, c_fixed
        )
        if free_k and k < 0.0:
            free_k, k_fixed = False, 0.0
            notes.append("extinction fitted negative: held at 0")
            zp, k, c = _solve(
                y[used], X[used], colour[used], 1.0 / sig[used] ** 2, False, free_c, 0.0, c_fixed
            )
        resid = y - (zp - k * X + c * colour)  # = V_cat - V_fit
        r = resid[used]
        scale = max(1.4826 * float(np.median(np.abs(r - np.median(r)))), MAG_ERROR_FLOOR)
        new_used = usable & (np.abs(resid) <= clip_sigma * np.maximum(scale, sig))
        if new_used.sum() < min_stars:
            break
        if np.array_equal(new_used, used):
            break
        used = new_used
    zp, k, c = _solve(y[used], X[used], colour[used], 1.0 / sig[used] ** 2, free_k, free_c, k_fixed, c_fixed)
    resid = np.where(usable, y - (zp - k * X + c * colour), np.nan)
    rms = float(np.sqrt(np.mean(resid[used] ** 2)))
    ok = bool(used.sum() >= min_stars and rms <= MAX_RMS_MAG)
    if not ok:
        notes.insert(
            0,
            f"rms {rms:.3f} mag over {MAX_RMS_MAG}"
            if used.sum() >= min_stars
            else f"too few stars after clipping: {int(used.sum())}",
        )
    return PhotometricFit(ok, zp, k, c, rms, int(used.sum()), "; ".join(notes) or None, used, resid)


def magnitude(fit: PhotometricFit, flux_adu, airmass, bv: float = 0.0) -> np.ndarray:
    """V magnitude above the atmosphere (extinction removed) of fluxes (ADU per frame) at airmass X.

    Meteors are taken at B - V = 0 (the protocol's convention). Non-positive or non-finite
    fluxes give NaN, never a number.
    """
    flux = np.asarray(flux_adu, float)
    X = np.asarray(airmass, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = fit.zero_point - 2.5 * np.log10(np.where(flux > 0, flux, np.nan)) - fit.extinction_coeff * X
    return m + fit.colour_term * bv


def absolute_magnitude(mag, range_m) -> np.ndarray:
    """Absolute magnitude (at 100 km range): M = m - 5 log10(R / 100 km), R in metres."""
    r = np.asarray(range_m, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(mag, float) - 5.0 * np.log10(np.where(r > 0, r, np.nan) / 100e3)
