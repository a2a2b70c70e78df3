"""Time quality from chrony and gpsd: parsers on recorded-style outputs, the source decision,
the real subprocess and socket paths against stand-ins, and missing services giving
free-running with a note (never an exception)."""

from __future__ import annotations

import json
import socket
import stat
import threading

import pytest

from edge.protocol import TimeSource
from edge.timing.chrony import parse_tracking_csv, read_tracking
from edge.timing.gpsd import GpsState, parse_gpsd_messages, read_gpsd
from edge.timing.quality import TimeQualityMonitor, TimingPolicy, decide_time_quality, read_time_status

# `chronyc -c tracking` lines as chrony 4.3 prints them (fields: client.c process_cmd_tracking)
PPS_LOCKED = (
    "50505300,PPS,1,1768748400.123456789,-0.000000210,0.000000150,0.000000412,-12.345,"
    "0.001,0.020,0.000000001,0.000012345,16.0,Normal"
)
PPS_CONVERGING = (
    "50505300,PPS,1,1768748400.123456789,0.000812000,0.000650000,0.000900000,-12.345,"
    "0.801,2.020,0.000000001,0.000312345,16.0,Normal"
)
NMEA = (
    "4E4D4541,NMEA,1,1768748400.500000000,0.002100000,-0.001500000,0.012000000,-12.300,0.010,"
    "0.500,0.200000000,0.101000000,16.0,Normal"
)
NTP = (
    "C0A80101,192.168.1.1,3,1768748400.500000000,-0.000350000,0.000120000,0.000400000,5.100,0.002,"
    "0.100,0.012345000,0.001234000,64.2,Normal"
)
UNSYNC = (
    "00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,1.000000000,"
    "1.000000000,0.0,Not synchronised"
)

# gpsd JSON as gpsd 3.22 streams it after ?WATCH={"enable":true,"json":true,"pps":true}
GPSD_LINES = [
    {"class": "VERSION", "release": "3.22", "rev": "3.22", "proto_major": 3, "proto_minor": 14},
    {"class": "DEVICES", "devices": [{"class": "DEVICE", "path": "/dev/ttyAMA0", "driver": "u-blox"}]},
    {"class": "WATCH", "enable": True, "json": True, "pps": True},
    {
        "class": "TPV",
        "device": "/dev/ttyAMA0",
        "mode": 3,
        "time": "2026-01-18T15:00:00.000Z",
        "ept": 0.005,
        "lat": 40.45,
        "lon": 116.6,
        "altHAE": 120.2,
    },
    {
        "class": "PPS",
        "device": "/dev/pps0",
        "real_sec": 1768748401,
        "real_nsec": 0,
        "clock_sec": 1768748400,
        "clock_nsec": 999998700,
        "precision": -20,
    },
    {"class": "TPV", "device": "/dev/ttyAMA0", "mode": 3, "time": "2026-01-18T15:00:01.000Z", "ept": 0.005},
    {
        "class": "PPS",
        "device": "/dev/pps0",
        "real_sec": 1768748402,
        "real_nsec": 0,
        "clock_sec": 1768748402,
        "clock_nsec": 1100,
        "precision": -20,
    },
]


def test_chrony_csv_parser():
    t = parse_tracking_csv(PPS_LOCKED + "\n")
    assert t.ref_id_text == "PPS" and t.stratum == 1 and t.leap_status == "Normal" and t.synchronised
    assert t.correction_s == pytest.approx(-2.1e-7) and t.system_minus_reference_s == pytest.approx(2.1e-7)
    assert t.rms_offset_s == pytest.approx(4.12e-7) and t.update_interval_s == 16.0
    assert t.max_error_s == pytest.approx(2.1e-7 + 1.2345e-5 + 0.5e-9)
    assert parse_tracking_csv(NTP).ref_id_text == ""  # an IPv4 reference id is no text
    assert not parse_tracking_csv(UNSYNC).synchronised
    for bad, why in (
        ("", "one CSV line"),
        (PPS_LOCKED.replace(",Normal", ""), "14 CSV fields"),
        (PPS_LOCKED.replace("50505300", "XYZ"), "reference id"),
        (PPS_LOCKED.replace("0.000000412", "abc"), "RMS offset"),
        (PPS_LOCKED.replace("Normal", "Sideways"), "leap status"),
    ):
        with pytest.raises(ValueError, match=why):
            parse_tracking_csv(bad)


@pytest.mark.parametrize(
    "line, source, locked, pps_lost",
    [
        (PPS_LOCKED, TimeSource.GPS_PPS, True, False),
        (PPS_CONVERGING, TimeSource.GPS_PPS, False, True),
        (NMEA, TimeSource.GPS_NMEA, False, True),
        (NTP, TimeSource.NTP, False, True),
        (UNSYNC, TimeSource.FREE_RUNNING, False, True),
    ],
)
def test_source_decision(line, source, locked, pps_lost):
    tracking = parse_tracking_csv(line)
    status = decide_time_quality(tracking)
    q = status.quality
    assert q.source == source and q.pps_locked == locked and status.pps_lost == pps_lost == q.pps_lost
    if source != TimeSource.FREE_RUNNING:
        assert q.estimated_error_s == pytest.approx(tracking.max_error_s)
        assert q.offset_s == pytest.approx(-tracking.correction_s)
    else:
        assert q.estimated_error_s == 1.0
    assert ("PPS lost" in q.note) == pps_lost
    assert any("PPS lost" in w for w in status.warnings) == pps_lost


def test_nmea_error_includes_chronys_delay_and_pps_is_not_expected_everywhere():
    q = decide_time_quality(parse_tracking_csv(NMEA), policy=TimingPolicy(expect_pps=False))
    assert q.quality.estimated_error_s == pytest.approx(0.0021 + 0.101 + 0.1)  # tens of ms and more
    assert not q.pps_lost and "PPS lost" not in q.quality.note


def test_gpsd_message_parser():
    g = parse_gpsd_messages(GPSD_LINES)
    assert g.connected and g.mode == 3 and g.has_fix and g.pps_count == 2 and g.device == "/dev/ttyAMA0"
    assert g.time_unix_s == pytest.approx(1768748401.0) and g.ept_s == 0.005
    assert g.last_pps_offset_s == pytest.approx(-1.1e-6)
    nofix = parse_gpsd_messages([{"class": "TPV", "mode": 1}, {"class": "PPS", "real_sec": "x"}])
    assert not nofix.has_fix and nofix.time_unix_s is None and nofix.pps_count == 0


def test_gps_warnings_join_the_record():
    pps = parse_tracking_csv(PPS_LOCKED)
    s = decide_time_quality(pps, GpsState(True, mode=1))
    assert "GPS has no fix" in s.warnings and not s.pps_lost
    s = decide_time_quality(pps, GpsState(True, mode=3, pps_count=0))
    assert "gpsd reports no PPS pulses" in s.warnings
    s = decide_time_quality(pps, GpsState(False, note="gpsd at x unavailable"))
    assert "gpsd at x unavailable" in s.warnings


@pytest.fixture
def fake_chronyc(tmp_path):
    def make(stdout: str, rc: int = 0):
        path = tmp_path / f"chronyc{rc}"
        path.write_text(f'#!/bin/sh\n[ "$1 $2" = "-c tracking" ] || exit 9\necho \'{stdout}\'\nexit {rc}\n')
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
        return str(path)

    return make


def test_chronyc_subprocess_path(fake_chronyc):
    tracking, why = read_tracking(fake_chronyc(PPS_LOCKED))
    assert why is None and tracking.ref_id_text == "PPS"
    tracking, why = read_tracking(fake_chronyc("506 Cannot talk to daemon", rc=1))
    assert tracking is None and "Cannot talk to daemon" in why
    tracking, why = read_tracking("/nonexistent/chronyc")
    assert tracking is None and "not found" in why


def test_missing_chrony_and_gpsd_give_free_running_with_a_note():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status = read_time_status(chronyc="/nonexistent/chronyc", gpsd_port=port, gpsd_listen_s=0.5)
    q = status.quality
    assert q.source == TimeSource.FREE_RUNNING and not q.pps_locked and status.pps_lost
    assert "not found" in q.note
    assert status.gps is not None and not status.gps.connected
    assert any("unavailable" in w for w in status.warnings)


def _serve_gpsd(lines: list[dict]):
    """A one-shot stand-in for gpsd on a free local port (compact JSON lines, as gpsd writes)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    got = {}

    def run():
        conn, _ = server.accept()
        with conn:
            got["watch"] = conn.recv(200)
            conn.sendall(b"".join(json.dumps(m, separators=(",", ":")).encode() + b"\n" for m in lines))
        server.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return server.getsockname()[1], got, thread


def test_gpsd_client_path_asks_for_pps_and_reads_the_stream():
    port, got, thread = _serve_gpsd(GPSD_LINES)
    g = read_gpsd(port=port, duration_s=3.0)
    thread.join(5)
    assert b'"pps":true' in got["watch"]
    assert g.connected and g.mode == 3 and g.pps_count == 2


def test_monitor_caches_and_refreshes():
    calls = []

    def reader():
        calls.append(1)
        return decide_time_quality(parse_tracking_csv(PPS_LOCKED))

    mon = TimeQualityMonitor(refresh_s=3600.0, reader=reader)
    assert mon.current().source == TimeSource.GPS_PPS and mon.current().pps_locked
    assert len(calls) == 1
    mon = TimeQualityMonitor(refresh_s=0.0, reader=reader)
    mon.current(), mon.current()
    assert len(calls) == 3


def test_pps_loss_travels_in_the_wire_record():
    """Observations made after PPS was lost carry the flag to the bridge."""
    import pytest
    from pydantic import ValidationError

    from edge.protocol import TimeQuality

    flagged = TimeQuality(source="gps-nmea", estimated_error_s=0.05, pps_locked=False, pps_lost=True)
    assert flagged.pps_lost
    with pytest.raises(ValidationError, match="pps_lost"):
        TimeQuality(source="gps-pps", estimated_error_s=1e-6, pps_locked=True, pps_lost=True)
