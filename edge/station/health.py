"""Is the station healthy? The check behind `skytrail station health` (and the firmware's boot
blessing), read from the supervisor's snapshot (`edge.station.snapshot`), never from the processes.

Healthy when: the snapshot is fresh (the supervisor is running), its state is not config-error, the
extractor runs, the uplink is connected or retrying (or none is configured), and at least one
camera delivered a frame within 30 s, unless the station is day-idle.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from edge.station.snapshot import read_snapshot

FRESH_FRAME_S = 30.0


def check_health(data_dir: str | Path, now: datetime | None = None) -> tuple[bool, str]:
    """(healthy, reason) from the snapshot in `data_dir`."""
    now = now or datetime.now(UTC)
    try:
        snap = read_snapshot(data_dir)
    except ValueError as exc:
        return False, str(exc)
    if snap is None:
        return False, f"no status snapshot in {Path(data_dir) / 'state'}: the station is not running"
    age = (now - snap.utc).total_seconds()
    if snap.is_stale(now):
        return False, f"status snapshot is {age:.0f} s old: the station supervisor is not running"
    if snap.state == "config-error":
        return False, f"config error: {snap.config_error or snap.message}"
    if snap.extractor is not None and snap.extractor.state != "ok":
        return False, f"extractor {snap.extractor.state}: {snap.extractor.message or ''}".strip()
    if snap.state == "day-idle":
        return True, "day-idle"
    fresh = [
        c.camera_id
        for c in snap.cameras
        if c.last_frame_utc is not None and (now - c.last_frame_utc).total_seconds() <= FRESH_FRAME_S
    ]
    if not fresh:
        return False, "no camera delivered a frame in the last 30 s"
    uplink = "connected" if snap.uplink_connected else "retrying" if snap.uplink_broker else "not configured"
    return True, f"{snap.state}; cameras with frames: {', '.join(fresh)}; uplink {uplink}"
