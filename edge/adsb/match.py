"""Does an ADS-B aircraft explain a detection? Project aircraft tracks onto the event and compare.

Inputs: the event's per-frame UTC times and its per-frame direction, either apparent alt/az
(from the astrometric calibration) or pixel positions with the calibrated `CameraModel`; the
station's `Site`; and the `TrackStore` of decoded ADS-B positions.

For every aircraft with positions around the event, its smoothed track is interpolated to the
frame times and projected from the site (`Site.altaz_of`, and into pixels through
`CameraModel.enu_to_pixel` when a camera model is given). The aircraft matches when
- its positions cover at least `min_coverage` of the frames;
- after the best time shift within +-`time_uncertainty_s` (ADS-B latency, receiver and camera
  clocks), at least `min_fraction_within` of the frames lie within the per-frame tolerance,
  3 sigma of the angular error that the ADS-B position error (horizontal sigma from the
  broadcast accuracy, vertical sigma from the barometric/GNSS height, see `edge.adsb.decode`)
  and the detection error make at the aircraft's range;
- the event is long enough to measure its angular velocity to 1 deg/s (3 sigma; with 1 px
  noise on a 0.1 deg/px camera, about 0.4 s), and that velocity agrees with the aircraft's
  (within 0.3 deg/s + 30 % plus the detection's noise). A meteor crosses the sky tens of times
  faster and lies 70-120 km away, so even one that passes in front of an aircraft fails this test.
The best match (smallest mean residual) is returned as the wire contract's `AircraftMatch`.
Refraction is ignored (the aircraft's alt/az are geometric): under 0.05 deg above 20 deg altitude.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.adsb.tracks import TrackStore
from edge.astrometry.camera_model import CameraModel
from edge.geometry.earth import Site, altaz_to_enu
from edge.protocol.models import AircraftMatch

N_SIGMA = 3.0
RATE_TOL_DEG_S = 0.3
RATE_TOL_FRACTION = 0.3
MAX_RATE_NOISE_DEG_S = (
    1.0  # 3-sigma; events too short to measure their angular speed this well are not tagged
)
PREFILTER_DEG = 15.0  # aircraft this far from the event at its start, middle and end are not compared


@dataclass(frozen=True)
class Candidate:
    """One aircraft compared with an event, and why it did or did not match."""

    icao24: str
    callsign: str | None
    matched: bool
    reason: str
    coverage: float  # fraction of frames with an ADS-B position
    distance_m: float  # slant range at the middle frame
    residual_deg: float  # mean angular distance after the best time shift
    tolerance_deg: float  # median per-frame tolerance
    fraction_within: float
    time_shift_s: float
    rate_det_deg_s: float
    rate_aircraft_deg_s: float
    residual_px: float | None = None


@dataclass(frozen=True)
class MatchResult:
    match: AircraftMatch | None
    candidates: list[Candidate]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between unit vectors (robust at small angles)."""
    return np.degrees(2.0 * np.arcsin(np.clip(np.linalg.norm(a - b, axis=-1) / 2.0, 0.0, 1.0)))


def _angular_velocity(t: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Least-squares d(unit vector)/dt (rad/s, shape (3,)) of directions u (N, 3) at times t."""
    tc = t - t.mean()
    den = float(tc @ tc)
    return (tc @ (u - u.mean(0))) / den if den > 0 else np.zeros(3)


def match_event(
    store: TrackStore,
    site: Site,
    t_unix,
    *,
    alt_deg=None,
    az_deg=None,
    x_px=None,
    y_px=None,
    camera_model: CameraModel | None = None,
    detection_sigma_deg: float | None = None,
    time_uncertainty_s: float = 1.0,
    min_coverage: float = 0.8,
    min_fraction_within: float = 0.8,
    max_range_m: float = 200e3,
) -> MatchResult:
    """Compare an event (per-frame UTC times and directions) with every nearby ADS-B aircraft.

    Give either alt_deg/az_deg, or x_px/y_px with camera_model. detection_sigma_deg is the
    per-frame direction error of the detection (default: 1 pixel, or 0.05 deg for alt/az).
    Raises ValueError naming the problem on inconsistent input.
    """
    t = np.asarray(t_unix, float).ravel()
    if x_px is not None or y_px is not None:
        if camera_model is None or x_px is None or y_px is None:
            raise ValueError("pixel positions need x_px, y_px and camera_model")
        x, y = np.asarray(x_px, float).ravel(), np.asarray(y_px, float).ravel()
        if not x.size == y.size == t.size:
            raise ValueError(
                f"t_unix, x_px, y_px must have one value per frame ({t.size}, {x.size}, {y.size})"
            )
        det = camera_model.pixel_to_enu(x, y)
        if detection_sigma_deg is None:
            detection_sigma_deg = camera_model.pixel_scale_arcmin / 60.0
    elif alt_deg is not None and az_deg is not None:
        a, z = np.asarray(alt_deg, float).ravel(), np.asarray(az_deg, float).ravel()
        if not a.size == z.size == t.size:
            raise ValueError(
                f"t_unix, alt_deg, az_deg must have one value per frame ({t.size}, {a.size}, {z.size})"
            )
        det = altaz_to_enu(a, z)
        if detection_sigma_deg is None:
            detection_sigma_deg = 0.05
    else:
        raise ValueError("give the event's directions as alt_deg/az_deg or as x_px/y_px with camera_model")
    good = np.isfinite(t) & np.all(np.isfinite(det), axis=-1)
    t, det = t[good], _unit(det[good])
    if t.size < 2:
        return MatchResult(None, [])
    order = np.argsort(t)
    t, det = t[order], det[order]
    duration = float(t[-1] - t[0])
    omega_det = _angular_velocity(t, det)
    rate_det = float(np.degrees(np.linalg.norm(omega_det)))
    # 1-sigma of a fitted rate from N noisy points spread over the duration
    rate_noise = detection_sigma_deg * np.sqrt(12.0 / t.size) / duration if duration > 0 else np.inf
    pad = time_uncertainty_s + store.fit_half_window_s
    shifts = np.linspace(-time_uncertainty_s, time_uncertainty_s, 21) if time_uncertainty_s > 0 else [0.0]
    candidates = []
    probe = np.array([0, t.size // 2, t.size - 1])
    for icao in store.aircraft_between(t[0] - pad, t[-1] + pad):
        # cheap first look: skip aircraft far from the event's first, middle and last directions
        look = store.positions_ecef(icao, t[probe])
        if np.all(look.valid):
            sep = _angle_deg(_unit(site.ecef_to_enu(look.ecef_m)), det[probe])
            if np.min(sep) > PREFILTER_DEG:
                continue
        interp = store.positions_ecef(icao, t)
        ok = interp.valid
        coverage = float(ok.mean())
        callsign = store.callsigns.get(icao)
        if coverage < min_coverage:
            candidates.append(
                Candidate(
                    icao,
                    callsign,
                    False,
                    "ADS-B positions cover too few frames",
                    coverage,
                    np.nan,
                    np.nan,
                    np.nan,
                    0.0,
                    0.0,
                    rate_det,
                    np.nan,
                )
            )
            continue
        dd, p, v = det[ok], interp.ecef_m[ok], interp.vel_ecef_ms[ok]
        enu_v = v @ site.enu_basis.T
        enu0 = site.ecef_to_enu(p)
        best = None
        for s in shifts:  # the aircraft's place s seconds later, in the station's ENU frame
            enu = enu0 + s * enu_v
            sep = _angle_deg(_unit(enu), dd)
            if best is None or sep.mean() < best[1].mean():
                best = (s, sep)
        s, sep = best
        _alt, _az, rng = site.altaz_of(p + s * v)
        enu = enu0 + s * enu_v
        alt_rad = np.arctan2(enu[:, 2], np.hypot(enu[:, 0], enu[:, 1]))
        sigma_m = np.sqrt(interp.horizontal_sigma_m**2 + (interp.height_sigma_m * np.cos(alt_rad)) ** 2)
        tol = N_SIGMA * np.hypot(np.degrees(sigma_m / rng), detection_sigma_deg)
        within = float(np.mean(sep <= tol))
        u_ac = _unit(enu)
        # aircraft angular velocity: perpendicular part of its ENU velocity over range
        omega_ac = (enu_v - (np.sum(enu_v * u_ac, -1))[:, None] * u_ac) / rng[:, None]
        rate_ac = float(np.degrees(np.linalg.norm(omega_ac.mean(0))))
        rate_diff = float(np.degrees(np.linalg.norm(omega_det - omega_ac.mean(0))))
        rate_tol = RATE_TOL_DEG_S + RATE_TOL_FRACTION * rate_ac + N_SIGMA * rate_noise
        mid = len(rng) // 2
        residual_px = None
        if camera_model is not None and x_px is not None:
            xa, ya = camera_model.enu_to_pixel(u_ac)
            xd, yd = camera_model.enu_to_pixel(dd)
            d = np.hypot(xa - xd, ya - yd)
            residual_px = float(np.nanmean(d)) if np.any(np.isfinite(d)) else None
        if float(rng[mid]) > max_range_m:
            far = f"{rng[mid] / 1e3:.0f} km"
            matched, reason = False, f"aircraft {far} away, beyond {max_range_m / 1e3:.0f} km"
        elif N_SIGMA * rate_noise > MAX_RATE_NOISE_DEG_S:
            matched, reason = (
                False,
                (
                    f"event too short ({t.size} frames, {duration:.2f} s) "
                    "to tell an aircraft's motion from a meteor's"
                ),
            )
        elif within < min_fraction_within:
            matched, reason = False, f"only {within:.0%} of frames within tolerance"
        elif rate_diff > rate_tol:
            matched, reason = (
                False,
                (f"angular velocity differs by {rate_diff:.2f} deg/s (tolerance {rate_tol:.2f})"),
            )
        else:
            matched, reason = True, "path follows the detection"
        candidates.append(
            Candidate(
                icao,
                callsign,
                matched,
                reason,
                coverage,
                float(rng[mid]),
                float(sep.mean()),
                float(np.median(tol)),
                within,
                float(s),
                rate_det,
                rate_ac,
                residual_px,
            )
        )
    hits = sorted((c for c in candidates if c.matched), key=lambda c: c.residual_deg)
    match = None
    if hits:
        c = hits[0]
        match = AircraftMatch(
            icao24=c.icao24, callsign=c.callsign, distance_m=c.distance_m, residual_deg=c.residual_deg
        )
    return MatchResult(match, candidates)
