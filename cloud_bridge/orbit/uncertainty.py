"""Standard deviations of orbit quantities over Monte Carlo runs.

What it is for: the bridge's Monte Carlo (``TrajectorySolution.mc_states()`` through
``compute_orbit``) gives an ``Orbit`` of (R,) arrays; ``orbit_uncertainty`` reduces it to one
1-sigma figure per field for the event's record.

Robust by default: sigma = 1.4826 x the median absolute deviation (equal to the standard
deviation for a normal distribution, unmoved by the odd run that lands far away, e.g. an
orbit that turns hyperbolic). Angles that wrap (RA, ecliptic longitude, node, argument of
perihelion, anomalies) are measured as deviations from their circular mean, wrapped into
-180..180 deg, so a node scattered around 0/360 gets a small sigma. Only valid rows with a
finite value count; a field with fewer than 2 such values gets NaN.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from cloud_bridge.orbit.orbit import Orbit

__all__ = ["WRAPPING_FIELDS", "orbit_uncertainty"]

WRAPPING_FIELDS = frozenset(
    {"ra_g_deg", "lambda_g_deg", "node_deg", "peri_deg", "true_anomaly_deg", "mean_anomaly_deg"}
)
"""Orbit fields that are angles on a circle (0..360 deg)."""

_MAD_TO_SIGMA = 1.482602218505602  # 1 / Phi^-1(3/4)
_SKIP = frozenset({"t_unix", "solar_longitude_deg", "valid"})


def _sigma(x: np.ndarray, method: str) -> float:
    if x.size < 2:
        return float("nan")
    if method == "std":
        return float(np.std(x, ddof=1))
    return float(_MAD_TO_SIGMA * np.median(np.abs(x - np.median(x))))


def orbit_uncertainty(orbits: Orbit, *, method: str = "mad") -> dict[str, float]:
    """1-sigma spread of every per-run field of ``orbits`` (an Orbit of (R,) arrays), in the field's
    own unit, plus ``radiant_deg``: the total angular spread of the geocentric radiant,
    sqrt((sigma_ra cos dec)^2 + sigma_dec^2), deg. ``method``: "mad" (robust, default) or "std"
    (sample standard deviation). Fields the runs do not vary (t_unix, solar longitude) are left out.
    """
    if method not in ("mad", "std"):
        raise ValueError(f"method: {method!r} is not 'mad' or 'std'")
    if orbits.n_runs is None:
        raise ValueError("orbits: a single orbit has no spread; pass the Monte Carlo runs (arrays)")
    valid = np.asarray(orbits.valid, bool)
    out: dict[str, float] = {}
    for f in fields(orbits):
        if f.name in _SKIP:
            continue
        x = np.asarray(getattr(orbits, f.name), float)[valid]
        x = x[np.isfinite(x)]
        if f.name in WRAPPING_FIELDS and x.size:
            rad = np.radians(x)
            centre = np.arctan2(np.mean(np.sin(rad)), np.mean(np.cos(rad)))
            x = (np.degrees(rad - centre) + 180.0) % 360.0 - 180.0
        out[f.name] = _sigma(x, method)
    dec = np.asarray(orbits.dec_g_deg, float)[valid]
    cos_dec = float(np.cos(np.radians(np.nanmedian(dec)))) if dec.size else float("nan")
    out["radiant_deg"] = float(np.hypot(out["ra_g_deg"] * cos_dec, out["dec_g_deg"]))
    return out
