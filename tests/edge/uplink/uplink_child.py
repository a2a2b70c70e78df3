"""Child processes for the uplink fault tests, and the sample report they send.

    python uplink_child.py write OUTBOX STATION N          put N reports, print "PUT id" after each
    python uplink_child.py uplink OUTBOX STATION HOST PORT  run an Uplink, print READY when connected

The parent kills these with SIGKILL mid-way (outbox writes, last will).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

from edge.protocol import FrameMeasurement, Location, ObservationReport, TimeQuality, make_observation_id

T0 = datetime(2024, 8, 12, 21, 30, 45, 123456, tzinfo=UTC)


def make_report(station_id: str, n: int, n_frames: int = 20) -> ObservationReport:
    """A valid observation report, number `n` of `station_id` (distinct observation ids)."""
    start = T0 + timedelta(seconds=10 * n)
    frames = [
        FrameMeasurement(
            utc=start + timedelta(microseconds=33_333 * i),
            frame_index=1000 * n + i,
            x_px=100.0 + 5.0 * i,
            y_px=200.0 + 2.5 * i,
            ra_deg=45.0 + 0.01 * i,
            dec_deg=30.0,
            mag=1.5 - 0.05 * i,
        )
        for i in range(n_frames)
    ]
    return ObservationReport(
        station_id=station_id,
        observation_id=make_observation_id(station_id, "cam1", start, n),
        camera_id="cam1",
        location=Location(lat_deg=52.37, lon_deg=4.90, height_m=12.0),
        created_utc=start + timedelta(seconds=30),
        time_quality=TimeQuality(source="gps-pps", estimated_error_s=2e-6, pps_locked=True),
        frames=frames,
        refraction_applied=True,
    )


def _write(outbox_path: str, station_id: str, n: int) -> None:
    from edge.uplink import Outbox
    from edge.uplink.client import Uplink

    outbox = Outbox(outbox_path)
    # An Uplink that is never started: submit_report is the station's real write path.
    uplink = Uplink(station_id, "127.0.0.1", 1, outbox)
    for i in range(n):
        uplink.submit_report(make_report(station_id, i))
        print(f"PUT {make_report(station_id, i).observation_id}", flush=True)


def _uplink(outbox_path: str, station_id: str, host: str, port: int) -> None:
    from edge.uplink import Outbox, Uplink

    uplink = Uplink(
        station_id,
        host,
        port,
        Outbox(outbox_path),
        keepalive_s=5,
        reconnect_min_s=0.25,
        reconnect_max_s=1.0,
        client_id=f"child-{station_id}",
    )
    uplink.start()
    if not uplink.wait_connected(30):
        print("NOT CONNECTED", flush=True)
        sys.exit(3)
    time.sleep(0.5)  # let the online status go out
    print("READY", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "write":
        _write(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "uplink":
        _uplink(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit(f"unknown mode {mode!r}")
