"""The image's health check script (rootfs/usr/lib/skytrail/health-check) in its one-shot mode, run
on the host with this checkout's Python: the verdict comes from the station snapshot
(`edge.station.health`), without going through the `skytrail` command line."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.station.snapshot import CameraSnapshot, ComponentSnapshot, StationSnapshot, write_snapshot

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "rootfs/usr/lib/skytrail/health-check"


def run_once(data_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, SKYTRAIL_PYTHON=sys.executable, SKYTRAIL_DATA_DIR=str(data_dir))
    return subprocess.run(
        ["sh", str(SCRIPT), "--once"], capture_output=True, text=True, env=env, cwd=REPO, timeout=120
    )


def test_once_follows_the_snapshot(tmp_path):
    r = run_once(tmp_path)
    assert r.returncode == 1 and "no status snapshot" in r.stdout
    now = datetime.now(UTC)
    cam = CameraSnapshot(camera_id="sim0", state="capturing", last_frame_utc=now - timedelta(seconds=3))
    snap = StationSnapshot(
        station_id="imgtest",
        software_version="1",
        utc=now,
        state="online",
        extractor=ComponentSnapshot(state="ok"),
        uplink_broker="b:1883",
        cameras=[cam],
    )
    write_snapshot(tmp_path, snap)
    r = run_once(tmp_path)
    assert r.returncode == 0 and "cameras with frames: sim0" in r.stdout
    stale = cam.model_copy(update={"last_frame_utc": now - timedelta(seconds=120)})
    write_snapshot(tmp_path, snap.model_copy(update={"cameras": [stale]}))
    r = run_once(tmp_path)
    assert r.returncode == 1 and "no camera delivered a frame" in r.stdout
