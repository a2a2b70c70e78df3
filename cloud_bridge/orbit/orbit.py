"""A meteoroid's orbit from its Earth-fixed state: geocentric radiant, v_g, heliocentric elements.

What it is for: the bridge's trajectory solver gives the meteoroid's state at a reference point
(``TrajectorySolution.state_for_orbit()``: ECEF position in m, ECEF velocity in m/s, POSIX time)
and the same for every Monte Carlo run (``mc_states()``: (R, 3) arrays at one time).
``compute_orbit`` turns either into an ``Orbit``; ``orbit_from_geocentric`` starts from a
geocentric radiant and speed instead (a published radiant, a simulator's truth).

Steps: (1) ``edge.geometry.radiant.geocentric_radiant``: Earth rotation removed, v_g from the
energy, the geocentric radiant from the two-body hyperbola's incoming asymptote (the exact
zenith-attraction correction); (2) ``cloud_bridge.orbit.heliocentric``: Earth's heliocentric state
from ERFA epv00 plus the geocentric velocity at infinity and the meteoroid's geocentric offset,
on ecliptic-J2000 axes; (3) ``cloud_bridge.orbit.elements``: Keplerian elements with the Sun's GM
and the Tisserand parameter w.r.t. Jupiter. Solar longitude: ``edge.catalogue.showers``.

Monte Carlo rows that are not an entering meteoroid (NaN, inside the Earth, going up, bound to
the Earth) come out as NaN with ``valid`` False; a single state like that, or a set where no row
is valid, raises ValueError naming the problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cloud_bridge.orbit.elements import state_to_elements
from cloud_bridge.orbit.heliocentric import (
    AU_M,
    DAY_S,
    GM_SUN_AU3_D2,
    heliocentric_state,
    icrs_to_ecliptic_j2000_matrix,
)
from edge.catalogue.showers import solar_longitude_deg
from edge.geometry.celestial import earth_rotation_velocity_ms, to_time
from edge.geometry.radiant import GM_EARTH_M3_S2, geocentric_radiant
from edge.jsonsafe import to_json_safe

__all__ = ["Orbit", "compute_orbit", "orbit_from_geocentric"]

_R_MIN_M = 6.2e6  # as edge.geometry.radiant: closer to the geocentre is inside the Earth
_JULIAN_YEAR_DAYS = 365.25

Value = float | np.ndarray


@dataclass(frozen=True)
class Orbit:
    """A meteoroid's geocentric radiant and heliocentric orbit: floats for one state, arrays of
    shape (R,) for R Monte Carlo runs (NaN where ``valid`` is False).

    Geocentric (J2000/GCRS axes): ra_g_deg, dec_g_deg (geocentric radiant), v_g_kms (speed at
    infinity relative to the Earth), v_inf_kms (pre-atmosphere inertial speed at the reference
    point; NaN if not known), zenith_attraction_deg (NaN if not known), lambda_g_deg, beta_g_deg
    (the geocentric radiant in ecliptic-J2000 longitude and latitude), solar_longitude_deg (J2000).
    Heliocentric (ecliptic and equinox of J2000, osculating about the Sun at t_unix): v_h_kms,
    a_au (< 0 hyperbolic, inf parabolic), e, i_deg, node_deg (longitude of the ascending node),
    peri_deg (argument of perihelion), q_au, Q_au (NaN if e >= 1), period_yr (Julian years; NaN
    if e >= 1), true_anomaly_deg, mean_anomaly_deg (0..360 for ellipses, the signed hyperbolic
    mean anomaly if e > 1), tisserand_j (w.r.t. Jupiter, a_J = 5.2043 AU).
    t_unix: the reference time (POSIX seconds, UTC); valid: which rows are real orbits.
    """

    t_unix: float
    ra_g_deg: Value
    dec_g_deg: Value
    v_g_kms: Value
    v_inf_kms: Value
    zenith_attraction_deg: Value
    lambda_g_deg: Value
    beta_g_deg: Value
    solar_longitude_deg: float
    v_h_kms: Value
    a_au: Value
    e: Value
    i_deg: Value
    node_deg: Value
    peri_deg: Value
    q_au: Value
    Q_au: Value
    period_yr: Value
    true_anomaly_deg: Value
    mean_anomaly_deg: Value
    tisserand_j: Value
    valid: bool | np.ndarray

    @property
    def n_runs(self) -> int | None:
        """Number of Monte Carlo rows, or None for a single orbit."""
        return None if np.ndim(self.valid) == 0 else int(np.size(self.valid))

    def to_dict(self) -> dict:
        """JSON-safe dict: floats (or lists for runs), NaN and infinities as None."""
        return to_json_safe(self)


def _scalar_or_array(a: np.ndarray, single: bool) -> Value:
    return float(a.reshape(())) if single else a


def orbit_from_geocentric(
    ra_g_deg,
    dec_g_deg,
    v_g_kms,
    t_unix,
    *,
    position_ecef_m=None,
    v_inf_kms=None,
    zenith_attraction_deg=None,
) -> Orbit:
    """The orbit of a meteoroid with geocentric radiant (ra_g_deg, dec_g_deg; J2000, deg) and
    geocentric speed v_g_kms (km/s) at time t_unix (POSIX s, UTC; one instant): floats or (R,)
    arrays. position_ecef_m: the meteoroid's Earth-fixed position (m, (3,) or (R, 3)) at t_unix,
    which offsets its heliocentric position by up to 4e-5 AU (None: the geocentre).
    v_inf_kms and zenith_attraction_deg are only copied into the record (NaN when not given).
    Raises ValueError for non-finite input, |dec| > 90 or v_g outside 0..80 km/s.
    """
    ra = np.asarray(ra_g_deg, float)
    dec = np.asarray(dec_g_deg, float)
    v_g = np.asarray(v_g_kms, float)
    for name, arr in (("ra_g_deg", ra), ("dec_g_deg", dec), ("v_g_kms", v_g)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: values must be finite")
    if np.any(np.abs(dec) > 90.0):
        raise ValueError("dec_g_deg: values must lie in -90..90 deg")
    if np.any((v_g <= 0.0) | (v_g > 80.0)):
        raise ValueError("v_g_kms: values must lie in (0, 80] km/s")
    t = to_time(t_unix)
    if np.ndim(t.jd1) != 0:
        raise ValueError("t_unix: give one instant (all Monte Carlo runs share the reference time)")
    ra, dec, v_g = np.broadcast_arrays(ra, dec, v_g)
    single = ra.ndim == 0 and (position_ecef_m is None or np.ndim(position_ecef_m) == 1)
    return _build(ra, dec, v_g, t, position_ecef_m, v_inf_kms, zenith_attraction_deg, None, single)


def _build(ra, dec, v_g, t, position_ecef_m, v_inf_kms, zenith_attraction_deg, valid, single) -> Orbit:
    r_au, v_au_d = heliocentric_state(ra, dec, v_g, t, position_ecef_m)
    el = state_to_elements(r_au, v_au_d, GM_SUN_AU3_D2)
    v_h_kms = np.linalg.norm(v_au_d, axis=-1) * AU_M / DAY_S / 1e3
    shape = v_h_kms.shape

    # geocentric radiant on ecliptic axes (for Sun-centred shower work)
    ra_r, dec_r = np.radians(ra), np.radians(dec)
    u = np.stack([np.cos(dec_r) * np.cos(ra_r), np.cos(dec_r) * np.sin(ra_r), np.sin(dec_r)], axis=-1)
    u_ecl = np.einsum("ij,...j->...i", icrs_to_ecliptic_j2000_matrix(), u)
    lam = np.degrees(np.arctan2(u_ecl[..., 1], u_ecl[..., 0])) % 360.0
    beta = np.degrees(np.arcsin(np.clip(u_ecl[..., 2], -1.0, 1.0)))

    def full(x) -> np.ndarray:
        return np.broadcast_to(np.nan if x is None else np.asarray(x, float), shape).copy()

    values = {
        "ra_g_deg": np.broadcast_to(ra, shape),
        "dec_g_deg": np.broadcast_to(dec, shape),
        "v_g_kms": np.broadcast_to(v_g, shape),
        "v_inf_kms": full(v_inf_kms),
        "zenith_attraction_deg": full(zenith_attraction_deg),
        "lambda_g_deg": lam,
        "beta_g_deg": beta,
        "v_h_kms": v_h_kms,
        "a_au": el["a_au"],
        "e": el["e"],
        "i_deg": el["i_deg"],
        "node_deg": el["node_deg"],
        "peri_deg": el["peri_deg"],
        "q_au": el["q_au"],
        "Q_au": el["Q_au"],
        "period_yr": el["period_days"] / _JULIAN_YEAR_DAYS,
        "true_anomaly_deg": el["true_anomaly_deg"],
        "mean_anomaly_deg": el["mean_anomaly_deg"],
        "tisserand_j": el["tisserand_j"],
    }
    if valid is not None:  # scatter the valid rows into full-length NaN arrays
        n = valid.size
        for k, v in values.items():
            out = np.full(n, np.nan)
            out[valid] = v
            values[k] = out
    return Orbit(
        t_unix=float(t.unix),
        solar_longitude_deg=float(solar_longitude_deg(t)),
        valid=True if single else (np.ones(shape, bool) if valid is None else valid.copy()),
        **{k: _scalar_or_array(np.asarray(v, float), single) for k, v in values.items()},
    )


def _row_problems(pos: np.ndarray, vel: np.ndarray) -> np.ndarray:
    """Boolean (R,): rows that are not an entering, unbound meteoroid state (checked in ECEF)."""
    finite = np.all(np.isfinite(pos), axis=-1) & np.all(np.isfinite(vel), axis=-1)
    p = np.where(finite[:, None], pos, 7e6)
    w = np.where(finite[:, None], vel, -1.0)
    r = np.linalg.norm(p, axis=-1)
    v_inertial = np.linalg.norm(w + earth_rotation_velocity_ms(p), axis=-1)
    return (
        ~finite
        | (r < _R_MIN_M)
        | (np.sum(p * w, axis=-1) >= 0.0)
        | (0.5 * v_inertial**2 - GM_EARTH_M3_S2 / r <= 0.0)
    )


def compute_orbit(position_ecef_m, velocity_ecef_ms, t_unix) -> Orbit:
    """The orbit of the meteoroid whose Earth-fixed state is position_ecef_m (m) and velocity_ecef_ms
    (m/s, relative to the rotating Earth, as a trajectory fit gives it) at t_unix (POSIX s, UTC).

    Shapes (3,) for one state (an Orbit of floats) or (R, 3) for Monte Carlo runs at one time (an
    Orbit of (R,) arrays, NaN rows where a run is not an entering meteoroid). ValueError, naming
    the problem, for a single bad state, for shapes that do not fit, or when no run is valid.
    """
    pos = np.asarray(position_ecef_m, float)
    vel = np.asarray(velocity_ecef_ms, float)
    if pos.shape != vel.shape or pos.shape[-1:] != (3,) or pos.ndim not in (1, 2):
        raise ValueError(
            f"position_ecef_m {pos.shape} and velocity_ecef_ms {vel.shape}: need equal shapes (3,) or (R, 3)"
        )
    t = to_time(t_unix)
    if np.ndim(t.jd1) != 0:
        raise ValueError("t_unix: give one instant (all Monte Carlo runs share the reference time)")
    if pos.ndim == 1:
        g = geocentric_radiant(pos, vel, t)  # raises ValueError naming the problem
        ra, dec, v_g = (np.asarray(x, float) for x in (g.ra_deg, g.dec_deg, g.v_g_kms))
        return _build(ra, dec, v_g, t, pos, g.v_inf_kms, g.zenith_attraction_deg, None, True)
    if pos.shape[0] == 0:
        raise ValueError("position_ecef_m: no Monte Carlo runs (shape (0, 3))")
    bad = _row_problems(pos, vel)
    if np.all(bad):
        geocentric_radiant(pos[0], vel[0], t)  # raises with the reason for the first run
        raise ValueError("no Monte Carlo run is an entering meteoroid state")  # pragma: no cover
    good = ~bad
    g = geocentric_radiant(pos[good], vel[good], t)
    return _build(
        np.atleast_1d(g.ra_deg), np.atleast_1d(g.dec_deg), np.atleast_1d(g.v_g_kms), t, pos[good],
        np.atleast_1d(g.v_inf_kms), np.atleast_1d(g.zenith_attraction_deg), good, False,
    )  # fmt: skip
