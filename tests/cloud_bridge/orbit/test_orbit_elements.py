"""Keplerian elements and the heliocentric state against independent computations.

References: textbook element formulas written here separately (arccos forms with quadrant
checks, as in Bate, Mueller & White ch. 2), the inverse map elements -> state through the
perifocal frame, and astropy's own Earth ephemeris path (get_body_barycentric_posvel with the
built-in ephemeris) rotated to the ecliptic with the IAU 2006 J2000 obliquity.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import get_body_barycentric_posvel, solar_system_ephemeris

from cloud_bridge.orbit import (
    AU_M,
    GM_SUN_AU3_D2,
    earth_heliocentric_state,
    orbit_from_geocentric,
    state_to_elements,
)
from edge.geometry.celestial import to_time

MU = GM_SUN_AU3_D2


def textbook_elements(r, v, mu=MU):
    """Classical elements of one state with arccos formulas (independent of the module's arctan2 ones)."""
    r, v = np.asarray(r, float), np.asarray(v, float)
    rn, vn = np.linalg.norm(r), np.linalg.norm(v)
    a = 1.0 / (2.0 / rn - vn**2 / mu)  # vis-viva
    h = np.cross(r, v)
    hn = np.linalg.norm(h)
    e_vec = ((vn**2 - mu / rn) * r - np.dot(r, v) * v) / mu
    e = np.linalg.norm(e_vec)
    i = np.degrees(np.arccos(h[2] / hn))
    n = np.array([-h[1], h[0], 0.0])
    nn = np.linalg.norm(n)
    node = np.degrees(np.arccos(n[0] / nn))
    if n[1] < 0:
        node = 360.0 - node
    peri = np.degrees(np.arccos(np.dot(n, e_vec) / (nn * e)))
    if e_vec[2] < 0:
        peri = 360.0 - peri
    nu = np.degrees(np.arccos(np.clip(np.dot(e_vec, r) / (e * rn), -1, 1)))
    if np.dot(r, v) < 0:
        nu = 360.0 - nu
    return {"a_au": a, "e": e, "i_deg": i, "node_deg": node, "peri_deg": peri, "true_anomaly_deg": nu,
            "q_au": a * (1 - e)}  # fmt: skip


def rot3(angle_deg):
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def rot1(angle_deg):
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def elements_to_state(el, mu=MU):
    """Position and velocity from elements through the perifocal frame (conic equation)."""
    p = el["p_au"]
    e, nu = el["e"], np.radians(el["true_anomaly_deg"])
    r_pf = p / (1 + e * np.cos(nu)) * np.array([np.cos(nu), np.sin(nu), 0.0])
    v_pf = np.sqrt(mu / p) * np.array([-np.sin(nu), e + np.cos(nu), 0.0])
    m = rot3(el["node_deg"]) @ rot1(el["i_deg"]) @ rot3(el["peri_deg"])
    return m @ r_pf, m @ v_pf


def _random_states(rng, n):
    r = rng.normal(size=(n, 3))
    r *= (rng.uniform(0.3, 1.5, n) / np.linalg.norm(r, axis=1))[:, None]
    v_circ = np.sqrt(MU / np.linalg.norm(r, axis=1))
    v = rng.normal(size=(n, 3))
    v *= (rng.uniform(0.3, 1.6, n) * v_circ / np.linalg.norm(v, axis=1))[:, None]  # ellipses and hyperbolas
    return r, v


def test_elements_agree_with_textbook_formulas_for_ellipses_and_hyperbolas():
    rng = np.random.default_rng(3)
    r, v = _random_states(rng, 200)
    el = state_to_elements(r, v, MU)
    assert np.any(el["e"] > 1) and np.any(el["e"] < 1)
    for k in range(len(r)):
        ref = textbook_elements(r[k], v[k])
        assert el["a_au"][k] == pytest.approx(ref["a_au"], rel=1e-9)
        assert el["e"][k] == pytest.approx(ref["e"], rel=1e-9, abs=1e-12)
        assert el["q_au"][k] == pytest.approx(ref["q_au"], rel=1e-8)
        for name in ("i_deg", "node_deg", "peri_deg", "true_anomaly_deg"):
            diff = (el[name][k] - ref[name] + 180.0) % 360.0 - 180.0
            assert abs(diff) < 1e-6, (name, k, el[name][k], ref[name])


def test_elements_round_trip_through_the_perifocal_frame():
    rng = np.random.default_rng(4)
    r, v = _random_states(rng, 100)
    el = state_to_elements(r, v, MU)
    for k in range(len(r)):
        one = {key: val[k] for key, val in el.items()}
        r_back, v_back = elements_to_state(one)
        np.testing.assert_allclose(r_back, r[k], atol=1e-12)
        np.testing.assert_allclose(v_back, v[k], atol=1e-14)


def test_open_orbits_and_mean_anomaly():
    r = np.array([1.0, 0.0, 0.0])
    v_circ = np.sqrt(MU)
    # ellipse at perihelion, parabola, hyperbola
    el = state_to_elements(
        np.tile(r, (3, 1)), np.array([[0, 1.2, 0], [0, np.sqrt(2), 0], [0, 1.6, 0.1]]) * v_circ, MU
    )
    assert el["e"][0] == pytest.approx(0.44, rel=1e-9) and el["a_au"][0] > 0
    assert el["mean_anomaly_deg"][0] == pytest.approx(0.0, abs=1e-9)
    assert el["e"][1] == pytest.approx(1.0, abs=1e-12)
    assert el["a_au"][1] > 1e9 or np.isinf(el["a_au"][1])
    assert el["e"][2] > 1 and el["a_au"][2] < 0
    assert np.all(np.isnan(el["Q_au"][1:])) and np.all(np.isnan(el["period_days"][1:]))
    assert np.all(np.isfinite(el["tisserand_j"]))
    # the elliptic period is Kepler's third law (one year at 1 AU up to the Earth's mass)
    el1 = state_to_elements(r, np.array([0, 1.0, 0]) * v_circ, MU)
    assert el1["period_days"] == pytest.approx(365.2569, rel=2e-5)
    # mean anomaly from Kepler's equation, checked by solving it back
    el2 = state_to_elements(np.array([0.2, 1.1, 0.05]), np.array([-1.1, 0.3, 0.1]) * v_circ, MU)
    e, m = el2["e"], np.radians(el2["mean_anomaly_deg"])
    ecc = m
    for _ in range(50):
        ecc = ecc - (ecc - e * np.sin(ecc) - m) / (1 - e * np.cos(ecc))
    nu = 2 * np.arctan2(np.sqrt(1 + e) * np.sin(ecc / 2), np.sqrt(1 - e) * np.cos(ecc / 2))
    assert np.degrees(nu) % 360 == pytest.approx(el2["true_anomaly_deg"], abs=1e-8)


@pytest.mark.filterwarnings("ignore:.*dubious year")
def test_earth_ephemeris_matches_astropy_builtin():
    t = to_time("2024-08-12T21:00:00Z")
    with solar_system_ephemeris.set("builtin"):
        pe, ve = get_body_barycentric_posvel("earth", t)
        ps, vs = get_body_barycentric_posvel("sun", t)
    r_ref = (pe - ps).xyz.to_value("AU")
    v_ref = (ve - vs).xyz.to_value("AU/d")
    r, v = earth_heliocentric_state(t)
    np.testing.assert_allclose(r, r_ref, atol=1e-10)  # 15 m
    np.testing.assert_allclose(v, v_ref, atol=1e-12)
    with pytest.raises(ValueError, match="1900..2100"):
        earth_heliocentric_state("2150-01-01T00:00:00Z")


def test_made_up_meteoroid_against_an_independent_heliocentric_computation():
    """A meteoroid from an arbitrary radiant: astropy's Earth state, a plain obliquity rotation and
    textbook elements must give the module's orbit."""
    t = to_time("2021-10-21T03:00:00Z")
    ra, dec, v_g = 201.3, -23.7, 27.4
    with solar_system_ephemeris.set("builtin"):
        pe, ve = get_body_barycentric_posvel("earth", t)
        ps, vs = get_body_barycentric_posvel("sun", t)
    r_eq = (pe - ps).xyz.to_value("AU")
    u = np.array([np.cos(np.radians(dec)) * np.cos(np.radians(ra)),
                  np.cos(np.radians(dec)) * np.sin(np.radians(ra)), np.sin(np.radians(dec))])  # fmt: skip
    v_eq = (ve - vs).xyz.to_value("AU/d") - v_g * 1e3 * 86400.0 / AU_M * u
    eps = np.radians(84381.406 / 3600.0)
    to_ecl = rot1(-np.degrees(eps))
    ref = textbook_elements(to_ecl @ r_eq, to_ecl @ v_eq)
    o = orbit_from_geocentric(ra, dec, v_g, t.unix)
    assert o.a_au == pytest.approx(ref["a_au"], rel=1e-6)
    assert o.e == pytest.approx(ref["e"], rel=1e-6)
    assert o.q_au == pytest.approx(ref["q_au"], rel=1e-6)
    for name in ("i_deg", "node_deg", "peri_deg", "true_anomaly_deg"):
        assert getattr(o, name) == pytest.approx(ref[name], abs=1e-4), name  # frame bias is 23 mas
    assert o.v_h_kms == pytest.approx(np.linalg.norm(v_eq) * AU_M / 86400.0 / 1e3, rel=1e-9)
