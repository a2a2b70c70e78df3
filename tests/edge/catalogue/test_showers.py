"""Tests for edge.catalogue.showers: the shower table, the IAU MDC reader, solar longitude.

References: the IAU Meteor Data Center list (read from ../shared/refdata when present, never
copied), Meeus' low-precision solar theory (Astronomical Algorithms ch. 25, ~0.01 deg), and
peak times published in the IMO Meteor Shower Calendar.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.time import Time

from edge.catalogue.showers import (
    Shower,
    get_shower,
    load_iau_mdc,
    load_showers,
    read_showers_csv,
    solar_longitude_deg,
    time_of_solar_longitude,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
IAU_MDC = REPO_ROOT.parent / "shared" / "refdata" / "showers" / "iau_mdc_streamfulldata.csv"
needs_mdc = pytest.mark.skipif(
    not IAU_MDC.is_file(), reason=f"IAU MDC reference list not present at {IAU_MDC} (../shared/refdata)"
)

REQUIRED = {"QUA", "LYR", "ETA", "SDA", "CAP", "PER", "DRA", "ORI", "LEO", "NTA", "STA", "GEM", "URS"}


def _sep_deg(ra1, dec1, ra2, dec2):
    ra1, dec1, ra2, dec2 = map(np.radians, (ra1, dec1, ra2, dec2))
    c = np.sin(dec1) * np.sin(dec2) + np.cos(dec1) * np.cos(dec2) * np.cos(ra1 - ra2)
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


# --------------------------------------------------------------------------------------------
# the table


def test_table_has_the_required_showers_and_sane_values():
    showers = load_showers()
    assert REQUIRED <= set(showers)
    assert load_showers() is showers  # cached
    for code, s in showers.items():
        assert s.code == code
        assert s.is_active(s.sol_peak_deg), code
        assert 11.0 <= s.v_g_kms <= 72.5, code
        assert s.source, code
        span = (s.sol_end_deg - s.sol_begin_deg) % 360.0
        assert 2.0 <= span <= 80.0, code
        assert abs(s.dra_deg_per_sol) < 2.0 and abs(s.ddec_deg_per_sol) < 1.0, code
    assert len({s.iau_no for s in showers.values()}) == len(showers)


def test_get_shower_and_unknown_code():
    assert get_shower("gem").name == "Geminids"
    with pytest.raises(ValueError, match=r"unknown shower code 'XYZ'; known: .*GEM"):
        get_shower("XYZ")


def test_radiant_drift():
    per = get_shower("PER")
    assert per.radiant_at(per.sol_peak_deg) == pytest.approx((per.ra_deg, per.dec_deg))
    ra, dec = per.radiant_at(per.sol_peak_deg - 10.0)
    assert ra == pytest.approx(per.ra_deg - 10.0 * per.dra_deg_per_sol)
    assert dec == pytest.approx(per.dec_deg - 10.0 * per.ddec_deg_per_sol)
    ra, dec = per.radiant_at(np.array([130.0, 140.0, 150.0]))
    assert ra.shape == (3,) and np.all(np.diff(ra) > 0)


def test_activity_window_wraps_through_zero():
    s = Shower(0, "TST", "test", 350.0, 2.0, 10.0, 0.0, 0.0, 1.0, 0.0, 30.0, 1.0, 3.0, "test")
    assert s.is_active(355.0) and s.is_active(5.0) and not s.is_active(20.0)
    assert s.radiant_at(352.0)[0] == pytest.approx(350.0)  # 10 deg of sol before the peak, wrapped


def test_bad_table_rows_name_the_field(tmp_path):
    header = (
        "iau_no,code,name,sol_begin_deg,sol_peak_deg,sol_end_deg,ra_deg,dec_deg,dra_deg_per_sol,"
        "ddec_deg_per_sol,v_g_kms,zhr,radiant_spread_deg,source\n"
    )
    p = tmp_path / "s.csv"
    p.write_text(header + "4,GEM,Geminids,250,262.2,268,112,33,,,95,150,3,x\n")
    with pytest.raises(ValueError, match="v_g_kms"):
        read_showers_csv(p)
    p.write_text(header + "4,GEM,Geminids,250,262.2,268,abc,33,,,34,150,3,x\n")
    with pytest.raises(ValueError, match="ra_deg"):
        read_showers_csv(p)


# --------------------------------------------------------------------------------------------
# against the IAU MDC list

# KCG: our v_g (22.5 km/s) is the IMO calendar's V_inf = 25 km/s reduced to v_g; the MDC's
# photographic (Cook 1973) and IMO solutions give ~10.2 % more (apparently V_inf), CAMS ~7 % less
# with a radiant 8 deg away (the kappa Cygnid complex is broad). Allowed 12 %, stated here.
VG_TOLERANCE = {"KCG": 0.12}
RADIANT_TOLERANCE_DEG = 3.0


@needs_mdc
def test_every_shower_matches_an_iau_mdc_solution():
    mdc = load_iau_mdc(IAU_MDC)
    assert len(mdc) > 1000
    failures = []
    for code, s in load_showers().items():
        rows = [m for m in mdc if m.code == code]
        assert rows, f"{code}: not in the IAU MDC list"
        assert {m.iau_no for m in rows} == {s.iau_no}, f"{code}: IAU number differs"
        assert any(m.status == 1 for m in rows), f"{code}: not an established shower in the MDC"
        ok = False
        for m in rows:
            if np.isnan(m.ra_deg) or np.isnan(m.v_g_kms):
                continue
            # compare at the MDC solution's solar longitude when it falls in our activity window
            ra, dec = s.radiant_at(m.sol_deg) if s.is_active(m.sol_deg) else (s.ra_deg, s.dec_deg)
            close = _sep_deg(ra, dec, m.ra_deg, m.dec_deg) < RADIANT_TOLERANCE_DEG
            same_speed = abs(m.v_g_kms / s.v_g_kms - 1.0) < VG_TOLERANCE.get(code, 0.10)
            ok |= bool(close and same_speed)
        if not ok:
            failures.append(code)
    assert not failures, f"no IAU MDC solution within {RADIANT_TOLERANCE_DEG} deg and 10 % v_g: {failures}"


@needs_mdc
def test_iau_mdc_reader_fields():
    mdc = load_iau_mdc(IAU_MDC)
    gem = [m for m in mdc if m.code == "GEM"]
    assert all(m.iau_no == 4 and m.name.startswith("Geminids") for m in gem)
    assert all(0 <= m.ra_deg < 360 and -90 <= m.dec_deg <= 90 for m in gem if not np.isnan(m.ra_deg))
    assert any("Jenniskens" in m.reference and "<" not in m.reference for m in gem)
    assert any(np.isnan(m.a_au) for m in mdc)  # blank fields read as NaN


def test_iau_mdc_reader_is_robust(tmp_path):
    line = (
        "1|4|0|GEM|Geminids | annual |1|262.2|112.3|32.5|1.0|-0.15|33.8| |0.14|0.89|324|262|23|50|0|0|"
        "3200 Phaethon| |  |1) <a href='x'>Someone, 2000</a>"
    )
    p = tmp_path / "mdc.csv"
    p.write_text("# a comment\n\n:LP|IAUNo|...\n" + line + "\n")
    (row,) = load_iau_mdc(p)
    assert (row.code, row.iau_no, row.status, row.ra_deg, row.v_g_kms) == ("GEM", 4, 1, 112.3, 33.8)
    assert np.isnan(row.a_au) and row.reference == "1) Someone, 2000" and row.parent_body == "3200 Phaethon"
    p.write_text("1|4|0|GEM|Geminids\n")
    with pytest.raises(ValueError, match="line 1"):
        load_iau_mdc(p)


# --------------------------------------------------------------------------------------------
# solar longitude


def _meeus_solar_longitude_j2000(t: Time) -> np.ndarray:
    """Meeus, Astronomical Algorithms ch. 25 (low accuracy, ~0.01 deg): true longitude of date, less
    aberration (20.5"), referred to the J2000 equinox with his -0.01397 deg/yr (no nutation)."""
    T = (t.tt.jd - 2451545.0) / 36525.0
    L0 = 280.46646 + 36000.76983 * T + 0.0003032 * T**2
    M = np.radians(357.52911 + 35999.05029 * T - 0.0001537 * T**2)
    C = (
        (1.914602 - 0.004817 * T - 0.000014 * T**2) * np.sin(M)
        + (0.019993 - 0.000101 * T) * np.sin(2 * M)
        + 0.000289 * np.sin(3 * M)
    )
    return (L0 + C - 0.00569 - 0.01397 * 100.0 * T) % 360.0


def test_solar_longitude_matches_meeus():
    t = Time(2451544.5 + np.linspace(0.0, 40 * 365.25, 400), format="jd", scale="tt")  # 2000..2040
    diff = (solar_longitude_deg(t) - _meeus_solar_longitude_j2000(t) + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(diff)) < 0.015  # Meeus is good to ~0.01 deg; measured max 0.0096, mean -0.0025


@pytest.mark.parametrize(
    ("sol", "year", "expected_utc"),
    [
        # IMO Meteor Shower Calendar peak times (to the hour) for these solar longitudes
        (283.15, 2023, "2023-01-04T03:00"),  # Quadrantids
        (283.15, 2024, "2024-01-04T09:00"),  # Quadrantids
        (262.2, 2023, "2023-12-14T19:00"),  # Geminids
    ],
)
def test_time_of_solar_longitude_known_peaks(sol, year, expected_utc):
    t = time_of_solar_longitude(sol, year)
    assert abs((t - Time(expected_utc, scale="utc")).to_value("hour")) < 1.0
    assert solar_longitude_deg(t) == pytest.approx(sol, abs=1e-7)


def test_perseid_and_geminid_peaks_fall_on_their_dates():
    for year in (2021, 2022, 2023, 2024, 2025):
        per = time_of_solar_longitude(140.0, year)
        assert Time(f"{year}-08-12T00:00") < per < Time(f"{year}-08-14T00:00")
        gem = time_of_solar_longitude(262.2, year)
        assert Time(f"{year}-12-13T12:00") < gem < Time(f"{year}-12-15T00:00")


def test_time_of_solar_longitude_near_the_year_boundary_and_errors():
    # 2024 has 366 days (360.74 deg of solar longitude): lon0 + 0.1 occurs twice, the first is returned
    lon0 = solar_longitude_deg(Time("2024-01-01T00:00:00"))
    assert time_of_solar_longitude(lon0 + 0.1, 2024).utc.iso.startswith("2024-01-01")
    assert time_of_solar_longitude(lon0 - 0.1, 2024).utc.iso.startswith("2024-12-31")
    # 2023 has 365 days (359.76 deg): lon0 - 0.1 does not occur in it; the next occurrence is given
    lon0 = solar_longitude_deg(Time("2023-01-01T00:00:00"))
    assert time_of_solar_longitude(lon0 - 0.1, 2023).utc.iso.startswith("2024-01-01")
    with pytest.raises(ValueError, match="sol_deg"):
        time_of_solar_longitude(float("nan"), 2023)
    with pytest.raises(ValueError, match="year"):
        time_of_solar_longitude(100.0, 2023.5)
