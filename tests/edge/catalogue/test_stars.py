"""Tests of the Hipparcos star catalogue: parsing, Johnson V, proper motion, selection, cache."""

import dataclasses
import os
import shutil
import time

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Distance, SkyCoord
from astropy.time import Time

from edge.catalogue import stars


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """Keep the tests' cache out of the user's ~/.cache and start each module cold."""
    old = os.environ.get("SKYTRAIL_CACHE_DIR")
    os.environ["SKYTRAIL_CACHE_DIR"] = str(tmp_path_factory.mktemp("skytrail-cache"))
    stars._MEMO.clear()
    yield
    stars._MEMO.clear()
    if old is None:
        del os.environ["SKYTRAIL_CACHE_DIR"]
    else:
        os.environ["SKYTRAIL_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def bright():
    return stars.load_bright_stars()


# SIMBAD ICRS positions at epoch J2000 (from van Leeuwen 2007) and Bright Star Catalogue V.
FAMOUS = {
    32349: ("Sirius", "06 45 08.91728", "-16 42 58.0171", -1.46),
    91262: ("Vega", "18 36 56.33635", "+38 47 01.2802", 0.03),
    27989: ("Betelgeuse", "05 55 10.30536", "+07 24 25.4304", 0.50),
}


@pytest.mark.parametrize("hip", sorted(FAMOUS))
def test_famous_stars_position_and_v(bright, hip):
    _, ra, dec, v = FAMOUS[hip]
    star = bright.select([bright.by_hip(hip)])
    got = SkyCoord(*star.positions_at(2000.0), unit=u.deg)
    assert got.separation(SkyCoord(ra, dec, unit=(u.hourangle, u.deg)))[0] < 2 * u.mas  # measured 0.3 mas
    assert star.vmag[0] == pytest.approx(v, abs=0.05)


# Stars with Hp > 1 (no override), of all colours: HIP -> Bright Star Catalogue V.
BSC_V = {
    102098: 1.25, 49669: 1.35, 25336: 1.64, 25428: 1.65, 54061: 1.79, 15863: 1.79, 31681: 1.93,
    46390: 1.98, 9884: 2.00, 677: 2.06, 5447: 2.06, 72607: 2.08, 86032: 2.08, 57632: 2.14,
    3179: 2.23, 87833: 2.23, 746: 2.27, 100453: 2.20, 37826: 1.14, 36850: 1.58,
}  # fmt: skip


def test_v_from_hp_matches_bright_star_catalogue(bright):
    diff = np.array([bright.vmag[bright.by_hip(h)] - v for h, v in BSC_V.items()])
    assert np.max(np.abs(diff)) < 0.05  # measured 0.03
    assert abs(np.median(diff)) < 0.02  # measured -0.006


def test_hp_to_v_transformation():
    # A0 stars: V = Hp within 0.01 (Bessell's table is 0 near B-V = -0.03); Vega's Hp gives 0.075.
    assert stars.hp_to_v(5.0, -0.03) == pytest.approx(5.0, abs=0.01)
    assert stars.hp_to_v(0.0868, -0.001) == pytest.approx(0.03, abs=0.05)
    # K giants are fainter in Hp than in V by about 0.16 (Arcturus: Hp 0.111, V -0.04).
    assert stars.hp_to_v(0.111, 1.24) == pytest.approx(-0.04, abs=0.03)
    # Beyond the table, the end value.
    assert stars.hp_to_v(5.0, 3.0) == pytest.approx(5.0 - 0.106)


def test_every_star_has_v_and_colours(bright):
    for name in ("vmag", "bv", "vi", "ra_deg", "dec_deg", "pmra_mas_yr", "pmdec_mas_yr", "parallax_mas"):
        assert np.all(np.isfinite(getattr(bright, name))), name
    assert bright.vmag.max() <= 7.5
    assert np.all(np.diff(bright.hip) > 0)


def test_star_counts_are_plausible(bright):
    assert 22_000 < len(bright) < 30_000  # measured 25,758 at V <= 7.5
    n6 = len(bright.brighter_than(6.0))
    assert 4_500 < n6 < 5_600  # measured 5,067 (the naked-eye sky: about 5,000)
    assert len(stars.load_bright_stars(6.0)) == n6


def test_barnards_star_proper_motion_against_astropy(bright):
    full = stars.load_bright_stars(10.0)  # Barnard's star is V 9.5, beyond the default limit
    assert 87937 not in bright.hip
    star = full.select([full.by_hip(87937)])
    t_obs = Time("2024-06-01T00:00:00", scale="utc")
    ra, dec = star.positions_at(t_obs)
    ref = SkyCoord(
        ra=star.ra_deg * u.deg,
        dec=star.dec_deg * u.deg,
        pm_ra_cosdec=star.pmra_mas_yr * u.mas / u.yr,
        pm_dec=star.pmdec_mas_yr * u.mas / u.yr,
        distance=Distance(parallax=star.parallax_mas * u.mas),
        radial_velocity=0 * u.km / u.s,
        obstime=Time(1991.25, format="jyear", scale="tdb"),
    ).apply_space_motion(new_obstime=t_obs)
    sep = SkyCoord(ra * u.deg, dec * u.deg).separation(ref)[0]
    assert sep < 0.1 * u.mas
    # It really moved: 10.3 arcsec/yr north over 33 years.
    assert (dec[0] - star.dec_deg[0]) * 3600 == pytest.approx(10.32812 * 33.17, rel=0.01)


def test_bright_stars_proper_motion_against_astropy(bright):
    sub = bright.brighter_than(2.5)
    ra, dec = sub.positions_at(2026.0)
    ref = SkyCoord(
        ra=sub.ra_deg * u.deg,
        dec=sub.dec_deg * u.deg,
        pm_ra_cosdec=sub.pmra_mas_yr * u.mas / u.yr,
        pm_dec=sub.pmdec_mas_yr * u.mas / u.yr,
        distance=Distance(parallax=sub.parallax_mas * u.mas),
        radial_velocity=np.zeros(len(sub)) * u.km / u.s,
        obstime=Time(1991.25, format="jyear", scale="tdb"),
    ).apply_space_motion(new_obstime=Time(2026.0, format="jyear", scale="tdb"))
    assert SkyCoord(ra * u.deg, dec * u.deg).separation(ref).max() < 0.1 * u.mas


def test_time_and_decimal_year_agree(bright):
    sub = bright.brighter_than(3.0)
    a = sub.positions_at(Time(2024.5, format="jyear", scale="tdb"))
    b = sub.positions_at(2024.5)
    np.testing.assert_allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(sub.positions_at(1991.25), (sub.ra_deg, sub.dec_deg), atol=1e-11)


def test_near_against_astropy_separation(bright):
    got = bright.near(84.0, 0.0, 12.0)
    sep = SkyCoord(bright.ra_deg, bright.dec_deg, unit=u.deg).separation(SkyCoord(84.0, 0.0, unit=u.deg))
    expected = bright.hip[sep.deg <= 12.0]
    assert len(got) > 100
    np.testing.assert_array_equal(got.hip, expected)
    assert 27989 in got.hip and 24436 in got.hip  # Betelgeuse and Rigel, in Orion
    assert len(bright.near(0.0, 90.0, 180.0)) == len(bright)
    with pytest.raises(ValueError, match="radius_deg"):
        bright.near(0.0, 0.0, -1.0)


def test_cache_gives_identical_arrays_and_is_fast(bright):
    stars._MEMO.clear()
    t0 = time.perf_counter()
    again = stars.load_bright_stars()
    elapsed = time.perf_counter() - t0
    print(f"load from cache: {elapsed * 1000:.1f} ms")  # measured 3-4 ms
    assert again is not bright
    for name in (f.name for f in dataclasses.fields(stars.StarTable)):
        np.testing.assert_array_equal(getattr(again, name), getattr(bright, name))
    assert list(stars.cache_dir().glob("hip2-*.npz"))
    assert stars.load_bright_stars() is again  # memoised in-process
    with pytest.raises(ValueError):
        again.vmag[0] = 0.0  # shared arrays are read-only


def test_cache_is_keyed_by_the_catalogue_file(tmp_path, monkeypatch):
    """A changed catalogue file is parsed again, not served from the old cache."""
    lines = stars.catalogue_path().read_bytes().splitlines(keepends=True)
    small = tmp_path / "hip2.dat"
    small.write_bytes(b"".join(lines[32000:32400]))  # includes Sirius (HIP 32349)
    monkeypatch.setattr(stars, "catalogue_path", lambda: small)
    monkeypatch.setenv("SKYTRAIL_CACHE_DIR", str(tmp_path / "cache"))
    first = stars.load_bright_stars()
    assert 32349 in first.hip and len(first) < 400
    small.write_bytes(b"".join(lines[32000:32100]))
    os.utime(small, ns=(1, 1))
    second = stars.load_bright_stars()
    assert len(second) < len(first)
    assert len(list((tmp_path / "cache").glob("hip2-*.npz"))) == 2


def test_bad_catalogue_file_is_reported(tmp_path):
    bad = tmp_path / "hip2.dat"
    shutil.copyfile(stars.catalogue_path(), bad)
    with open(bad, "r+b") as fh:
        fh.truncate(277 * 10 + 5)
    with pytest.raises(stars.CatalogueFormatError, match="277-byte lines"):
        stars.parse_hip2(bad)
    good_line = stars.catalogue_path().read_bytes()[:277]
    bad.write_bytes(good_line[:130] + b"x" + good_line[131:])
    with pytest.raises(stars.CatalogueFormatError, match="hp"):
        stars.parse_hip2(bad)


def test_table_validation():
    with pytest.raises(ValueError, match="ra_deg: length"):
        stars.StarTable(
            hip=[1, 2], ra_deg=[0.0], dec_deg=[0.0, 0.0], pmra_mas_yr=[0, 0], pmdec_mas_yr=[0, 0],
            parallax_mas=[1, 1], vmag=[1, 1], bv=[0, 0], vi=[0, 0],
        )  # fmt: skip
