"""Tests for edge.geometry.radiant: geocentric radiant <-> Earth-fixed entry state.

The forward direction uses Schiaparelli's zenith-attraction relation; the inverse uses the
asymptote of the Keplerian hyperbola (eccentricity and angular-momentum vectors). Their agreement
over many random cases is a check on both. Other references: the textbook relation computed by
hand, energy conservation, and Earth-rotation speed omega * r * cos(lat).
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.time import Time

from edge.geometry.celestial import EARTH_ROTATION_RAD_S, gcrs_to_itrs_matrix
from edge.geometry.earth import enu_basis, geodetic_to_ecef
from edge.geometry.radiant import (
    GM_EARTH_M3_S2,
    apparent_zenith_distance_rad,
    entry_velocity_ecef,
    geocentric_radiant,
)

T0 = Time("2024-08-12T22:30:00", scale="utc")


def _unit(ra_deg, dec_deg):
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def _sep_deg(ra1, dec1, ra2, dec2):
    a, b = _unit(ra1, dec1), _unit(ra2, dec2)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1)))


def _radiant_at_local(alt_deg, az_deg, lat_deg, lon_deg, time=T0):
    """GCRS (ra, dec) of the direction with geocentric (radial-zenith) altitude/azimuth at a place.

    Uses the geocentric up (radial) and the ENU east/north of the geodetic basis re-orthogonalised,
    so that z = 90 - alt is exactly the geocentric zenith distance.
    """
    pos = geodetic_to_ecef(lat_deg, lon_deg, 100e3)
    up = pos / np.linalg.norm(pos)
    east = enu_basis(lat_deg, lon_deg)[0]
    east = east - np.dot(east, up) * up
    east /= np.linalg.norm(east)
    north = np.cross(up, east)
    alt, az = np.radians(alt_deg), np.radians(az_deg)
    d_ecef = np.cos(alt) * np.sin(az) * east + np.cos(alt) * np.cos(az) * north + np.sin(alt) * up
    d_gcrs = gcrs_to_itrs_matrix(time).T @ d_ecef
    ra = np.degrees(np.arctan2(d_gcrs[1], d_gcrs[0])) % 360.0
    dec = np.degrees(np.arcsin(d_gcrs[2]))
    return ra, dec, pos


def _random_cases(n, seed=7):
    """Random points 70..130 km up around the globe, radiants above their geocentric horizon."""
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    pos = geodetic_to_ecef(lat, lon, rng.uniform(70e3, 130e3, n))
    zen = pos @ gcrs_to_itrs_matrix(T0)  # rows: M.T @ pos, the radial direction in GCRS
    zen /= np.linalg.norm(zen, axis=1, keepdims=True)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    d = np.where((np.sum(d * zen, axis=1) < 0)[:, None], -d, d)  # geocentric radiant above horizon
    ra = np.degrees(np.arctan2(d[:, 1], d[:, 0])) % 360.0
    dec = np.degrees(np.arcsin(d[:, 2]))
    v_g = rng.uniform(11.0, 72.0, n)
    return ra, dec, v_g, pos


def test_forward_inverse_agree_over_random_cases():
    ra, dec, v_g, pos = _random_cases(3000)
    vel = entry_velocity_ecef(ra, dec, v_g, T0, pos)
    assert vel.shape == (3000, 3)
    g = geocentric_radiant(pos, vel, T0)
    sep = _sep_deg(ra, dec, g.ra_deg, g.dec_deg)
    assert sep.max() < 1e-6  # measured ~6e-14 deg: the two exact two-body formulae agree
    np.testing.assert_allclose(g.v_g_kms, v_g, rtol=0, atol=1e-9)
    # v_inf from energy at the point
    r = np.linalg.norm(pos, axis=1)
    np.testing.assert_allclose(g.v_inf_kms, np.sqrt(v_g**2 + 2 * GM_EARTH_M3_S2 / r / 1e6), rtol=1e-12)
    assert np.all(g.zenith_attraction_deg >= -1e-9)
    # the apparent radiant lies in the vertical plane of the geocentric one, closer to the zenith
    assert np.all(g.zenith_distance_deg < 90.0)


def test_inverse_of_an_earth_fixed_state_round_trips():
    """Start from Earth-fixed states (as a trajectory fit gives them) and go back."""
    rng = np.random.default_rng(3)
    n = 500
    lat, lon = rng.uniform(-70, 70, n), rng.uniform(-180, 180, n)
    pos = geodetic_to_ecef(lat, lon, 100e3)
    up = pos / np.linalg.norm(pos, axis=1, keepdims=True)
    d = rng.normal(size=(n, 3))
    d -= np.sum(d * up, axis=1, keepdims=True) * up
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    dip = np.radians(rng.uniform(3.0, 90.0, n))[:, None]  # below the horizontal
    vel = (np.cos(dip) * d - np.sin(dip) * up) * rng.uniform(12.5e3, 72e3, n)[:, None]
    g = geocentric_radiant(pos, vel, T0)
    back = entry_velocity_ecef(g.ra_deg, g.dec_deg, g.v_g_kms, T0, pos)
    np.testing.assert_allclose(back, vel, rtol=0, atol=1e-6)  # metres per second


def test_textbook_zenith_attraction_slow_meteor():
    """v_g = 10 km/s, apparent zenith distance 60 deg, 100 km up: by hand, Schiaparelli's relation
    gives v_inf = sqrt(100 + 2 GM/r) = 14.94 km/s, k = 0.198, dz = 2 atan(k tan 30) = 13.0 deg."""
    lat, lon = 45.0, 10.0
    pos = geodetic_to_ecef(lat, lon, 100e3)
    r = np.linalg.norm(pos)
    v_inf = np.sqrt(10.0**2 + 2 * GM_EARTH_M3_S2 / r / 1e6)
    k = (v_inf - 10.0) / (v_inf + 10.0)
    dz_expected = np.degrees(2 * np.arctan(k * np.tan(np.radians(30.0))))
    assert 12.5 < dz_expected < 13.5  # "several degrees"
    # geocentric radiant at z_g = 60 + dz toward the east: the apparent one must come out at 60
    ra, dec, pos = _radiant_at_local(90.0 - (60.0 + dz_expected), 90.0, lat, lon)
    vel = entry_velocity_ecef(ra, dec, 10.0, T0, pos)
    g = geocentric_radiant(pos, vel, T0)
    assert g.zenith_distance_deg == pytest.approx(60.0, abs=1e-9)
    assert g.zenith_attraction_deg == pytest.approx(dz_expected, abs=1e-9)
    # and the small-dz approximation often quoted, dz ~ 2 k tan(z_c/2) (rad), is close but not exact
    assert g.zenith_attraction_deg == pytest.approx(np.degrees(2 * k * np.tan(np.radians(30))), rel=0.02)


def test_radiant_at_zenith_is_not_bent():
    ra, dec, pos = _radiant_at_local(90.0, 0.0, -33.0, 150.0)
    g = geocentric_radiant(pos, entry_velocity_ecef(ra, dec, 15.0, T0, pos), T0)
    assert abs(g.zenith_attraction_deg) < 1e-9
    assert _sep_deg(ra, dec, g.ra_apparent_deg, g.dec_apparent_deg) < 1e-9


def test_zenith_attraction_vanishes_for_fast_meteoroids():
    """dz falls with v_g and tends to (GM/r) tan(z_c/2) / v_g^2 (rad), the first-order limit."""
    r = 6.478e6
    z_g = np.radians(70.0)
    v_g = np.array([11.0, 20.0, 40.0, 72.0, 300.0, 3000.0])
    v_inf = np.sqrt(v_g**2 + 2 * GM_EARTH_M3_S2 / r / 1e6)
    z_c = apparent_zenith_distance_rad(z_g, v_g, v_inf)
    dz = z_g - z_c
    assert np.all(np.diff(dz) < 0) and dz[-1] < 1e-5  # rad
    limit = (GM_EARTH_M3_S2 / r / 1e6) * np.tan(z_c / 2) / v_g**2
    np.testing.assert_allclose(dz[-2:], limit[-2:], rtol=1e-3)
    # parabolic limit v_g = 0: the asymptote is the parabola's axis, z_c = z_g / 2
    assert apparent_zenith_distance_rad(z_g, 0.0, 11.0) == pytest.approx(z_g / 2, abs=1e-12)


def test_earth_rotation_east_vs_west():
    """A radiant due east meets the co-rotating air head-on: the Earth-fixed speed exceeds the one
    from due west by about 2 omega r cos(lat) cos(alt), ~0.72 km/s near the horizon at 40 deg."""
    lat, lon, v_g = 40.0, -105.0, 40.0
    alt_c = 5.0  # apparent (after zenith attraction) altitude of both radiants
    speeds = {}
    for az in (90.0, 270.0):
        pos = geodetic_to_ecef(lat, lon, 100e3)
        r = np.linalg.norm(pos)
        v_inf = np.sqrt(v_g**2 + 2 * GM_EARTH_M3_S2 / r / 1e6)
        # geocentric zenith distance whose apparent one is 90 - alt_c (Schiaparelli, forward form)
        z_c = np.radians(90.0 - alt_c)
        k = (v_inf - v_g) / (v_inf + v_g)
        z_g = np.degrees(z_c + 2 * np.arctan(k * np.tan(z_c / 2)))
        ra, dec, pos = _radiant_at_local(90.0 - z_g, az, lat, lon)
        speeds[az] = np.linalg.norm(entry_velocity_ecef(ra, dec, v_g, T0, pos)) / 1e3
    rot_kms = EARTH_ROTATION_RAD_S * np.hypot(pos[0], pos[1]) / 1e3
    assert rot_kms == pytest.approx(0.36, abs=0.01)
    diff = speeds[90.0] - speeds[270.0]
    assert diff == pytest.approx(2 * rot_kms * np.cos(np.radians(alt_c)), rel=0.01)
    assert 0.68 < diff < 0.74


def test_vectorised_over_time():
    ra, dec, v_g, pos = _random_cases(4, seed=11)
    times = T0 + np.arange(4) * 3600.0 * u.s
    vel = entry_velocity_ecef(ra, dec, v_g, times, pos)
    for i in range(4):
        np.testing.assert_allclose(vel[i], entry_velocity_ecef(ra[i], dec[i], v_g[i], times[i], pos[i]))
    g = geocentric_radiant(pos, vel, times)
    assert _sep_deg(ra, dec, g.ra_deg, g.dec_deg).max() < 1e-9


def test_scalar_inputs_give_scalars():
    ra, dec, pos = _radiant_at_local(50.0, 200.0, 52.0, 5.0, time=Time("2024-01-04T03:00:00"))
    vel = entry_velocity_ecef(ra, dec, 30.0, "2024-01-04T03:00:00Z", pos)
    assert vel.shape == (3,)
    g = geocentric_radiant(pos, vel, "2024-01-04T03:00:00Z")
    assert isinstance(g.ra_deg, float) and isinstance(g.v_g_kms, float)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"v_g_kms": 85.0}, "v_g_kms"),
        ({"v_g_kms": -1.0}, "v_g_kms"),
        ({"v_g_kms": np.nan}, "v_g_kms"),
        ({"ra_g_deg": np.nan}, "ra_g_deg"),
        ({"dec_g_deg": 91.0}, "dec_g_deg"),
        ({"position_ecef_m": [1e6, 0.0, 0.0]}, "position_ecef_m"),
        ({"position_ecef_m": [1e6, 0.0]}, "position_ecef_m"),
    ],
)
def test_forward_errors_name_the_field(kwargs, field):
    ra, dec, pos = _radiant_at_local(45.0, 0.0, 45.0, 0.0)
    args = {"ra_g_deg": ra, "dec_g_deg": dec, "v_g_kms": 30.0, "time": T0, "position_ecef_m": pos}
    args.update(kwargs)
    with pytest.raises(ValueError, match=field):
        entry_velocity_ecef(**args)


def test_radiant_below_horizon_is_refused():
    ra, dec, pos = _radiant_at_local(-20.0, 90.0, 45.0, 0.0)
    with pytest.raises(ValueError, match="below the horizon"):
        entry_velocity_ecef(ra, dec, 40.0, T0, pos)
    # just below the geocentric horizon but lifted above it by zenith attraction: accepted
    ra, dec, pos = _radiant_at_local(-2.0, 90.0, 45.0, 0.0)
    vel = entry_velocity_ecef(ra, dec, 12.0, T0, pos)
    assert np.dot(vel, pos) < 0


def test_inverse_errors():
    pos = geodetic_to_ecef(45.0, 0.0, 100e3)
    up = pos / np.linalg.norm(pos)
    with pytest.raises(ValueError, match="points up"):
        geocentric_radiant(pos, 30e3 * up, T0)
    with pytest.raises(ValueError, match="bound"):
        geocentric_radiant(pos, -5e3 * up, T0)
    with pytest.raises(ValueError, match="velocity_ecef_ms"):
        geocentric_radiant(pos, [np.nan, 0.0, 0.0], T0)
    with pytest.raises(ValueError, match="position_ecef_m"):
        geocentric_radiant([0.0, 0.0, 1.0], -30e3 * up, T0)
