"""edge.geometry.celestial against astropy's own coordinate transforms and known facts.

astropy's ICRS -> AltAz shares the ERFA routines but not our plumbing (time scales, IERS lookup,
broadcasting, the per-time interpolation, the refraction inverse), so agreement to
milliarcseconds here tests all of those.
"""

import datetime as dt
import logging
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import (
    GCRS,
    ITRS,
    AltAz,
    CartesianRepresentation,
    EarthLocation,
    SkyCoord,
    get_body,
    get_sun,
)
from astropy.time import Time

from edge.geometry import celestial
from edge.geometry.celestial import (
    EARTH_ROTATION_RAD_S,
    Atmosphere,
    altaz_to_icrs,
    earth_rotation_velocity_ms,
    gcrs_to_itrs_matrix,
    icrs_to_altaz,
    moon_altaz_and_phase,
    sun_altaz,
    to_time,
)
from edge.geometry.earth import Site, altaz_to_enu

MAS = 1.0 / 3.6e6  # degrees

SITES = [
    Site(50.1, 10.2, 300.0),
    Site(-33.9, 18.4, 40.0),
    Site(19.82, -155.47, 4200.0),
    Site(78.2, 15.6, 5.0),
]
TIMES = [
    Time("2021-06-21T22:30:00"),  # definitive IERS values
    Time("2024-12-01T03:00:00"),
    Time("2026-11-20T19:00:00"),  # IERS-A predictions
]


def _location(site):
    return EarthLocation.from_geodetic(site.lon_deg * u.deg, site.lat_deg * u.deg, site.height_m * u.m)


def _random_icrs(n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))


def _sep_deg(alt1, az1, alt2, az2):
    d = np.linalg.norm(altaz_to_enu(alt1, az1) - altaz_to_enu(alt2, az2), axis=-1)
    return np.degrees(2 * np.arcsin(np.clip(d / 2, 0, 1)))


def _astropy_altaz(ra, dec, t, site, atm=None):
    kw = {}
    if atm is not None:
        kw = dict(
            pressure=atm.pressure_hpa * u.hPa,
            temperature=atm.temperature_c * u.deg_C,
            relative_humidity=atm.relative_humidity,
            obswl=atm.wavelength_um * u.micron,
        )
    frame = AltAz(obstime=t, location=_location(site), **kw)
    ref = SkyCoord(ra * u.deg, dec * u.deg).transform_to(frame)
    return ref.alt.deg, ref.az.deg


@pytest.mark.parametrize("t", TIMES, ids=lambda t: t.isot[:10])
@pytest.mark.parametrize("site", SITES, ids=lambda s: f"lat{s.lat_deg:+.0f}")
def test_geometric_altaz_matches_astropy(site, t):
    ra, dec = _random_icrs(400, 1)
    alt, az = icrs_to_altaz(ra, dec, t, site)
    ref_alt, ref_az = _astropy_altaz(ra, dec, t, site)
    up = ref_alt > 0
    assert up.sum() > 100
    err = _sep_deg(alt, az, ref_alt, ref_az)[up]
    assert err.max() < 1 * MAS  # measured: about 5e-6 mas
    assert np.all((az >= 0) & (az < 360))


def test_refracted_altaz_matches_astropy_above_5_deg():
    ra, dec = _random_icrs(600, 2)
    for site, t, atm in [
        (SITES[0], TIMES[0], Atmosphere()),
        (SITES[2], TIMES[1], Atmosphere.standard_at(4200.0, temperature_c=-3.0, relative_humidity=0.2)),
        (SITES[3], TIMES[2], Atmosphere(990.0, -25.0, 0.9, 0.7)),
    ]:
        alt, az = icrs_to_altaz(ra, dec, t, site, refraction=atm)
        ref_alt, ref_az = _astropy_altaz(ra, dec, t, site, atm)
        high = ref_alt > 5
        assert high.sum() > 100
        assert _sep_deg(alt, az, ref_alt, ref_az)[high].max() < 1 * MAS  # measured: about 5e-6 mas
        # refraction lifts everything; about 1 arcmin at 45 deg at sea level
        geo_alt, _ = icrs_to_altaz(ra, dec, t, site)
        assert np.all((alt - geo_alt)[high] > 0)
    near_45 = np.abs(geo_alt - 45) < 3
    lift_arcsec = (alt - geo_alt)[near_45] * 3600
    assert np.all((lift_arcsec > 40) & (lift_arcsec < 80))


def test_array_of_times_broadcast_against_directions_matches_astropy():
    site = SITES[0]
    times = Time("2025-08-12T19:00:00") + np.linspace(0, 9, 64) * u.hour  # (T,) = 64: interpolated path
    ra, dec = _random_icrs(50, 3)
    alt, az = icrs_to_altaz(ra, dec, times[:, None], site)
    assert alt.shape == az.shape == (64, 50)
    grid_t = times[:, None] + np.zeros(50) * u.s
    grid_ra, grid_dec = np.broadcast_to(ra, (64, 50)), np.broadcast_to(dec, (64, 50))
    ref_alt, ref_az = _astropy_altaz(grid_ra, grid_dec, grid_t, site)
    up = ref_alt > 0
    assert _sep_deg(alt, az, ref_alt, ref_az)[up].max() < 1 * MAS
    # one direction, many times: the same numbers as the grid's column
    alt1, az1 = icrs_to_altaz(ra[7], dec[7], times, site)
    assert alt1.shape == (64,)
    assert np.max(_sep_deg(alt1, az1, alt[:, 7], az[:, 7])) < 1e-3 * MAS


def test_interpolated_slow_terms_agree_with_exact(monkeypatch):
    site = SITES[1]
    times = Time("2025-03-01T00:00:00") + np.linspace(0, 3, 500) * u.day
    ra, dec = _random_icrs(5, 4)
    alt, az = icrs_to_altaz(ra, dec, times[:, None], site)
    m = gcrs_to_itrs_matrix(times)
    monkeypatch.setattr(celestial, "_MIN_TIMES_TO_INTERPOLATE", 10**9)
    alt0, az0 = icrs_to_altaz(ra, dec, times[:, None], site)
    m0 = gcrs_to_itrs_matrix(times)
    assert np.max(_sep_deg(alt, az, alt0, az0)) < 0.01 * MAS  # measured: under 0.001 mas
    assert np.max(np.abs(m - m0)) < 1e-11


@pytest.mark.parametrize("atm", [None, Atmosphere(), Atmosphere(800.0, -20.0, 1.0, 0.45)])
def test_altaz_to_icrs_is_the_inverse(atm):
    site, t = SITES[0], TIMES[2]
    alt = np.linspace(-5, 90, 997)
    az = np.linspace(0, 3600, 997) % 360
    ra, dec = altaz_to_icrs(alt, az, t, site, refraction=atm)
    assert np.all((ra >= 0) & (ra < 360))
    alt2, az2 = icrs_to_altaz(ra, dec, t, site, refraction=atm)
    assert np.max(_sep_deg(alt, az, alt2, az2)) < 0.01 * MAS  # measured: 1e-4 mas
    ra3, dec3 = icrs_to_altaz(*altaz_to_icrs(alt, az, t, site, refraction=atm), t, site, refraction=atm)
    assert np.all(np.isfinite(ra3 + dec3))


def test_altaz_to_icrs_matches_astropy_geometric():
    site, t = SITES[2], TIMES[1]
    rng = np.random.default_rng(5)
    alt, az = rng.uniform(1, 89, 300), rng.uniform(0, 360, 300)
    ra, dec = altaz_to_icrs(alt, az, t, site)
    ref = SkyCoord(AltAz(alt=alt * u.deg, az=az * u.deg, obstime=t, location=_location(site))).icrs
    assert np.max(_sep_deg(dec, ra, ref.dec.deg, ref.ra.deg)) < 1 * MAS


def test_broadcasting_shapes():
    site, t = SITES[0], TIMES[0]
    alt, az = icrs_to_altaz(10.0, 20.0, t, site)
    assert np.shape(alt) == np.shape(az) == ()
    assert icrs_to_altaz(np.zeros(7), 20.0, t, site)[0].shape == (7,)
    times = t + np.arange(3) * u.min
    assert icrs_to_altaz(10.0, 20.0, times, site)[0].shape == (3,)
    assert icrs_to_altaz(np.zeros(7), np.zeros(7), times[:, None], site)[1].shape == (3, 7)
    assert altaz_to_icrs(np.full((3, 7), 30.0), 0.0, times[:, None], site)[0].shape == (3, 7)
    with pytest.raises(ValueError):
        icrs_to_altaz(np.zeros(7), 0.0, times, site)  # (7,) against (3,)
    # POSIX seconds and ISO strings are accepted as times
    a1, _ = icrs_to_altaz(10.0, 20.0, t.unix, site)
    a2, _ = icrs_to_altaz(10.0, 20.0, t.isot, site)
    assert abs(a1 - alt) < 1e-3 * MAS and abs(a2 - alt) < 1e-6 * MAS


def test_bad_inputs_name_the_field():
    site, t = SITES[0], TIMES[0]
    with pytest.raises(ValueError, match="dec_deg"):
        icrs_to_altaz(0.0, 95.0, t, site)
    with pytest.raises(ValueError, match="ra_deg"):
        icrs_to_altaz(np.nan, 0.0, t, site)
    with pytest.raises(ValueError, match="alt_deg"):
        altaz_to_icrs(-91.0, 0.0, t, site)
    with pytest.raises(ValueError, match="site"):
        icrs_to_altaz(0.0, 0.0, t, (50.0, 10.0, 0.0))
    with pytest.raises(ValueError, match="refraction"):
        icrs_to_altaz(0.0, 0.0, t, site, refraction=1013.0)
    for kwargs, field in [
        ({"pressure_hpa": -1.0}, "pressure_hpa"),
        ({"temperature_c": 300.0}, "temperature_c"),
        ({"relative_humidity": 50.0}, "relative_humidity"),
        ({"wavelength_um": 0.0}, "wavelength_um"),
    ]:
        with pytest.raises(ValueError, match=field):
            Atmosphere(**kwargs)
    assert Atmosphere.standard_at(1000.0).pressure_hpa == pytest.approx(898.7, abs=0.2)  # ISA table


def test_times_past_the_iers_table_work_quietly_and_log_once(monkeypatch, caplog):
    monkeypatch.setattr(celestial, "_extrapolation_logged", False)
    site = SITES[0]
    iso = "2031-03-01T00:00:00Z"  # past the IERS table and ERFA's leap-second horizon
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="edge.geometry.celestial"):
        warnings.simplefilter("error")
        t = to_time(iso)
        alt, az = icrs_to_altaz([10.0, 200.0], [20.0, -10.0], t, site)
        ra, dec = altaz_to_icrs(alt, az, t, site)
        m = gcrs_to_itrs_matrix(t.unix + np.arange(3) * 86400.0)
        icrs_to_altaz(10.0, 20.0, iso, site)
        sun_altaz(iso, site)
    assert np.all(np.isfinite(alt)) and np.all(np.isfinite(m))
    np.testing.assert_allclose(dec, [20.0, -10.0], atol=1e-3 * MAS)
    assert sum("iers_extrapolated" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("t", [TIMES[0], Time("2025-05-05T05:05:05") + np.arange(4) * u.hour])
def test_gcrs_to_itrs_matrix_matches_astropy(t):
    rng = np.random.default_rng(6)
    v = rng.normal(0, 7e6, (3,) + t.shape)  # one GCRS vector per time, metres
    m = gcrs_to_itrs_matrix(t)
    assert m.shape == t.shape + (3, 3)
    np.testing.assert_allclose(m @ np.swapaxes(m, -1, -2), np.broadcast_to(np.eye(3), m.shape), atol=1e-14)
    ours = np.einsum("...ij,j...->i...", m, v)
    ref = GCRS(CartesianRepresentation(v * u.m), obstime=t).transform_to(ITRS(obstime=t))
    ref_xyz = ref.cartesian.xyz.to_value(u.m)
    assert np.max(np.abs(ours - ref_xyz) / np.linalg.norm(v, axis=0)) < 1e-9  # measured: 1e-15


def test_earth_rotation_velocity():
    equator = Site(0.0, 0.0, 0.0).ecef_m
    v = earth_rotation_velocity_ms(equator)
    assert np.linalg.norm(v) == pytest.approx(465.1, abs=0.1)
    assert v[1] > 465.0  # eastward: +y at longitude 0
    assert np.allclose(earth_rotation_velocity_ms([[0, 0, 6.4e6]]), 0.0)  # the pole does not move
    # consistent with the rotation of gcrs_to_itrs_matrix: an Earth-fixed point's GCRS velocity by
    # finite difference equals the rotation velocity rotated into GCRS, to 1e-6 relative: the true
    # axis is the CIP, which polar motion tilts by about 0.3 arcsec from ITRS z; the ERA rate differs
    # from the nominal omega by 2e-8.
    r = Site(50.0, 10.0, 0.0).ecef_m
    t = Time("2025-01-01T00:00:00") + np.array([-0.5, 0.5]) * u.s
    m = gcrs_to_itrs_matrix(t)
    r_gcrs = np.einsum("tji,j->ti", m, r)  # M^T r
    v_fd = r_gcrs[1] - r_gcrs[0]
    v_pred = gcrs_to_itrs_matrix(Time("2025-01-01T00:00:00")).T @ earth_rotation_velocity_ms(r)
    np.testing.assert_allclose(v_fd, v_pred, rtol=0, atol=5e-6 * np.linalg.norm(v_pred))
    assert EARTH_ROTATION_RAD_S == 7.292115e-5


def test_sun_altaz_matches_astropy_get_sun():
    site = SITES[0]
    times = Time("2025-06-21T00:00:00") + np.linspace(0, 24, 145) * u.hour
    alt, az = sun_altaz(times, site)
    assert alt.shape == (145,)
    ref = get_sun(times).transform_to(AltAz(obstime=times, location=_location(site)))
    assert np.max(_sep_deg(alt, az, ref.alt.deg, ref.az.deg)) < 1 / 60
    assert np.max(_sep_deg(alt, az, ref.alt.deg, ref.az.deg)) < 1000 * MAS  # measured: 0.05 mas
    # refraction lifts the Sun as Bennett's formula says (scaled to 1013.25 hPa, 10 C) above 5 deg;
    # ERFA's model saturates at about 11 arcmin below 3 deg (34 arcmin in reality at the horizon)
    alt_r, _ = sun_altaz(times, site, refraction=Atmosphere())
    low = (alt_r > 5) & (alt_r < 30)
    assert low.sum() > 5
    bennett_arcmin = 1 / np.tan(np.radians(alt_r + 7.31 / (alt_r + 4.4))) * (1013.25 / 1010) * (283 / 283.15)
    np.testing.assert_allclose(((alt_r - alt) * 60)[low], bennett_arcmin[low], atol=0.5)
    # summer solstice at 50.1 N: noon altitude 90 - 50.1 + 23.44
    assert alt.max() == pytest.approx(90 - 50.1 + 23.44, abs=0.3)


def test_moon_altaz_and_phase():
    site = SITES[0]
    # full moon 2024-01-25 17:54 UTC, new moon 2024-01-11 11:57 UTC, first quarter 2024-01-18 03:53 UTC
    t = Time(["2024-01-25T17:54:00", "2024-01-11T11:57:00", "2024-01-18T03:53:00"])
    alt, az, k = moon_altaz_and_phase(t, site)
    assert alt.shape == az.shape == k.shape == (3,)
    assert k[0] > 0.99 and k[1] < 0.01 and k[2] == pytest.approx(0.5, abs=0.02)
    loc = _location(site)
    ref = get_body("moon", t, loc).transform_to(AltAz(obstime=t, location=loc))
    assert np.max(_sep_deg(alt, az, ref.alt.deg, ref.az.deg)) < 1 / 60  # measured: under 1 arcsec
    # illuminated fraction from astropy's positions (the formula astroplan uses)
    sun, moon = get_body("sun", t, loc), get_body("moon", t, loc)
    elong = sun.separation(moon)
    i = np.arctan2(sun.distance * np.sin(elong), moon.distance - sun.distance * np.cos(elong))
    np.testing.assert_allclose(k, (1 + np.cos(i)) / 2, atol=1e-3)  # measured: 7e-5
    # topocentric: the Moon's direction from the Earth's centre (parallax ignored) sits higher
    geo = get_body("moon", t)
    geo_dir = SkyCoord(geo.ra, geo.dec, frame="gcrs", obstime=t)  # no distance: no parallax
    parallax = geo_dir.transform_to(AltAz(obstime=t, location=loc)).alt.deg - alt
    assert np.all((parallax > 0.5) & (parallax < 1.05))


def test_to_time():
    ref = Time("2024-03-01T12:00:00", scale="utc")
    assert to_time(ref) is ref
    assert abs((to_time(ref.unix) - ref).to_value(u.us)) < 1
    assert to_time(np.array([ref.unix, ref.unix + 60])).shape == (2,)
    cet = dt.timezone(dt.timedelta(hours=1))
    assert abs((to_time(dt.datetime(2024, 3, 1, 13, tzinfo=cet)) - ref).to_value(u.us)) < 1
    assert abs((to_time("2024-03-01T13:00:00+01:00") - ref).to_value(u.us)) < 1
    assert abs((to_time("2024-03-01T12:00:00Z") - ref).to_value(u.us)) < 1
    assert abs((to_time("2024-03-01 12:00:00") - ref).to_value(u.us)) < 1
    assert to_time("2016-12-31T23:59:60").isot.endswith("59:60.000")  # leap second
    for bad in [dt.datetime(2024, 3, 1), "not a time", None, True, float("inf"), [dt.datetime(2024, 3, 1)]]:
        with pytest.raises(ValueError, match="time"):
            to_time(bad)
