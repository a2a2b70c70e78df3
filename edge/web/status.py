"""What the local page shows, gathered from the files the station writes (never from the station itself).

Inputs, all under the station's data directory (the contract in `edge.station.snapshot`): the
snapshot `state/status.json`, the cameras' latest frames `state/cameras/<camera_id>/latest.png`,
the event products `products/<station_id>/<camera_id>/<observation_id>.{json,png}`, and the masks
`masks/<camera_id>.png`; and the station config file, checked with `edge.station.config`. Every
input may be missing or broken: each problem becomes a line on the page, never an error page.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from edge.protocol.models import CAMERA_ID_PATTERN, OBSERVATION_ID_PATTERN, STATION_ID_PATTERN
from edge.station.snapshot import StationSnapshot, read_snapshot
from edge.web.masks import mask_path

log = logging.getLogger(__name__)

MAX_EVENTS = 20


@dataclass
class CameraView:
    camera_id: str
    snapshot: object | None  # CameraSnapshot, when the supervisor reports the camera
    frame_utc: datetime | None  # when latest.png was written
    has_frame: bool
    has_mask: bool


@dataclass
class EventView:
    observation_id: str
    camera_id: str
    utc: datetime | None
    label: str | None
    score: float | None
    peak_mag: float | None
    n_frames: int | None
    aircraft: dict | None  # icao24, callsign, distance_m, residual_deg (what is known)
    png_url: str | None
    note: str | None = None  # why details are missing


@dataclass
class PageState:
    snapshot: StationSnapshot | None
    problems: list[str] = field(default_factory=list)
    stale: bool = False
    age_s: float | None = None
    config_error: str | None = None
    cameras: list[CameraView] = field(default_factory=list)
    events: list[EventView] = field(default_factory=list)


def valid_camera_id(camera_id: str) -> bool:
    return re.fullmatch(CAMERA_ID_PATTERN, camera_id) is not None


def latest_frame_path(data_dir: Path, camera_id: str) -> Path:
    return Path(data_dir) / "state" / "cameras" / camera_id / "latest.png"


def check_config(path: Path | None) -> str | None:
    """Why the station config at `path` is refused, or None when it loads (or no path was given)."""
    if path is None:
        return None
    try:
        from edge.station.config import load_config  # the station runtime's own validation
    except ImportError as exc:
        return f"cannot check {path}: the station config module is not installed ({exc})"
    try:
        load_config(path)
    except Exception as exc:  # any refusal, whatever its type, is shown to the person reading the page
        return f"{path}: {exc}"
    return None


def _camera_ids(data_dir: Path, snapshot: StationSnapshot | None) -> list[str]:
    ids = [c.camera_id for c in snapshot.cameras] if snapshot else []
    frames = Path(data_dir) / "state" / "cameras"
    if frames.is_dir():
        for folder in sorted(frames.iterdir()):
            if folder.name not in ids and valid_camera_id(folder.name) and (folder / "latest.png").is_file():
                ids.append(folder.name)
    return ids


def _mtime_utc(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return None


def camera_views(data_dir: Path, snapshot: StationSnapshot | None) -> list[CameraView]:
    by_id = {c.camera_id: c for c in snapshot.cameras} if snapshot else {}
    views = []
    for camera_id in _camera_ids(data_dir, snapshot):
        frame = latest_frame_path(data_dir, camera_id) if valid_camera_id(camera_id) else None
        frame_utc = _mtime_utc(frame) if frame else None
        views.append(
            CameraView(
                camera_id=camera_id,
                snapshot=by_id.get(camera_id),
                frame_utc=frame_utc,
                has_frame=frame_utc is not None,
                has_mask=valid_camera_id(camera_id) and mask_path(data_dir, camera_id).is_file(),
            )
        )
    return views


def product_file(
    data_dir: Path, station_id: str, camera_id: str, observation_id: str, suffix: str
) -> Path | None:
    """The product `<observation_id>.<suffix>` if the ids are well formed (no path tricks) and it exists."""
    if not (
        re.fullmatch(STATION_ID_PATTERN, station_id)
        and valid_camera_id(camera_id)
        and re.fullmatch(OBSERVATION_ID_PATTERN, observation_id)
    ):
        return None
    path = Path(data_dir) / "products" / station_id / camera_id / f"{observation_id}.{suffix}"
    return path if path.is_file() else None


def _report_details(path: Path | None) -> tuple[dict, str | None]:
    """Classification and aircraft match from the event's JSON product (the full report)."""
    if path is None:
        return {}, None
    from edge.products.json_report import read_report

    try:
        report = read_report(path)
    except (OSError, ValueError) as exc:
        return {}, f"report unreadable: {exc}"
    out: dict = {}
    if report.classification is not None:
        out["label"] = report.classification.label.value
        out["score"] = report.classification.score
    if report.aircraft is not None:
        out["aircraft"] = report.aircraft.model_dump()
    if report.detector is not None:
        out["peak_mag"] = report.detector.peak_mag
        out["n_frames"] = report.detector.n_frames
    out["utc"] = report.frames[0].utc
    return out, None


def _parse_utc(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _event_view(data_dir: Path, station_id: str | None, entry: dict) -> EventView | None:
    obs_id, camera_id = str(entry.get("observation_id", "")), str(entry.get("camera_id", ""))
    if not obs_id or not camera_id:
        return None
    json_path = png_path = None
    if station_id:
        json_path = product_file(data_dir, station_id, camera_id, obs_id, "json")
        png_path = product_file(data_dir, station_id, camera_id, obs_id, "png")
    details, note = _report_details(json_path)
    aircraft = details.get("aircraft")
    if aircraft is None and entry.get("aircraft"):
        aircraft = {"callsign": str(entry["aircraft"])}
    score = details.get("score", entry.get("score"))
    return EventView(
        observation_id=obs_id,
        camera_id=camera_id,
        utc=details.get("utc") or _parse_utc(entry.get("utc")),
        label=details.get("label", entry.get("label")),
        score=float(score) if isinstance(score, int | float) else None,
        peak_mag=details.get("peak_mag", entry.get("peak_mag")),
        n_frames=details.get("n_frames", entry.get("n_frames")),
        aircraft=aircraft,
        png_url=f"/products/{camera_id}/{obs_id}.png" if png_path else None,
        note=note,
    )


def _events_from_products(data_dir: Path) -> tuple[str | None, list[dict]]:
    """Without a snapshot: the newest JSON products on disk, as snapshot-style entries."""
    root = Path(data_dir) / "products"
    if not root.is_dir():
        return None, []
    found = sorted(root.glob("*/*/*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[:MAX_EVENTS]
    station = found[0].parent.parent.name if found else None
    entries = [
        {"observation_id": p.stem, "camera_id": p.parent.name}
        for p in found
        if p.parent.parent.name == station
    ]
    return station, entries


def gather(data_dir: Path, config_path: Path | None, now: datetime | None = None) -> PageState:
    """Everything the status page shows; problems with the inputs are listed, never raised."""
    data_dir = Path(data_dir)
    problems: list[str] = []
    try:
        snapshot = read_snapshot(data_dir)
    except (ValueError, OSError) as exc:
        log.warning("event=snapshot_unreadable data_dir=%s reason=%s", data_dir, exc)
        snapshot = None
        problems.append(f"The station's status file cannot be read: {exc}")
    else:
        if snapshot is None:
            problems.append(
                f"No status file yet ({data_dir / 'state' / 'status.json'}): the station service has not "
                "started, or is starting."
            )
    state = PageState(snapshot=snapshot, problems=problems)
    if snapshot is not None:
        now = now or datetime.now(UTC)
        state.age_s = (now - snapshot.utc).total_seconds()
        state.stale = snapshot.is_stale(now)
        if state.stale:
            problems.append(
                f"The status is {state.age_s:.0f} s old (more than {snapshot.stale_after_s:.0f} s): "
                "the station service is not running or is stuck."
            )
    state.config_error = (snapshot.config_error if snapshot else None) or check_config(config_path)
    state.cameras = camera_views(data_dir, snapshot)
    if snapshot is not None:
        station_id, entries = snapshot.station_id, snapshot.recent_events[:MAX_EVENTS]
    else:
        station_id, entries = _events_from_products(data_dir)
    state.events = [v for e in entries if isinstance(e, dict) and (v := _event_view(data_dir, station_id, e))]
    return state
