"""What a running station is doing now: the snapshot the supervisor writes and the local page reads.

The supervisor (`edge.station.supervisor`) rewrites `<data_dir>/state/status.json` atomically
every few seconds; the local web page (`edge.web`) and the health check read it. Files beside it,
all under `<data_dir>`:
- `state/cameras/<camera_id>/latest.png`: the camera's latest frame (8-bit grey), refreshed about
  once a minute while capturing, and on a `capture_test_frame` command;
- `products/<station_id>/<camera_id>/<observation_id>.{json,png,fits,mp4,ecsv}`: event products;
- `masks/<camera_id>.png`: the camera's sky mask (white = sky, black = ignored), read by the
  camera process when it starts; written by the local page's mask editor.

A snapshot older than `stale_after_s` means the supervisor is not running.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from edge.protocol.models import TimeQuality

STATUS_FILE = Path("state") / "status.json"


class CameraSnapshot(BaseModel):
    """One camera process as the supervisor sees it."""

    camera_id: str
    state: str = Field(description="starting, capturing, idle (daytime), error, offline")
    message: str | None = None
    fps: float = 0.0
    dropped_frames: int = 0
    frames_total: int = 0
    events_total: int = 0
    last_frame_utc: datetime | None = None
    restarts: int = 0
    width_px: int | None = None
    height_px: int | None = None


class ComponentSnapshot(BaseModel):
    """A supporting part of the station (ADS-B receiver, classifier, uplink, extractor)."""

    state: str = Field(description="ok, degraded, absent, disabled, error")
    message: str | None = None


class StationSnapshot(BaseModel):
    """The whole station now (see the module docstring)."""

    station_id: str
    software_version: str
    utc: datetime
    state: str = Field(description="online, degraded, day-idle, starting, config-error")
    message: str | None = None
    detecting: bool = False
    night_start_utc: datetime | None = None
    night_end_utc: datetime | None = None
    time_quality: TimeQuality | None = None
    cameras: list[CameraSnapshot] = Field(default_factory=list)
    queue_depth: int = 0
    queue_spilled: int = 0
    outbox_depth: int = 0
    uplink_connected: bool = False
    uplink_broker: str | None = None
    disk_free_bytes: int | None = None
    disk_budget_bytes: int | None = None
    disk_used_bytes: int | None = None
    adsb: ComponentSnapshot | None = None
    classifier: ComponentSnapshot | None = None
    extractor: ComponentSnapshot | None = None
    config_error: str | None = Field(None, description="why the station config was refused, if it was")
    recent_events: list[dict] = Field(
        default_factory=list,
        description="newest first, at most 50: observation_id, camera_id, utc, label, score, "
        "aircraft (callsign or icao24), peak_mag, n_frames",
    )

    processes: list[dict] = Field(
        default_factory=list,
        description="the supervisor's children: name, pid, alive, restarts, last_restart_reason, state",
    )
    queue_refused: int = Field(0, description="events refused because the disk budget was full")
    pruned_files: int = Field(0, description="raw clip files (.mp4, .fits) pruned for the disk budget")

    stale_after_s: float = 30.0

    def is_stale(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        return (now - self.utc).total_seconds() > self.stale_after_s


def write_snapshot(data_dir: str | Path, snapshot: StationSnapshot) -> Path:
    """Write the snapshot atomically (temporary file, then rename) and return its path."""
    path = Path(data_dir) / STATUS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(snapshot.model_dump_json(indent=1))
    os.replace(tmp, path)
    return path


def read_snapshot(data_dir: str | Path) -> StationSnapshot | None:
    """The last snapshot, or None when there is none; ValueError naming the file when it is corrupt."""
    path = Path(data_dir) / STATUS_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        return StationSnapshot.model_validate(json.loads(text))
    except ValueError as exc:
        raise ValueError(f"{path}: not a valid station snapshot: {exc}") from exc
