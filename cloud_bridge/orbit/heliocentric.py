"""The meteoroid's heliocentric state before it met the Earth, on ecliptic-of-J2000 axes.

What it is for: ``cloud_bridge.orbit.orbit`` turns a geocentric radiant and speed (from
``edge.geometry.radiant.geocentric_radiant`` on a trajectory fit, or given directly) into a
heliocentric position and velocity, then into Keplerian elements.

Method (as Ceplecha 1987 and WesternMeteorPyLib, Vida et al. 2020):
- velocity: the Earth's heliocentric velocity plus the meteoroid's geocentric velocity at
  infinity, v_g along the reversed geocentric radiant (the two-body hyperbolic excess velocity:
  the Earth's attraction is removed exactly, the Moon's and the Sun's tides on the encounter
  are neglected, as usual);
- position: the Earth's heliocentric position plus the meteoroid's geocentric position at the
  reference point (GCRS). The offset is about 6,500 km = 4.4e-5 AU: it moves q by at most that
  and most angles by thousandths of a degree, but near the ecliptic the node is sensitive to it
  (0.04 deg for the real CMN fireball of 2017-03-05 with i = 2 deg, which then matches the
  reference solver to 0.001 deg instead of 0.04 deg), so it is included when the point is known.
- heliocentric, not barycentric: the elements are osculating elements about the Sun with the
  Sun's GM, so the Sun must be the origin; the Sun moves about 13 m/s around the barycentre,
  which would otherwise enter the velocity (about 1e-3 of v_h's error budget, but systematic).
  The IAU MDC and the reference solver give heliocentric elements too.

Earth ephemeris: ERFA ``epv00`` (the same offline ephemeris that astropy's built-in one uses):
a simplified VSOP2000 solution aligned to DE405. Its documented error against DE405 over
1900-2100 is, heliocentric: position 3.7 km RMS (11.2 km max), velocity 1.4 mm/s RMS
(5.0 mm/s max); about twice that by 1800 and 2200. That is 1e-10 of the Earth's orbital speed:
negligible next to any meteor measurement (0.1 % of v_g is tens of m/s). Its axes are BCRS
(= ICRS = GCRS axes to far better than we need). TT is passed for TDB (1.7 ms apart).

Ecliptic frame: the mean ecliptic and equinox of J2000, the convention of the IAU MDC, from
ERFA ``ecm06`` evaluated at J2000.0 (IAU 2006 obliquity 84381.406 arcsec, frame bias included;
the older 84381.448 arcsec obliquity some software uses differs by 0.04 arcsec).
"""

from __future__ import annotations

import functools

import erfa
import numpy as np

from edge.geometry.celestial import gcrs_to_itrs_matrix, to_time

__all__ = [
    "AU_M",
    "DAY_S",
    "GM_SUN_AU3_D2",
    "GM_SUN_M3_S2",
    "earth_heliocentric_state",
    "heliocentric_state",
    "icrs_to_ecliptic_j2000_matrix",
]

AU_M = 149_597_870_700.0
"""The astronomical unit, m (IAU 2012 Resolution B2)."""

GM_SUN_M3_S2 = 1.32712440041e20
"""Heliocentric gravitational constant, m^3/s^2 (TDB-compatible, as in JPL DE430/DE440)."""

DAY_S = 86400.0
GM_SUN_AU3_D2 = GM_SUN_M3_S2 * DAY_S**2 / AU_M**3
"""The same in AU^3/day^2 (the square of the Gaussian constant, 0.01720209895^2, to 1e-11)."""

_J2000_JD = 2451545.0


@functools.cache
def icrs_to_ecliptic_j2000_matrix() -> np.ndarray:
    """Rotation matrix (3, 3) from ICRS (= GCRS, BCRS) axes to the mean ecliptic and equinox of J2000."""
    m = erfa.ecm06(_J2000_JD, 0.0)
    m.setflags(write=False)
    return m


def earth_heliocentric_state(time) -> tuple[np.ndarray, np.ndarray]:
    """The Earth's heliocentric position (AU) and velocity (AU/day) on ICRS axes at ``time`` (astropy
    Time or anything ``to_time`` accepts), from ERFA ``epv00``; shapes (..., 3) for the time's shape.
    ValueError outside 1900..2100 (where epv00's accuracy is not documented)."""
    t = to_time(time).tt
    year = t.jyear
    if np.any((year < 1900.0) | (year > 2100.0)):
        raise ValueError(
            f"time: {np.min(year):.1f}..{np.max(year):.1f} is outside 1900..2100, the range of "
            "the Earth ephemeris (ERFA epv00)"
        )
    pvh, _pvb = erfa.epv00(t.jd1, t.jd2)
    return np.asarray(pvh["p"]), np.asarray(pvh["v"])


def _unit_from_radec(ra_deg, dec_deg) -> np.ndarray:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def heliocentric_state(
    ra_g_deg, dec_g_deg, v_g_kms, time, position_ecef_m=None
) -> tuple[np.ndarray, np.ndarray]:
    """Heliocentric position (AU) and velocity (AU/day) of a meteoroid, ecliptic-J2000 axes, shape (..., 3).

    ra_g_deg, dec_g_deg: geocentric radiant, GCRS (J2000 equatorial) axes, deg; v_g_kms: geocentric
    speed, km/s (arrays broadcast together). time: one instant (astropy Time, POSIX seconds, ...).
    position_ecef_m: the meteoroid's Earth-fixed position(s), m, (3,) or (..., 3), added to the
    Earth's position when given (see the module docstring); None places it at the geocentre.
    """
    t = to_time(time)
    if np.ndim(t.jd1) != 0:
        raise ValueError("time: give one instant (all Monte Carlo runs share the reference time)")
    r_earth_au, v_earth_au_d = earth_heliocentric_state(t)
    u_g = _unit_from_radec(np.asarray(ra_g_deg, float), np.asarray(dec_g_deg, float))
    v_inf_au_d = -(np.asarray(v_g_kms, float) * 1e3 * DAY_S / AU_M)[..., None] * u_g
    v_eq = v_earth_au_d + v_inf_au_d
    r_eq = np.broadcast_to(r_earth_au, v_eq.shape)
    if position_ecef_m is not None:
        pos = np.asarray(position_ecef_m, float)
        if pos.shape[-1:] != (3,):
            raise ValueError(f"position_ecef_m: last axis must have length 3, got shape {pos.shape}")
        r_gcrs_m = np.einsum("ji,...j->...i", gcrs_to_itrs_matrix(t), pos)  # M^T p
        r_eq = r_eq + r_gcrs_m / AU_M
    m = icrs_to_ecliptic_j2000_matrix()
    return np.einsum("ij,...j->...i", m, r_eq), np.einsum("ij,...j->...i", m, v_eq)
