"""compute_orbit on simulated shower meteors, a real fireball's reference answer, and MC runs.

References: the orbits of well-known streams (Jenniskens 2006; IAU MDC: Perseids q 0.95 AU,
i 113 deg, node 139.5-140, peri 150-151; Geminids q 0.14, e 0.89, i 23-24, peri 324; Orionids
i 164, q 0.57-0.58), and WesternMeteorPyLib's orbit for the CMN fireball of 2017-03-05
(../shared/refdata/README.md, read when present).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from cloud_bridge.orbit import Orbit, compute_orbit, orbit_from_geocentric, orbit_uncertainty
from edge.catalogue.showers import get_shower, time_of_solar_longitude
from edge.geometry.celestial import icrs_to_altaz, to_time
from edge.geometry.earth import Site, geodetic_to_ecef
from edge.geometry.radiant import entry_velocity_ecef

REPO_ROOT = Path(__file__).resolve().parents[3]
REFDATA_README = REPO_ROOT.parent / "shared" / "refdata" / "README.md"


def _wrap(x):
    return (np.asarray(x) + 180.0) % 360.0 - 180.0


def shower_state(code: str, year: int = 2026, lat_deg: float = 45.0):
    """A meteor of shower `code` at its peak, begin point 100 km above lat_deg at the longitude
    where its radiant stands highest: (position_ecef_m, velocity_ecef_ms, t_unix)."""
    s = get_shower(code)
    t = time_of_solar_longitude(s.sol_peak_deg, year)
    lons = np.arange(-180.0, 180.0, 10.0)
    alts = [float(icrs_to_altaz(s.ra_deg, s.dec_deg, t, Site(lat_deg, lon, 0.0))[0]) for lon in lons]
    best = float(lons[int(np.argmax(alts))])
    p = geodetic_to_ecef(lat_deg, best, 100e3)
    v = entry_velocity_ecef(s.ra_deg, s.dec_deg, s.v_g_kms, t, p)
    return p, v, t.unix


# (expected, tolerance) per stream; the tolerances allow for our table's rounded radiants and v_g
STREAMS = {
    "PER": ({"q_au": 0.95, "i_deg": 113.0, "node_deg": 139.8, "peri_deg": 150.5},
            {"q_au": 0.01, "i_deg": 1.5, "node_deg": 0.7, "peri_deg": 2.0}),
    "GEM": ({"q_au": 0.14, "e": 0.89, "i_deg": 23.5, "node_deg": 261.5, "peri_deg": 324.3},
            {"q_au": 0.025, "e": 0.02, "i_deg": 2.0, "node_deg": 1.0, "peri_deg": 3.0}),
    "ORI": ({"q_au": 0.575, "i_deg": 164.0, "node_deg": 28.3, "peri_deg": 82.5},
            {"q_au": 0.02, "i_deg": 1.0, "node_deg": 1.0, "peri_deg": 2.5}),
}  # fmt: skip


@pytest.mark.parametrize("code", sorted(STREAMS))
def test_shower_meteors_have_their_streams_orbits(code):
    expected, tolerance = STREAMS[code]
    p, v, t = shower_state(code)
    o = compute_orbit(p, v, t)
    for name, value in expected.items():
        got = getattr(o, name)
        diff = _wrap(got - value) if name.endswith("_deg") else got - value
        assert abs(diff) <= tolerance[name], f"{code} {name}: {got:.4f} vs {value}"
    # and the geocentric part reproduces what the meteor was made from
    s = get_shower(code)
    assert o.ra_g_deg == pytest.approx(s.ra_deg, abs=1e-7)
    assert o.dec_g_deg == pytest.approx(s.dec_deg, abs=1e-7)
    assert o.v_g_kms == pytest.approx(s.v_g_kms, rel=1e-9)
    assert o.solar_longitude_deg == pytest.approx(s.sol_peak_deg, abs=1e-5)
    assert o.zenith_attraction_deg >= 0 and o.v_inf_kms > o.v_g_kms


def test_perseid_is_a_long_period_comet_orbit():
    o = compute_orbit(*shower_state("PER"))
    assert 0.9 < o.e < 1.0 and o.a_au > 8.0
    assert o.period_yr == pytest.approx(o.a_au**1.5, rel=1e-4)
    assert o.tisserand_j < 2.0  # Halley-type
    assert 40.0 < o.v_h_kms < 42.2  # bound: below the parabolic speed at 1 AU
    d = o.to_dict()
    assert d["valid"] is True and isinstance(d["q_au"], float)


def test_geocentric_entry_equals_ecef_entry():
    p, v, t = shower_state("GEM")
    a = compute_orbit(p, v, t)
    s = get_shower("GEM")
    b = orbit_from_geocentric(s.ra_deg, s.dec_deg, s.v_g_kms, t, position_ecef_m=p)
    for name in ("a_au", "e", "i_deg", "node_deg", "peri_deg", "q_au", "tisserand_j"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-8, abs=1e-8), name


def _reference_orbit() -> dict[str, float]:
    text = REFDATA_README.read_text()
    pattern = (
        r"orbit a {n} AU, e {n}, i {n} deg, node {n} deg, peri {n} deg, q {n} AU, Tisserand \(Jupiter\) {n}"
    )
    m = re.search(pattern.replace("{n}", r"(\d+(?:\.\d+)?)"), text)
    assert m, "reference orbit not found in the README"
    keys = ("a_au", "e", "i_deg", "node_deg", "peri_deg", "q_au", "tisserand_j")
    return dict(zip(keys, map(float, m.groups()), strict=True))


@pytest.mark.skipif(not REFDATA_README.is_file(), reason=f"reference data absent: {REFDATA_README}")
def test_cmn_fireball_orbit_matches_the_reference_solver():
    """Given the reference solver's geocentric radiant and v_g (and its begin point), the heliocentric
    elements must match its answer: measured a -0.0001 AU, e 0.00000, i -0.0001 deg,
    node -0.0006 deg, peri +0.0001 deg, q 0.00000 AU, T_J -0.0001."""
    ref = _reference_orbit()
    begin = geodetic_to_ecef(46.2343, 15.6934, 78.15e3)
    t = to_time("2017-03-05T22:50:00Z").unix
    o = orbit_from_geocentric(56.545, 10.703, 8.678, t, position_ecef_m=begin)
    assert o.a_au == pytest.approx(ref["a_au"], rel=0.002)
    assert o.e == pytest.approx(ref["e"], abs=0.0005)
    assert o.q_au == pytest.approx(ref["q_au"], abs=0.0002)
    assert o.tisserand_j == pytest.approx(ref["tisserand_j"], abs=0.002)
    for name in ("i_deg", "node_deg", "peri_deg"):
        assert abs(_wrap(getattr(o, name) - ref[name])) < 0.01, name
    # without the meteoroid's offset from the geocentre the node moves by 0.04 deg (i is 2 deg)
    o0 = orbit_from_geocentric(56.545, 10.703, 8.678, t)
    assert 0.01 < abs(_wrap(o0.node_deg - ref["node_deg"])) < 0.1


def test_hyperbolic_meteoroid_gives_nan_aphelion_and_period():
    # an Orionid made 5 km/s faster than parabolic: e > 1
    p, v, t = shower_state("ORI")
    o = compute_orbit(p, v * 1.12, t)
    assert o.e > 1.0 and o.a_au < 0.0
    assert np.isnan(o.Q_au) and np.isnan(o.period_yr)
    assert np.isfinite(o.tisserand_j) and np.isfinite(o.mean_anomaly_deg)
    assert o.to_dict()["Q_au"] is None


def test_monte_carlo_rows_and_bad_states():
    p, v, t = shower_state("PER")
    rng = np.random.default_rng(5)
    n = 60
    pos = p + rng.normal(0, 50.0, (n, 3))
    vel = v + rng.normal(0, 40.0, (n, 3))
    vel[3] = np.nan  # a failed run
    vel[7] = -vel[7]  # going up
    runs = compute_orbit(pos, vel, t)
    assert runs.n_runs == n and runs.valid.sum() == n - 2
    assert np.isnan(runs.q_au[3]) and np.isnan(runs.q_au[7])
    single = compute_orbit(p, v, t)
    assert np.nanmedian(runs.q_au) == pytest.approx(single.q_au, abs=2e-3)
    sig = orbit_uncertainty(runs)
    assert 0 < sig["q_au"] < 0.01 and 0 < sig["radiant_deg"] < 0.5
    with pytest.raises(ValueError, match="points up"):
        compute_orbit(p, -v, t)
    with pytest.raises(ValueError, match="finite"):
        compute_orbit(p, np.array([np.nan, 0, 0]), t)
    with pytest.raises(ValueError, match="inside the Earth"):
        compute_orbit(np.full((2, 3), 1e6), np.full((2, 3), -1e4), t)
    with pytest.raises(ValueError, match="shapes"):
        compute_orbit(p, np.zeros((2, 3)), t)
    with pytest.raises(ValueError, match="one instant"):
        compute_orbit(p, v, [t, t])


def test_uncertainty_matches_the_scatter_and_wraps_angles():
    rng = np.random.default_rng(6)
    n = 4000
    base = orbit_from_geocentric(np.full(n, 10.0), np.full(n, 20.0), np.full(n, 30.0), 1.7e9)
    values = {f: getattr(base, f) for f in base.__dataclass_fields__}
    values["q_au"] = 0.5 + rng.normal(0, 0.01, n)
    values["node_deg"] = (rng.normal(0, 0.3, n)) % 360.0  # straddles 0/360
    values["ra_g_deg"] = (359.9 + rng.normal(0, 0.2, n)) % 360.0
    values["dec_g_deg"] = 60.0 + rng.normal(0, 0.1, n)
    values["q_au"][:100] = 50.0  # outliers a robust sigma ignores
    fake = Orbit(**values)
    sig = orbit_uncertainty(fake)
    assert sig["q_au"] == pytest.approx(0.0103, rel=0.08)  # 0.01 stretched slightly by the outliers
    assert sig["node_deg"] == pytest.approx(0.3, rel=0.08)
    assert sig["radiant_deg"] == pytest.approx(np.hypot(0.2 * 0.5, 0.1), rel=0.08)
    assert orbit_uncertainty(fake, method="std")["q_au"] > 1.0  # the plain std is not robust
    with pytest.raises(ValueError, match="single orbit"):
        orbit_uncertainty(orbit_from_geocentric(10.0, 20.0, 30.0, 1.7e9))


IAU_MDC = REPO_ROOT.parent / "shared" / "refdata" / "showers" / "iau_mdc_streamfulldata.csv"


@pytest.mark.skipif(not IAU_MDC.is_file(), reason=f"IAU MDC reference list absent: {IAU_MDC}")
def test_table_shower_orbits_match_the_iau_mdc_elements():
    """Our table's radiant and v_g at the peak, through orbit_from_geocentric, against the median of the
    MDC's established solutions (measured: q within 0.006 AU, i 1.0 deg, node 2.5 deg for these; the
    Taurids, Geminids and Comae Berenicids of our table differ more because their rows differ)."""
    from edge.catalogue.showers import load_iau_mdc

    sols = load_iau_mdc(IAU_MDC)
    for code in ("QUA", "LYR", "PER", "DRA", "ORI", "AUR", "CAP", "HYD", "KCG"):
        s = get_shower(code)
        o = orbit_from_geocentric(
            s.ra_deg, s.dec_deg, s.v_g_kms, time_of_solar_longitude(s.sol_peak_deg, 2026).unix
        )
        mdc = [
            m
            for m in sols
            if m.code == code and m.status == 1 and np.isfinite(m.q_au) and np.isfinite(m.incl_deg)
        ]
        assert abs(o.q_au - np.median([m.q_au for m in mdc])) < 0.015, code
        assert abs(o.i_deg - np.median([m.incl_deg for m in mdc])) < 2.0, code
        assert abs(_wrap(o.node_deg - np.median([m.node_deg for m in mdc]))) < 3.0, code
