"""ADS-B encoder and decoder against pyModeS and 2,000 recorded real messages (flight EZY85MH)."""

import csv
import math
from pathlib import Path

import numpy as np
import pyModeS
import pytest

from edge.adsb import encode
from edge.adsb.beast import BeastParser, encode_frame, timestamp_12mhz_of
from edge.adsb.decode import BARO_HEIGHT_SIGMA_M, FT_M, GNSS_HEIGHT_SIGMA_M, AdsbDecoder, clean_callsign
from edge.geometry.earth import Site, geodetic_to_ecef

REFDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "refdata" / "adsb" / "sample_data_adsb.csv"


@pytest.fixture(scope="module")
def recorded():
    if not REFDATA.exists():
        pytest.skip(f"recorded ADS-B sample not available ({REFDATA}: ../shared is absent)")
    with open(REFDATA, newline="") as f:
        return [(float(r[0]), r[1], r[2], int(r[3])) for r in csv.reader(f)]


def _decode_through_beast(rows, reference=None):
    """Wrap messages in Beast frames (12 MHz counter from the recorded times), parse, decode."""
    data = b"".join(encode_frame(m, timestamp_12mhz_of(t - rows[0][0] + 1.0), 100) for t, m, *_ in rows)
    parser = BeastParser()
    frames = [f for k in range(0, len(data), 1000) for f in parser.feed(data[k : k + 1000])]
    decoder = AdsbDecoder(reference=reference)
    fixes = []
    for f in frames:
        fix = decoder.decode(f.hex, rows[0][0] - 1.0 + f.timestamp_s)
        if fix is not None:
            fixes.append(fix)
    return frames, decoder, fixes


def test_recorded_messages_decode_to_a_continuous_track(recorded):
    frames, decoder, fixes = _decode_through_beast(recorded)
    assert len(frames) == len(recorded) == 2000
    assert [f.hex for f in frames] == [m for _, m, *_ in recorded]
    assert decoder.stats.crc_failed == 0 and decoder.stats.invalid == 0
    info = decoder.aircraft["406b90"]
    assert info.callsign == "EZY85MH"
    assert len(fixes) >= 929  # of 937 position messages; the first few are held while pyModeS bootstraps
    t = np.array([f.t_unix for f in fixes])
    lat = np.array([f.lat_deg for f in fixes])
    lon = np.array([f.lon_deg for f in fixes])
    alt = np.array([f.baro_alt_m for f in fixes])
    assert np.all((lat > 45) & (lat < 56) & (lon > -5) & (lon < 15))  # over western Europe
    assert np.all((alt > 5000) & (alt < 13000))
    xyz = geodetic_to_ecef(lat, lon, alt)
    step = np.linalg.norm(np.diff(xyz, axis=0), axis=1)
    # recorded times are whole seconds and rows within a second are not in time order: allow
    # the ground speed over (gap + 2 s), plus 100 m (the broadcast's NUCp 7 containment is 185 m)
    speed_ms = (info.ground_speed_ms or 0) * 1.2
    assert speed_ms > 200.0
    assert np.all(step <= speed_ms * (np.diff(t) + 2.0) + 100.0)
    assert np.median(step / np.maximum(np.diff(t), 1.0)) < speed_ms
    # and the path covers the ~730 s at the decoded speed (no stalls)
    every_20s = np.searchsorted(t, np.arange(t[0], t[-1], 20.0))
    track_len = np.linalg.norm(np.diff(xyz[every_20s], axis=0), axis=1).sum() + np.linalg.norm(
        xyz[-1] - xyz[every_20s[-1]]
    )
    t_len = t[-1] - t[0]
    assert track_len == pytest.approx(info.ground_speed_ms * t_len, rel=0.05)


def test_station_reference_resolves_the_first_frames(recorded):
    site = Site(51.0, 7.5, 100.0)
    _, decoder, fixes = _decode_through_beast(recorded, reference=site)
    assert decoder.stats.positions_by_reference >= 1
    assert len(fixes) >= 930


def test_encoder_reproduces_recorded_messages_bit_for_bit(recorded):
    position = ident = velocity = 0
    for _, msg, icao, tc in recorded:
        d = pyModeS.decode(msg, reference=(51.1, 7.2))
        if tc == 11:
            again = encode.airborne_position(
                icao, d["latitude"], d["longitude"], d["altitude"], d["cpr_format"] == 1
            )
            assert again == msg
            position += 1
        elif tc == 4:
            assert encode.identification(icao, d["callsign"], category=d["category"]) == msg
            ident += 1
        elif tc == 19:
            # speed and track come back rounded: re-encode and compare decoded values
            v_e = d["groundspeed"] * math.sin(math.radians(d["track"]))
            v_n = d["groundspeed"] * math.cos(math.radians(d["track"]))
            again = pyModeS.decode(
                encode.airborne_velocity(icao, v_e, v_n, d["vertical_rate"], d["geo_minus_baro"], d["nac_v"])
            )
            assert abs(again["groundspeed"] - d["groundspeed"]) <= 1
            assert abs((again["track"] - d["track"] + 180) % 360 - 180) < 0.2
            assert again["vertical_rate"] == d["vertical_rate"]
            assert again["geo_minus_baro"] == d["geo_minus_baro"]
            velocity += 1
    assert (position, ident, velocity) == (937, 98, 965)


@pytest.mark.parametrize(
    "lat, lon", [(40.45, 116.6), (-33.9, 151.2), (0.01, -0.01), (69.9, -179.99), (51.5, 0.0)]
)
def test_cpr_round_trip_to_a_few_metres(lat, lon):
    rng = np.random.default_rng(int(abs(lat * 1000)))
    for _ in range(20):
        la, lo = lat + rng.uniform(-0.5, 0.5), (lon + rng.uniform(-0.5, 0.5) + 180) % 360 - 180
        alt_ft = float(rng.uniform(-1000, 45000))
        even = encode.airborne_position("abc123", la, lo, alt_ft, odd=False)
        odd = encode.airborne_position("abc123", la, lo, alt_ft, odd=True)
        out = pyModeS.decode([even, odd], timestamps=[0.0, 0.5])[-1]
        d = geodetic_to_ecef(out["latitude"], out["longitude"], 0) - geodetic_to_ecef(la, lo, 0)
        assert np.linalg.norm(d) < 5.0  # CPR's 17-bit cells are ~5 m; rounding gives under ~3 m
        assert abs(out["altitude"] - alt_ft) <= 12.5
        single = pyModeS.decode(odd, reference=(la + 0.3, lo - 0.3))
        assert abs(single["latitude"] - la) < 5e-5


def test_velocity_and_identification_round_trip():
    msg = encode.airborne_velocity("abc123", -300.0, 400.0, -1280.0, -375.0)
    d = pyModeS.decode(msg)
    assert d["crc_valid"] and d["groundspeed"] == 500
    assert d["track"] == pytest.approx(math.degrees(math.atan2(-300, 400)) % 360, abs=0.1)
    assert d["vertical_rate"] == -1280 and d["geo_minus_baro"] == -375
    assert pyModeS.decode(encode.airborne_velocity("abc123", 10, 10))["geo_minus_baro"] is None  # not sent
    assert pyModeS.decode(encode.identification("abc123", "SIM0042"))["callsign"].rstrip("_ ") == "SIM0042"
    with pytest.raises(ValueError, match="callsign"):
        encode.identification("abc123", "TOO-LONG!")
    with pytest.raises(ValueError, match="altitude"):
        encode.airborne_position("abc123", 10.0, 10.0, 60000.0, odd=False)
    with pytest.raises(ValueError, match="icao24"):
        encode.identification("xyz", "A")


def test_decoder_heights_use_the_gnss_difference_when_broadcast():
    icao = "abc123"
    baro_ft = 35000.0
    diff_ft = 400.0
    msgs = [encode.airborne_position(icao, 50.0, 8.0, baro_ft, odd=bool(k % 2)) for k in range(8)]
    plain = AdsbDecoder(geoid_undulation_m=47.0)
    fixes = [plain.decode(m, 100.0 + 0.5 * k) for k, m in enumerate(msgs)]
    fix = [f for f in fixes if f is not None][-1]
    assert fix.baro_alt_m == pytest.approx(baro_ft * FT_M)
    assert fix.height_m == pytest.approx(baro_ft * FT_M + 47.0) and fix.height_sigma_m == BARO_HEIGHT_SIGMA_M
    gnss = AdsbDecoder()
    gnss.decode(encode.airborne_velocity(icao, 400.0, 0.0, 0.0, diff_ft), 99.0)
    fixes = [gnss.decode(m, 100.0 + 0.5 * k) for k, m in enumerate(msgs)]
    fix = [f for f in fixes if f is not None][-1]
    assert (
        fix.height_m == pytest.approx((baro_ft + diff_ft) * FT_M)
        and fix.height_sigma_m == GNSS_HEIGHT_SIGMA_M
    )
    assert gnss.aircraft[icao].ground_speed_ms == pytest.approx(400 * 1852 / 3600)
    # a stale difference (older than a minute) is not used
    late = [gnss.decode(m, 300.0 + 0.5 * k) for k, m in enumerate(msgs)]
    assert [f for f in late if f is not None][-1].height_sigma_m == BARO_HEIGHT_SIGMA_M


def test_decoder_counts_bad_input_and_drops_far_positions():
    dec = AdsbDecoder(reference=Site(0.0, 0.0, 0.0), max_range_m=100e3)
    assert dec.decode("zz", 0.0) is None and dec.stats.invalid == 1
    good = encode.identification("abc123", "AB12")
    corrupt = good[:10] + ("0" if good[10] != "0" else "1") + good[11:]
    assert dec.decode(corrupt, 1.0) is None and dec.stats.crc_failed == 1
    assert dec.decode("5D406B90B6F0E1", 1.0) is None and dec.stats.not_adsb == 1
    for k in range(8):  # an aircraft 300 km away
        dec.decode(encode.airborne_position("abc123", 2.7, 0.0, 30000, odd=bool(k % 2)), 2.0 + 0.5 * k)
    assert dec.stats.positions == 0 and dec.stats.positions_out_of_range > 0
    (ac_frame,) = BeastParser().feed(encode_frame("1A2B"))
    assert dec.decode_frame(ac_frame, 3.0) is None and dec.stats.not_adsb == 2
    assert clean_callsign("EZY85MH_") == "EZY85MH" and clean_callsign("__") is None
