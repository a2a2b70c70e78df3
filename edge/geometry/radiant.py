"""Meteoroid entry geometry: geocentric radiant and speed <-> Earth-fixed state at the begin point.

What it is for: the simulator places a meteor from its shower's geocentric radiant (RA/Dec on
GCRS = J2000 equatorial axes) and geocentric speed v_g; the bridge turns a fitted trajectory
(begin point and velocity in ECEF/ITRS) back into the geocentric radiant, v_g and v_inf.

Conventions (as in Ceplecha 1987, Vida et al. 2020 / WesternMeteorPyLib):
- v_g is the speed at infinity relative to the Earth (two-body hyperbolic excess speed);
  v_inf, the pre-atmosphere speed at the point, is sqrt(v_g^2 + 2 GM / r) (energy).
- The *apparent* radiant is the direction opposite the inertial (GCRS) velocity at the point,
  i.e. after the Earth-rotation correction but before the zenith-attraction correction.
- Zenith attraction: gravity bends the path, so the apparent radiant lies closer to the
  geocentric zenith of the point (the radial direction) than the geocentric radiant, in the
  same vertical plane: dz = z_g - z_c >= 0.
- The atmosphere and the stations co-rotate with the Earth: v_itrs = M v_gcrs - omega x r.

The forward direction (``entry_velocity_ecef``) uses Schiaparelli's relation
tan((z_g - z_c)/2) = (v_inf - v_g)/(v_inf + v_g) tan(z_c/2), solved for z_c in closed form; the
inverse (``geocentric_radiant``) takes the incoming asymptote of the Keplerian hyperbola through
the inertial state (energy, angular-momentum and eccentricity vectors). Both are exact two-body
results; the tests check they agree to about 1e-9 deg. Atmospheric drag before the begin point
and the Moon/Sun perturbations are ignored, as is usual for this step.

Earth orientation (precession-nutation, UT1, polar motion) comes from
``edge.geometry.celestial.gcrs_to_itrs_matrix``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.geometry.celestial import earth_rotation_velocity_ms, gcrs_to_itrs_matrix, to_time

__all__ = [
    "GM_EARTH_M3_S2",
    "V_G_MAX_KMS",
    "GeocentricRadiant",
    "apparent_zenith_distance_rad",
    "entry_velocity_ecef",
    "geocentric_radiant",
]

GM_EARTH_M3_S2 = 3.986004418e14
"""Geocentric gravitational constant (IERS Conventions 2010 / WGS84), m^3/s^2."""

V_G_MAX_KMS = 80.0
"""Largest accepted geocentric speed, km/s (bound meteoroids reach about 72; margin for errors)."""

_R_MIN_M = 6.2e6  # a point closer to the geocentre than this is inside the Earth


@dataclass(frozen=True)
class GeocentricRadiant:
    """Geocentric radiant of a meteoroid (arrays where the inputs were arrays).

    ra_deg, dec_deg: geocentric radiant (incoming asymptote, reversed), GCRS/J2000 axes, deg.
    v_g_kms: geocentric speed (at infinity, relative to the Earth), km/s.
    v_inf_kms: pre-atmosphere inertial speed at the point (Earth rotation removed), km/s.
    zenith_attraction_deg: z_g - z_c, how far gravity moved the radiant toward the zenith, deg.
    ra_apparent_deg, dec_apparent_deg: apparent radiant (opposite the inertial velocity at the
    point: Earth rotation corrected, zenith attraction not), GCRS/J2000 axes, deg.
    zenith_distance_deg: z_c, geocentric zenith distance of the apparent radiant at the point, deg.
    """

    ra_deg: np.ndarray | float
    dec_deg: np.ndarray | float
    v_g_kms: np.ndarray | float
    v_inf_kms: np.ndarray | float
    zenith_attraction_deg: np.ndarray | float
    ra_apparent_deg: np.ndarray | float
    dec_apparent_deg: np.ndarray | float
    zenith_distance_deg: np.ndarray | float


# --------------------------------------------------------------------------------------------
# helpers


def _finite(value, field: str) -> np.ndarray:
    a = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{field}: values must be finite (got NaN or inf)")
    return a


def _vec3(value, field: str) -> np.ndarray:
    a = _finite(value, field)
    if a.shape[-1:] != (3,):
        raise ValueError(f"{field}: last axis must have length 3, got shape {a.shape}")
    return a


def _check_radius(r_m: np.ndarray, field: str) -> None:
    if np.any(r_m < _R_MIN_M):
        raise ValueError(
            f"{field}: point(s) {np.min(r_m) / 1e3:.1f} km from the geocentre are inside the Earth "
            f"(need at least {_R_MIN_M / 1e3:.0f} km)"
        )


def _unit_from_radec(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def _radec_from_vec(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return np.degrees(np.arctan2(y, x)) % 360.0, np.degrees(np.arctan2(z, np.hypot(x, y)))


def _angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in radians between vectors (last axis), accurate near 0 and pi."""
    return np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1))


def _apply(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.einsum("...ij,...j->...i", m, v)


def _apply_t(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.einsum("...ji,...j->...i", m, v)


def _scalarise(a):
    a = np.asarray(a)
    return float(a) if a.ndim == 0 else a


def apparent_zenith_distance_rad(z_g_rad, v_g_kms, v_inf_kms) -> np.ndarray:
    """z_c (rad) of the apparent radiant whose geocentric radiant is at z_g (rad): Schiaparelli's
    relation tan((z_g - z_c)/2) = k tan(z_c/2), k = (v_inf - v_g)/(v_inf + v_g), solved for z_c.

    With t = tan(z_c/2), T = tan(z_g/2) it is the quadratic k T t^2 + (1 + k) t - T = 0, whose
    root in [0, inf) is t = 2T / ((1 + k) + sqrt((1 + k)^2 + 4 k T^2)) (stable, also for k = 0).
    No validation: a building block for ``entry_velocity_ecef`` and the tests.
    """
    z_g = np.asarray(z_g_rad, float)
    k = (np.asarray(v_inf_kms, float) - v_g_kms) / (np.asarray(v_inf_kms, float) + v_g_kms)
    big_t = np.tan(0.5 * z_g)
    t = 2.0 * big_t / ((1.0 + k) + np.sqrt((1.0 + k) ** 2 + 4.0 * k * big_t**2))
    return 2.0 * np.arctan(t)


# --------------------------------------------------------------------------------------------
# forward: geocentric radiant -> Earth-fixed velocity


def entry_velocity_ecef(ra_g_deg, dec_g_deg, v_g_kms, time, position_ecef_m) -> np.ndarray:
    """Earth-fixed (ITRS/ECEF) velocity in m/s, shape (..., 3), of a meteoroid at ``position_ecef_m``.

    ra_g_deg, dec_g_deg: geocentric radiant, GCRS (J2000 equatorial) axes, deg.
    v_g_kms: geocentric speed, km/s, 0..80.
    time: astropy Time (or anything ``celestial.to_time`` accepts) of the state.
    position_ecef_m: ECEF point in metres, shape (..., 3), typically the begin point ~100 km up.
    All inputs broadcast together (radiants of shape (N,) with one point of shape (3,) work).

    The inertial speed at the point is v_inf = sqrt(v_g^2 + 2 GM/r); its direction is the
    radiant moved toward the point's geocentric zenith by the zenith attraction; then it is
    rotated to ITRS and omega x r is subtracted. Raises ValueError naming the field for NaNs,
    v_g outside 0..80 km/s, |dec| > 90, a point inside the Earth, or a radiant whose apparent
    position is not above the point's geocentric horizon (the meteoroid would be rising).
    """
    ra = _finite(ra_g_deg, "ra_g_deg")
    dec = _finite(dec_g_deg, "dec_g_deg")
    v_g = _finite(v_g_kms, "v_g_kms")
    pos = _vec3(position_ecef_m, "position_ecef_m")
    if np.any(np.abs(dec) > 90.0):
        raise ValueError("dec_g_deg: values must lie in -90..90 deg")
    if np.any((v_g < 0.0) | (v_g > V_G_MAX_KMS)):
        raise ValueError(
            f"v_g_kms: values must lie in 0..{V_G_MAX_KMS:g} km/s (got {v_g.min():g}..{v_g.max():g})"
        )
    r_m = np.linalg.norm(pos, axis=-1)
    _check_radius(r_m, "position_ecef_m")

    m = gcrs_to_itrs_matrix(to_time(time))
    pos_gcrs = _apply_t(m, pos)
    zenith = pos_gcrs / r_m[..., None]
    u_g = _unit_from_radec(ra, dec)
    u_g, zenith = np.broadcast_arrays(u_g, zenith)

    v_inf = np.sqrt(v_g**2 + 2.0 * GM_EARTH_M3_S2 / r_m / 1e6)  # km/s
    z_g = _angle_between(u_g, zenith)
    z_c = apparent_zenith_distance_rad(z_g, v_g, v_inf)
    if np.any(z_c >= np.pi / 2):
        worst = np.degrees(np.max(z_c))
        raise ValueError(
            f"ra_g_deg/dec_g_deg: the radiant is below the horizon of position_ecef_m (apparent zenith "
            f"distance {worst:.2f} deg >= 90): the meteoroid would be going up"
        )

    # unit vector in the vertical plane of the radiant, perpendicular to the zenith
    perp = u_g - np.cos(z_g)[..., None] * zenith
    norm = np.linalg.norm(perp, axis=-1, keepdims=True)
    perp = np.divide(perp, norm, out=np.zeros_like(perp), where=norm > 1e-15)
    u_c = np.cos(z_c)[..., None] * zenith + np.sin(z_c)[..., None] * perp

    v_gcrs_ms = -(v_inf * 1e3)[..., None] * u_c
    return _apply(m, v_gcrs_ms) - earth_rotation_velocity_ms(pos)


# --------------------------------------------------------------------------------------------
# inverse: Earth-fixed state -> geocentric radiant


def geocentric_radiant(position_ecef_m, velocity_ecef_ms, time) -> GeocentricRadiant:
    """Geocentric radiant, v_g and v_inf of a meteoroid's Earth-fixed state (position m, velocity m/s).

    position_ecef_m, velocity_ecef_ms: ECEF/ITRS, shape (..., 3), broadcasting together; the
    velocity is relative to the rotating Earth (as a trajectory fit gives it) and must point
    below the point's geocentric horizon. time: astropy Time (or ``to_time`` input).

    Independent of ``entry_velocity_ecef``'s formula: add omega x r, rotate to GCRS, then
    v_g from the energy, and the radiant from the incoming asymptote of the two-body hyperbola:
    with h = r x v and e = v x h / GM - r/|r|, the incoming velocity at infinity points along
    e + (v_g / GM) h x e; the radiant is the opposite direction. Raises ValueError for NaNs, a
    point inside the Earth, an upward velocity, or a bound (non-hyperbolic) state.
    """
    pos = _vec3(position_ecef_m, "position_ecef_m")
    vel = _vec3(velocity_ecef_ms, "velocity_ecef_ms")
    pos, vel = np.broadcast_arrays(pos, vel)
    r_m = np.linalg.norm(pos, axis=-1)
    _check_radius(r_m, "position_ecef_m")
    if np.any(np.sum(pos * vel, axis=-1) >= 0.0):
        raise ValueError(
            "velocity_ecef_ms: the velocity points up (or is horizontal/zero): not an entering meteoroid"
        )

    m = gcrs_to_itrs_matrix(to_time(time))
    r = _apply_t(m, pos)
    v = _apply_t(m, vel + earth_rotation_velocity_ms(pos))
    r, v = np.broadcast_arrays(r, v)
    r_norm = np.linalg.norm(r, axis=-1)
    v_norm = np.linalg.norm(v, axis=-1)

    energy = 0.5 * v_norm**2 - GM_EARTH_M3_S2 / r_norm  # J/kg
    if np.any(energy <= 0.0):
        raise ValueError(
            "velocity_ecef_ms: the state is bound to the Earth (speed below escape speed): "
            "no geocentric radiant"
        )
    v_g = np.sqrt(2.0 * energy)  # m/s
    h = np.cross(r, v)
    e_vec = np.cross(v, h) / GM_EARTH_M3_S2 - r / r_norm[..., None]
    incoming = e_vec + (v_g / GM_EARTH_M3_S2)[..., None] * np.cross(h, e_vec)
    u_g = -incoming / np.linalg.norm(incoming, axis=-1, keepdims=True)
    u_c = -v / v_norm[..., None]

    zenith = r / r_norm[..., None]
    z_g = _angle_between(u_g, zenith)
    z_c = _angle_between(u_c, zenith)
    ra_g, dec_g = _radec_from_vec(u_g)
    ra_c, dec_c = _radec_from_vec(u_c)
    return GeocentricRadiant(
        ra_deg=_scalarise(ra_g),
        dec_deg=_scalarise(dec_g),
        v_g_kms=_scalarise(v_g / 1e3),
        v_inf_kms=_scalarise(v_norm / 1e3),
        zenith_attraction_deg=_scalarise(np.degrees(z_g - z_c)),
        ra_apparent_deg=_scalarise(ra_c),
        dec_apparent_deg=_scalarise(dec_c),
        zenith_distance_deg=_scalarise(np.degrees(z_c)),
    )
