"""edge.geometry.earth against astropy's EarthLocation and AltAz (independent code paths)."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import ITRS, AltAz, CartesianRepresentation, EarthLocation
from astropy.time import Time

from edge.geometry.earth import (
    Site,
    altaz_to_enu,
    ecef_to_geodetic,
    enu_basis,
    enu_to_altaz,
    geodetic_to_ecef,
)

RNG = np.random.default_rng(20240611)
SITES = [
    Site(50.1, 10.2, 300.0),
    Site(-33.9, 18.4, 40.0),
    Site(19.82, -155.47, 4200.0),
    Site(78.2, 15.6, 5.0),
]


def _random_geodetic(n):
    lat = np.degrees(np.arcsin(RNG.uniform(-1, 1, n)))
    lon = RNG.uniform(-180, 180, n)
    h = RNG.uniform(-400, 9000, n)
    return lat, lon, h


def test_geodetic_to_ecef_matches_astropy_earthlocation():
    lat, lon, h = _random_geodetic(500)
    ours = geodetic_to_ecef(lat, lon, h)
    ref = EarthLocation.from_geodetic(lon * u.deg, lat * u.deg, h * u.m, ellipsoid="WGS84")
    ref_xyz = np.stack([ref.x.to_value(u.m), ref.y.to_value(u.m), ref.z.to_value(u.m)], axis=-1)
    assert ours.shape == (500, 3)
    assert np.max(np.abs(ours - ref_xyz)) < 1e-3  # mm


def test_ecef_to_geodetic_matches_astropy_and_round_trips():
    lat, lon, h = _random_geodetic(500)
    xyz = geodetic_to_ecef(lat, lon, h)
    lat2, lon2, h2 = ecef_to_geodetic(xyz)
    ref = EarthLocation.from_geocentric(xyz[:, 0], xyz[:, 1], xyz[:, 2], unit=u.m).to_geodetic("WGS84")
    assert np.max(np.abs(lat2 - ref.lat.deg)) < 1e-9
    assert np.max(np.abs(h2 - ref.height.to_value(u.m))) < 1e-3
    assert np.max(np.abs(lat2 - lat)) < 1e-9  # 1e-9 deg is 0.1 mm on the ground
    assert np.max(np.abs((lon2 - lon + 180) % 360 - 180)) < 1e-9
    assert np.max(np.abs(h2 - h)) < 1e-3


def test_site_ecef_and_enu_are_consistent():
    site = SITES[0]
    basis = enu_basis(site.lat_deg, site.lon_deg)
    np.testing.assert_allclose(basis @ basis.T, np.eye(3), atol=1e-15)
    assert np.linalg.det(basis) == pytest.approx(1.0)  # right-handed east, north, up
    # "up" is the ellipsoid normal: a point straight up has the same lat/lon, more height
    up_point = geodetic_to_ecef(site.lat_deg, site.lon_deg, site.height_m + 1000.0)
    np.testing.assert_allclose(site.ecef_to_enu(up_point), [0.0, 0.0, 1000.0], atol=1e-6)
    enu = RNG.normal(0, 5e4, (20, 3))
    np.testing.assert_allclose(site.ecef_to_enu(site.enu_to_ecef(enu)), enu, atol=1e-6)


@pytest.mark.parametrize("site", SITES)
def test_altaz_of_a_point_100_km_away_matches_astropy_geometric_altaz(site):
    # points 100 km up, tens to hundreds of km away in all directions (some below the horizon)
    n = 50
    dlat, dlon = RNG.uniform(-2.0, 2.0, n), RNG.uniform(-2.0, 2.0, n)
    target = geodetic_to_ecef(np.clip(site.lat_deg + dlat, -90, 90), site.lon_deg + dlon, 100e3)
    alt, az, rng = site.altaz_of(target)

    t = Time("2025-01-01T00:00:00")
    loc = EarthLocation.from_geodetic(site.lon_deg * u.deg, site.lat_deg * u.deg, site.height_m * u.m)
    # astropy's recipe for Earth-near objects: a topocentric ITRS vector (astropy's own site position),
    # then its geometric ITRS -> AltAz rotation (pressure 0). Going from a geocentric ITRS position
    # would route through CIRS and add aberration, which is meant for distant objects.
    topo = CartesianRepresentation(target.T * u.m) - loc.get_itrs(t).cartesian
    ref = ITRS(topo, obstime=t, location=loc).transform_to(AltAz(obstime=t, location=loc))
    err_arcsec = _separation_deg(alt, az, ref.alt.deg, ref.az.deg) * 3600
    assert err_arcsec.max() < 1.0
    assert err_arcsec.max() < 1e-3  # in fact the same geometry to far better than required
    np.testing.assert_allclose(rng, ref.distance.to_value(u.m), rtol=1e-9)


def test_altaz_enu_round_trip_and_conventions():
    np.testing.assert_allclose(altaz_to_enu(0.0, 90.0), [1.0, 0.0, 0.0], atol=1e-15)  # east
    np.testing.assert_allclose(altaz_to_enu(0.0, 0.0), [0.0, 1.0, 0.0], atol=1e-15)  # north
    alt = RNG.uniform(-89, 89, 100)
    az = RNG.uniform(0, 360, 100)
    alt2, az2 = enu_to_altaz(3.0 * altaz_to_enu(alt, az))
    np.testing.assert_allclose(alt2, alt, atol=1e-12)
    np.testing.assert_allclose((az2 - az + 180) % 360 - 180, 0.0, atol=1e-10)
    assert np.all((az2 >= 0) & (az2 < 360))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"lat_deg": 91.0, "lon_deg": 0.0, "height_m": 0.0}, "lat_deg"),
        ({"lat_deg": float("nan"), "lon_deg": 0.0, "height_m": 0.0}, "lat_deg"),
        ({"lat_deg": 0.0, "lon_deg": 400.0, "height_m": 0.0}, "lon_deg"),
        ({"lat_deg": 0.0, "lon_deg": -181.0, "height_m": 0.0}, "lon_deg"),
        ({"lat_deg": 0.0, "lon_deg": 0.0, "height_m": 20000.0}, "height_m"),
    ],
)
def test_site_validation_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        Site(**kwargs)


def _separation_deg(alt1, az1, alt2, az2):
    v1 = altaz_to_enu(alt1, az1)
    v2 = altaz_to_enu(alt2, az2)
    return np.degrees(2 * np.arcsin(np.clip(np.linalg.norm(v1 - v2, axis=-1) / 2, 0, 1)))
