"""Automatic astrometric calibration of one camera from the stars of its own stacked frame.

Inputs: a mean frame of a clip (or a recording), the station's `Site`, the frame's time, the
camera's nominal `CameraModel` (from its configured pointing and lens, which may be off by several
degrees and percent), the atmosphere (refraction) and, optionally, the camera's last good model.
Output: a `Calibration` holding the fitted M3 camera model (focal length, optical centre, k1, k2,
rotation), the matched stars and the fit's residual, or a flagged fallback.

How, with no human step:

1. Stars are extracted from the frame (`edge.astrometry.extract`); Hipparcos stars are put at their
   apparent places (proper motion, aberration, refraction: `edge.geometry.celestial.icrs_to_altaz`).
2. Coarse pointing: starting from the camera's previous good model when there is one (then, if that
   fails, from the nominal model), for a grid of roll angles about the optical axis (+-15 deg) and
   focal-length scales (+-8 %), the catalogue is projected through the starting model and every
   (detected - predicted) offset of the brightest stars is voted into a 2-D histogram; the true
   offset is the peak where many pairs agree (a Hough transform of the pointing). The best peak
   turns into a tilt of the camera. A second, finer grid around it repeats this.
3. Refinement: nearest-neighbour matching with a shrinking radius, alternating with least-squares
   fits (`scipy.optimize.least_squares`, robust loss) of first the rotation and focal length, then the
   full model; outliers beyond 3 robust sigma are dropped.
4. Quality: too few matched stars, a large residual or a model far from the starting one mark the fit
   as failed (`ok=False`, with the reason); the camera's previous good model (or, without one, the
   nominal model) is returned instead, and the reason says so.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import uniform_filter
from scipy.optimize import least_squares
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from edge.astrometry.camera_model import CameraModel
from edge.astrometry.extract import StarList, extract_stars
from edge.catalogue.stars import load_bright_stars
from edge.geometry.celestial import Atmosphere, icrs_to_altaz, to_time
from edge.geometry.earth import Site, altaz_to_enu

log = logging.getLogger(__name__)

CATALOGUE_LIMIT_VMAG = 7.0  # fainter stars are rarely detected in a stacked 8-bit frame
MIN_ALT_DEG = 5.0  # refraction model is not valid lower down
MIN_STARS = 15  # fewer matched stars than this: no fit
MIN_FIT_SNR = 5.0  # stars used in the final fit (the rest are matched for photometry only)
MIN_FIT_STARS = 30  # ... unless fewer than this pass the SNR cut: then the best MIN_FIT_STARS
MAX_RESIDUAL_PX = 0.5  # median star residual of a good fit, in pixels
MAX_POINTING_CHANGE_DEG = 15.0
MAX_FOCAL_CHANGE = 0.15
_SEARCH_STARS = 120  # brightest detections and catalogue stars used by the coarse search


@dataclass
class Calibration:
    """Result of `calibrate`.

    ok: False when the fit failed (too few stars, poor fit); `model` is then the fallback.
    model: the fitted model, or the fallback (previous good model, else the nominal one).
    residual_arcmin: median angular distance between catalogue stars and the model's directions of
        their measured centroids, over the stars used in the fit (NaN when there was no fit).
    n_stars: number of stars used in the fit.
    reason: why not ok; starts with "fallback: " when a fallback model is returned.
    matched: one entry per matched star (arrays of equal length): x_px, y_px, flux_adu, fwhm_px, snr
        (extraction), hip, ra_deg, dec_deg (ICRS at the epoch), vmag, bv, vi (catalogue), alt_deg,
        az_deg (apparent, refracted when an atmosphere was given), residual_arcmin, used_in_fit (bool).
    """

    ok: bool
    model: CameraModel
    residual_arcmin: float
    n_stars: int
    reason: str | None
    matched: dict[str, np.ndarray] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------- catalogue
@dataclass
class _SkyStars:
    enu: np.ndarray  # (N, 3)
    alt_deg: np.ndarray
    az_deg: np.ndarray
    ra_deg: np.ndarray
    dec_deg: np.ndarray
    index: np.ndarray  # rows of the catalogue table


def _sky_stars(site: Site, t_unix: float, atmosphere: Atmosphere | None, limit_vmag: float):
    cat = load_bright_stars().brighter_than(limit_vmag)
    time = to_time(float(t_unix))
    ra, dec = cat.positions_at(time)
    alt, az = icrs_to_altaz(ra, dec, time, site, refraction=atmosphere)
    up = np.flatnonzero(alt > MIN_ALT_DEG)
    return cat, _SkyStars(altaz_to_enu(alt[up], az[up]), alt[up], az[up], ra[up], dec[up], up)


# ---------------------------------------------------------------------------------------- search
def _offset_peak(det: np.ndarray, pred: np.ndarray, max_shift: float, bin_px: float):
    """Votes of (detected - predicted) offsets: (number of pairs at the peak, peak offset (2,))."""
    d = (det[:, None, :] - pred[None, :, :]).reshape(-1, 2)
    d = d[np.all(np.abs(d) < max_shift, axis=1)]
    if len(d) == 0:
        return 0.0, np.zeros(2)
    nb = max(3, int(round(2 * max_shift / bin_px)))
    hist, xe, ye = np.histogram2d(d[:, 0], d[:, 1], bins=nb, range=[[-max_shift, max_shift]] * 2)
    smooth = uniform_filter(hist, size=3, mode="constant") * 9.0
    i, j = np.unravel_index(int(np.argmax(smooth)), smooth.shape)
    centre = np.array([0.5 * (xe[i] + xe[i + 1]), 0.5 * (ye[j] + ye[j + 1])])
    near = np.all(np.abs(d - centre) < 1.5 * bin_px, axis=1)
    return float(smooth[i, j]), (np.median(d[near], axis=0) if near.any() else centre)


def _tilt_to(model: CameraModel, shift_px: np.ndarray) -> CameraModel:
    """The model turned so that stars near the centre appear `shift_px` further along (x, y)."""
    a = model.pixel_to_enu(model.cx_px, model.cy_px)
    b = model.pixel_to_enu(model.cx_px - shift_px[0], model.cy_px - shift_px[1])
    axis = np.cross(a, b)
    s = np.linalg.norm(axis)
    if not np.isfinite(s) or s < 1e-15:
        return model
    q = Rotation.from_rotvec(axis / s * math.atan2(s, float(a @ b))).as_matrix()
    return model.with_params(rotation=q @ model.rotation)


def _roll_scale(model: CameraModel, roll_deg: float, scale: float) -> CameraModel:
    rz = Rotation.from_euler("z", roll_deg, degrees=True).as_matrix()
    return model.with_params(rotation=model.rotation @ rz, focal_px=model.focal_px * scale)


def _search(model: CameraModel, det: np.ndarray, enu: np.ndarray, rolls, scales, max_shift, bin_px):
    """Best (votes, model) over a grid of roll and focal scale, each with its best tilt."""
    best = (-1.0, model)
    for roll in rolls:
        for scale in scales:
            m = _roll_scale(model, roll, scale)
            x, y = m.enu_to_pixel(enu)
            ok = np.isfinite(x) & (x > -max_shift) & (x < m.width_px + max_shift)
            ok &= (y > -max_shift) & (y < m.height_px + max_shift)
            votes, shift = _offset_peak(det, np.column_stack([x[ok], y[ok]]), max_shift, bin_px)
            if votes > best[0]:
                best = (votes, _tilt_to(m, shift))
    return best


# ---------------------------------------------------------------------------------------- fitting
_FULL = ("w1", "w2", "w3", "ln_f", "cx", "cy", "k1", "k2")


def _model_from(base: CameraModel, p: np.ndarray, free: tuple[str, ...]) -> CameraModel:
    v = dict(zip(free, p, strict=True))
    rot = (
        base.rotation
        @ Rotation.from_rotvec([v.get("w1", 0.0), v.get("w2", 0.0), v.get("w3", 0.0)]).as_matrix()
    )
    return base.with_params(
        rotation=rot,
        focal_px=base.focal_px * math.exp(v.get("ln_f", 0.0)),
        cx_px=base.cx_px + v.get("cx", 0.0),
        cy_px=base.cy_px + v.get("cy", 0.0),
        k1=v.get("k1", base.k1),
        k2=v.get("k2", base.k2),
    )


def _fit(base: CameraModel, det: np.ndarray, enu: np.ndarray, free: tuple[str, ...], f_scale_px: float):
    """Least-squares fit of the `free` parameters; weak priors hold the centre and distortion near base."""
    p0 = np.array([base.k1 if n == "k1" else base.k2 if n == "k2" else 0.0 for n in free])
    prior_sigma = {"cx": 0.03 * base.width_px, "cy": 0.03 * base.width_px, "k1": 0.1, "k2": 0.05}
    n = len(det)

    def residuals(p):
        try:
            m = _model_from(base, p, free)
        except ValueError:  # distortion folding inside the sensor: far from any sensible model
            return np.full(2 * n + len(free), 1e3)
        x, y = m.enu_to_pixel(enu)
        r = np.concatenate([x - det[:, 0], y - det[:, 1]])
        prior = [
            (pi - p0i) / prior_sigma[name] if name in prior_sigma else 0.0
            for name, pi, p0i in zip(free, p, p0, strict=True)
        ]
        return np.concatenate([np.where(np.isfinite(r), r, 1e3), prior])

    sol = least_squares(residuals, p0, loss="soft_l1", f_scale=f_scale_px, x_scale="jac")
    return _model_from(base, sol.x, free)


def _match(model: CameraModel, det: np.ndarray, enu: np.ndarray, radius_px: float):
    """One-to-one nearest pairs (detection index, catalogue index) closer than radius_px."""
    x, y = model.enu_to_pixel(enu)
    ok = np.flatnonzero(np.isfinite(x) & model.in_frame(x, y))
    if len(ok) == 0 or len(det) == 0:
        return np.zeros(0, int), np.zeros(0, int)
    dist, j = cKDTree(det).query(np.column_stack([x[ok], y[ok]]), distance_upper_bound=radius_px)
    hit = np.isfinite(dist)
    cat_i, det_i, dist = ok[hit], j[hit], dist[hit]
    # one catalogue star per detection: keep the closest
    order = np.argsort(dist)
    _, first = np.unique(det_i[order], return_index=True)
    keep = order[first]
    return det_i[keep], cat_i[keep]


def _angular_residual_arcmin(model: CameraModel, det: np.ndarray, enu: np.ndarray) -> np.ndarray:
    v = model.pixel_to_enu(det[:, 0], det[:, 1])
    cross = np.linalg.norm(np.cross(v, enu), axis=-1)
    return np.degrees(np.arctan2(cross, np.sum(v * enu, axis=-1))) * 60.0


def _blended(enu: np.ndarray, vmag: np.ndarray, radius_rad: float) -> np.ndarray:
    """Stars with a catalogue neighbour within radius_rad that is less than 2.5 mag fainter."""
    pairs = cKDTree(enu).query_pairs(radius_rad, output_type="ndarray")
    out = np.zeros(len(enu), bool)
    for a, b in pairs:
        if vmag[b] < vmag[a] + 2.5:
            out[a] = True
        if vmag[a] < vmag[b] + 2.5:
            out[b] = True
    return out


# ---------------------------------------------------------------------------------------- public
def calibrate(
    image: np.ndarray,
    *,
    site: Site,
    t_unix: float,
    nominal: CameraModel,
    atmosphere: Atmosphere | None,
    previous: CameraModel | None = None,
    mask: np.ndarray | None = None,
    stars: StarList | None = None,
) -> Calibration:
    """Fit the camera model to the stars of `image` (a stacked frame, ADU) taken at `t_unix` (POSIX s, UTC).

    nominal: the configured model, the starting guess (pointing may be off by several degrees,
    focal length by several percent). previous: the camera's last good model: tried first as the
    starting guess (then the nominal one), and returned as the fallback when no fit is good.
    stars: already extracted stars of `image` (else they are extracted here, with `mask`).
    Bad arguments (wrong shape, a non-model) raise ValueError; a sky that cannot be fitted
    (clouds, no stars) gives ok=False with the reason and a fallback model.
    """
    for name, value in (("nominal", nominal), ("previous", previous)):
        if value is not None and not isinstance(value, CameraModel):
            raise ValueError(f"{name}: expected a CameraModel, got {type(value).__name__}")
    if nominal is None:
        raise ValueError("nominal: a starting camera model is required")
    if not isinstance(site, Site):
        raise ValueError(f"site: expected an edge.geometry.earth.Site, got {type(site).__name__}")
    if not np.isfinite(t_unix):
        raise ValueError(f"t_unix: {t_unix} is not finite")
    img = np.asarray(image)
    if img.shape != (nominal.height_px, nominal.width_px):
        raise ValueError(
            f"image: shape {img.shape} differs from the camera's {(nominal.height_px, nominal.width_px)}"
        )
    if previous is not None and (previous.width_px, previous.height_px) != (
        nominal.width_px,
        nominal.height_px,
    ):
        raise ValueError(
            f"previous: a {previous.width_px}x{previous.height_px} model for a "
            f"{nominal.width_px}x{nominal.height_px} camera"
        )
    if stars is None:
        stars = extract_stars(img, mask=mask)

    def fail(reason: str, residual: float = math.nan, n: int = 0) -> Calibration:
        fallback, which = (
            (previous, "previous good model") if previous is not None else (nominal, "nominal model")
        )
        log.warning("astrometric calibration failed: %s; using the %s", reason, which)
        return Calibration(False, fallback, residual, n, f"fallback: {which}; {reason}", {})

    if len(stars) < MIN_STARS:
        return fail(
            f"only {len(stars)} stars detected (need {MIN_STARS}): cloud, twilight or a covered lens?"
        )

    cat, sky = _sky_stars(site, t_unix, atmosphere, CATALOGUE_LIMIT_VMAG)
    # the last good model is the better start (the M3 "online calibration"); the nominal one is
    # tried when there is none or when it fails (the camera was moved, the model was bad)
    starts = [("previous good model", previous)] if previous is not None else []
    starts.append(("nominal model", nominal))
    failures = []
    for label, start in starts:
        result = _calibrate_from(start, stars, cat, sky)
        if isinstance(result, Calibration):
            return result
        reason, residual, n_fit, matched = result
        failures.append(
            (f"from the {label}: {reason}" if len(starts) > 1 else reason, residual, n_fit, matched)
        )
    reason, residual, n_fit, matched = failures[-1]
    out = fail("; ".join(f[0] for f in failures), residual, n_fit)
    out.matched = matched
    return out


def _calibrate_from(start: CameraModel, stars: StarList, cat, sky: _SkyStars):
    """One attempt from a starting model: a good `Calibration`, or (reason, residual, n_fit, matched)."""
    vmag = cat.vmag[sky.index]
    det_all = np.column_stack([stars.x_px, stars.y_px])

    # -- coarse search on the brightest stars (detections are sorted brightest first)
    det = det_all[:_SEARCH_STARS]
    x, y = start.enu_to_pixel(sky.enu)
    margin = 0.2 * start.width_px
    near = np.isfinite(x) & (x > -margin) & (x < start.width_px + margin)
    near &= (y > -margin) & (y < start.height_px + margin)
    near_idx = np.flatnonzero(near)
    bright = near_idx[np.argsort(vmag[near_idx])][: int(1.5 * _SEARCH_STARS)]
    if len(bright) < MIN_STARS:
        return (
            f"only {len(bright)} catalogue stars near the expected field: is the pointing right?",
            math.nan,
            0,
            {},
        )
    f = start.focal_px
    _, model = _search(
        start, det, sky.enu[bright], np.arange(-15.0, 15.01, 1.5), np.arange(0.92, 1.081, 0.02),
        max_shift=0.16 * f, bin_px=0.01 * f,
    )  # fmt: skip
    _, model = _search(
        model, det, sky.enu[bright], np.arange(-1.5, 1.51, 0.3), np.arange(0.98, 1.021, 0.005),
        max_shift=0.03 * f, bin_px=0.003 * f,
    )  # fmt: skip

    # -- refinement: match with a shrinking radius, fit, repeat
    blended = _blended(sky.enu, vmag, 3.0 / f)
    stages = [
        (0.012, ("w1", "w2", "w3", "ln_f"), 2.0),
        (0.005, _FULL, 1.0),
        (0.0025, _FULL, 0.5),
        (0.0015, _FULL, 0.3),
    ]
    di = ci = np.zeros(0, int)
    for radius_rel, free, f_scale in stages:
        di, ci = _match(model, det_all, sky.enu, radius_rel * f)
        if len(di) < MIN_STARS:
            return f"only {len(di)} stars matched the catalogue (need {MIN_STARS})", math.nan, len(di), {}
        use = ~blended[ci]
        model = _fit(model, det_all[di[use]], sky.enu[ci[use]], free, f_scale)

    # -- final: fit the well-measured stars, clip outliers, refit
    di, ci = _match(model, det_all, sky.enu, 0.0015 * f)
    snr = stars.snr[di]
    fit_set = (~blended[ci]) & (snr >= MIN_FIT_SNR)
    if fit_set.sum() < MIN_FIT_STARS:
        fit_set = ~blended[ci] & (snr >= np.sort(snr[~blended[ci]])[::-1][:MIN_FIT_STARS][-1])
    for _ in range(2):
        res = _angular_residual_arcmin(model, det_all[di], sky.enu[ci])
        med = np.median(res[fit_set])
        mad = 1.4826 * np.median(np.abs(res[fit_set] - med))
        fit_set &= res < med + 3.0 * max(mad, 0.05 * start.pixel_scale_arcmin)
        if fit_set.sum() < MIN_STARS:
            break
        model = _fit(model, det_all[di[fit_set]], sky.enu[ci[fit_set]], _FULL, 0.3)
    res = _angular_residual_arcmin(model, det_all[di], sky.enu[ci])
    n_fit = int(fit_set.sum())
    residual = float(np.median(res[fit_set])) if n_fit else math.nan

    ti = sky.index[ci]
    matched = {
        "x_px": stars.x_px[di],
        "y_px": stars.y_px[di],
        "flux_adu": stars.flux_adu[di],
        "fwhm_px": stars.fwhm_px[di],
        "snr": stars.snr[di],
        "hip": cat.hip[ti],
        "ra_deg": sky.ra_deg[ci],
        "dec_deg": sky.dec_deg[ci],
        "vmag": cat.vmag[ti],
        "bv": cat.bv[ti],
        "vi": cat.vi[ti],
        "alt_deg": sky.alt_deg[ci],
        "az_deg": sky.az_deg[ci],
        "residual_arcmin": res,
        "used_in_fit": fit_set,
    }

    # -- quality
    pointing_change = math.degrees(math.acos(np.clip(model.rotation[:, 2] @ start.rotation[:, 2], -1.0, 1.0)))
    focal_change = abs(model.focal_px / start.focal_px - 1.0)
    reason = None
    if n_fit < MIN_STARS:
        reason = f"only {n_fit} stars left in the fit (need {MIN_STARS})"
    elif not residual <= MAX_RESIDUAL_PX * model.pixel_scale_arcmin:
        reason = f"median star residual {residual:.2f} arcmin is above {MAX_RESIDUAL_PX} px"
    elif pointing_change > MAX_POINTING_CHANGE_DEG:
        reason = f"fitted axis is {pointing_change:.1f} deg from the starting model's (a false match?)"
    elif focal_change > MAX_FOCAL_CHANGE:
        reason = f"fitted focal length differs from the starting model's by {100 * focal_change:.0f} %"
    if reason is not None:
        return reason, residual, n_fit, matched
    log.info(
        "astrometric calibration ok: stars=%d residual_arcmin=%.3f axis_moved_deg=%.2f focal_change=%.4f",
        n_fit, residual, pointing_change, focal_change,
    )  # fmt: skip
    return Calibration(True, model, residual, n_fit, None, matched)
