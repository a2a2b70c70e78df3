"""One camera's capture+detect process: frames from the camera backend into the C detector, events
out to the extractor. Frames never leave this process; only events (and a latest frame now and then)
do.

Inputs: the camera's `[[camera]]` table (`edge.station.config`), its backend from
`edge.camera.factory.open_camera` (time quality from `edge.timing.quality.TimeQualityMonitor`, or
simulated for `[time] source = "simulated"`), the sky mask `<data_dir>/masks/<camera_id>.png`
(white = sky) if present. Outputs: `(camera_info, Event)` to the extractor's socket
(`EventSender`: a background thread that reconnects and holds events meanwhile), heartbeats with
frame counters to the supervisor (`edge.station.link`), `state/cameras/<id>/latest.png` about once
a minute and on a `capture_test_frame` command.

`camera_info` tells the extractor how to measure the events: ids, frame size, frame rate, exposure
and the nominal camera model (the configured pointing and lens; for a simulated camera without one
its simulated night's nominal model, for a replay its recording's).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque
from datetime import UTC, datetime
from multiprocessing.connection import Client, Connection
from pathlib import Path

import numpy as np

from edge.station.config import CameraSection, StationConfig, load_config
from edge.station.link import ChildLink, setup_child_logging

log = logging.getLogger(__name__)

MAX_HELD_EVENTS = 256  # events held here while the extractor is down; more are counted as dropped


def events_socket(data_dir: Path) -> Path:
    return Path(data_dir) / "state" / "extractor.sock"


class EventSender:
    """Sends events to the extractor's socket from a background thread; holds them while it is down."""

    def __init__(self, address: Path, camera_id: str) -> None:
        self.address = str(address)
        self.camera_id = camera_id
        self._items: deque = deque()
        self._cond = threading.Condition()
        self._stop = False
        self.sent = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="event-sender", daemon=True)
        self._thread.start()

    def put(self, item: tuple) -> None:
        with self._cond:
            if len(self._items) >= MAX_HELD_EVENTS:
                self.dropped += 1
                log.error(
                    "camera=%s event=event_dropped reason=extractor unreachable, %d events held",
                    self.camera_id,
                    len(self._items),
                )
                return
            self._items.append(item)
            self._cond.notify()

    @property
    def held(self) -> int:
        with self._cond:
            return len(self._items)

    def close(self, timeout_s: float = 5.0) -> None:
        """Send what is held (for at most `timeout_s`), then stop."""
        deadline = time.monotonic() + timeout_s
        while self.held and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(1.0)

    def _run(self) -> None:
        conn: Connection | None = None
        while True:
            with self._cond:
                while not self._items and not self._stop:
                    self._cond.wait(1.0)
                if self._stop:
                    break
                item = self._items[0]
            try:
                if conn is None:
                    conn = Client(self.address, family="AF_UNIX")
                conn.send(item)
            except (OSError, EOFError):
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.5)
                continue
            with self._cond:
                self._items.popleft()
                self.sent += 1
        if conn is not None:
            conn.close()


def nominal_model_dict(cam: CameraSection, backend) -> dict:
    """The camera's nominal model (CameraModel.to_dict()), see the module docstring."""
    from edge.astrometry.camera_model import CameraModel
    from edge.camera.profiles import get_profile

    info = backend.info
    if cam.has_pointing:
        p = get_profile(cam.profile)
        b = cam.binning
        model = CameraModel.from_pointing(
            width_px=info.width_px,
            height_px=info.height_px,
            pixel_pitch_um=p.pixel_pitch_um * b,
            focal_length_mm=cam.focal_length_mm or p.focal_length_mm,
            az_deg=cam.az_deg,
            alt_deg=cam.alt_deg,
            roll_deg=cam.roll_deg,
            k1=p.k1,
            k2=p.k2,
        )
        return model.to_dict()
    if cam.kind == "sim":
        return backend.plan.camera.nominal_model.to_dict()
    if cam.kind == "replay":
        nominal = backend._load().meta.get("nominal_model")
        if nominal:
            return nominal
        raise ValueError(
            f"camera {cam.id}: the recording has no nominal_model; give profile, az_deg, alt_deg"
        )
    raise ValueError(f"camera {cam.id}: no nominal pointing configured")


def load_mask(path: Path, width: int, height: int) -> np.ndarray | None:
    """The sky mask (True = sky) from a PNG, or None if there is none; ValueError if it does not fit."""
    if not path.is_file():
        return None
    from PIL import Image

    with Image.open(path) as im:
        mask = np.asarray(im.convert("L")) > 127
    if mask.shape != (height, width):
        raise ValueError(
            f"sky mask {path} is {mask.shape[1]}x{mask.shape[0]}, the camera gives {width}x{height}"
        )
    return mask


def write_latest(data_dir: Path, camera_id: str, image: np.ndarray) -> Path:
    """`state/cameras/<id>/latest.png` (8-bit grey), written whole then renamed."""
    from PIL import Image

    path = Path(data_dir) / "state" / "cameras" / camera_id / "latest.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    Image.fromarray(image).save(tmp)
    os.replace(tmp, path)
    return path


def _time_quality_provider(cfg: StationConfig):
    if cfg.time.source == "simulated":
        from edge.camera.backend import simulated_time_quality

        return lambda: simulated_time_quality()
    from edge.timing.quality import TimeQualityMonitor, TimingPolicy

    monitor = TimeQualityMonitor(reader=None)
    if not cfg.time.expect_pps:
        from edge.timing.quality import read_time_status

        monitor = TimeQualityMonitor(reader=lambda: read_time_status(policy=TimingPolicy(expect_pps=False)))
    return monitor.current


def run_camera(config_path: str, camera_id: str, conn: Connection, verbose: bool = False) -> None:
    """Entry point of the camera process (spawned by the supervisor)."""
    setup_child_logging(f"camera-{camera_id}", verbose)
    link = ChildLink(conn)
    cfg = load_config(config_path)
    cam = next(c for c in cfg.camera if c.id == camera_id)
    stats: dict = {
        "state": "starting",
        "camera_id": camera_id,
        "frames_total": 0,
        "events_total": 0,
        "dropped_frames": 0,
        "fps": 0.0,
        "message": None,
    }
    link.heartbeat(stats, force=True)
    try:
        _capture(cfg, cam, link, stats)
    except Exception as exc:  # reported, then the process ends and the supervisor restarts it
        log.exception("camera=%s event=camera_error", camera_id)
        stats.update(state="error", message=f"{type(exc).__name__}: {exc}"[:300])
        link.heartbeat(stats, force=True)
        time.sleep(0.5)
        raise SystemExit(1) from None


def _capture(cfg: StationConfig, cam: CameraSection, link: ChildLink, stats: dict) -> None:
    from edge.camera.backend import CameraError, CameraTimeError, CameraTimeout, EndOfStream
    from edge.camera.factory import open_camera
    from edge.detect.detector import Detector, DetectorConfig
    from edge.process import detector_config_for

    data_dir = cfg.data_dir
    tq_provider = _time_quality_provider(cfg)
    tq_dump = tq_provider().model_dump(mode="json")
    backend = open_camera(cam.backend(), tq_provider)
    backend.open()
    info = backend.info
    nominal = nominal_model_dict(cam, backend)
    from edge.astrometry.camera_model import CameraModel

    base = detector_config_for(CameraModel.from_dict(nominal), info.fps)
    det_cfg = DetectorConfig(**{**base.__dict__, **cfg.detector})
    mask_msg = None
    try:
        mask = load_mask(cfg.mask_path(cam), info.width_px, info.height_px)
    except ValueError as exc:
        mask, mask_msg = None, f"sky mask ignored: {exc}"
        log.error("camera=%s event=mask_ignored reason=%s", cam.id, exc)
    detector = Detector(info.width_px, info.height_px, det_cfg, sky_mask=mask)
    camera_info = {
        "station_id": cfg.station.id,
        "camera_id": cam.id,
        "width_px": info.width_px,
        "height_px": info.height_px,
        "fps": float(info.fps),
        "exposure_s": float(info.exposure_s or 1.0 / info.fps),
        "nominal_model": nominal,
    }
    sender = EventSender(events_socket(data_dir), cam.id)
    stats.update(state="capturing", width_px=info.width_px, height_px=info.height_px, message=mask_msg)
    log.info(
        "camera=%s event=capturing size=%dx%d fps=%.2f model=%r",
        cam.id,
        info.width_px,
        info.height_px,
        info.fps,
        info.model,
    )
    step = max(1, int(getattr(backend, "_step", 1)))  # decimating sources skip indices on purpose
    last_index: int | None = None
    last_latest = 0.0
    window: deque[float] = deque()
    frame = None
    ended = False
    while not link.stopping.is_set():
        msg = link.poll()
        if msg and msg[0] == "capture_test_frame":
            _, request_id, _args = msg
            if frame is None:
                link.send(("reply", request_id, False, f"camera {cam.id}: no frame captured yet", None))
            else:
                path = write_latest(data_dir, cam.id, frame.image)
                last_latest = time.monotonic()
                link.send(
                    (
                        "reply",
                        request_id,
                        True,
                        f"test frame of camera {cam.id} written",
                        {
                            "camera_id": cam.id,
                            "path": str(path),
                            "utc": datetime.fromtimestamp(frame.utc_unix_s, UTC).isoformat(),
                        },
                    )
                )
        if ended:
            stats.update(fps=0.0)
            link.heartbeat(stats)
            time.sleep(0.2)
            continue
        try:
            frame = backend.read(timeout_s=1.0)
        except CameraTimeout:
            link.heartbeat(stats)
            continue
        except CameraTimeError as exc:
            stats["message"] = str(exc)[:300]
            continue
        except EndOfStream as exc:
            for ev in detector.flush():
                sender.put(({**camera_info, "time_quality": tq_dump}, ev))
                stats["events_total"] += 1
            stats.update(state="idle", message=f"source ended: {exc}"[:300])
            log.info("camera=%s event=source_ended", cam.id)
            ended = True
            continue
        except CameraError:
            raise
        now = time.monotonic()
        if last_index is not None:
            stats["dropped_frames"] += max(0, (frame.frame_index - last_index) // step - 1)
        last_index = frame.frame_index
        try:
            events = detector.process(frame.image, frame.utc_unix_s, frame.frame_index)
        except ValueError as exc:
            stats["message"] = f"frame skipped: {exc}"[:300]
            continue
        for ev in events:
            sender.put(({**camera_info, "time_quality": tq_dump}, ev))
            stats["events_total"] += 1
            log.info(
                "camera=%s event=detected kind=%s frames=%d t_unix=%.3f",
                cam.id,
                ev.kind,
                len(ev.frame_index),
                float(ev.t_unix[0]),
            )
        stats["frames_total"] += 1
        window.append(now)
        while window and now - window[0] > 5.0:
            window.popleft()
        if len(window) >= 2:
            stats["fps"] = (len(window) - 1) / max(window[-1] - window[0], 1e-6)
        stats["last_frame_utc"] = frame.utc_unix_s if math.isfinite(frame.utc_unix_s) else None
        tq_dump = stats["time_quality"] = frame.time_quality.model_dump(mode="json")
        stats["events_held"] = sender.held
        stats["events_dropped"] = sender.dropped
        if now - last_latest >= cfg.supervisor.latest_frame_interval_s:
            write_latest(data_dir, cam.id, frame.image)
            last_latest = now
        link.heartbeat(stats)
    for ev in detector.flush():
        sender.put(({**camera_info, "time_quality": tq_dump}, ev))
    sender.close()
    backend.close()
