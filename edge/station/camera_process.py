"""One camera's capture+detect process: frames from the camera backend into the C detector, events
out to the extractor. Frames never leave this process; only events (and a latest frame now and then)
do.

Inputs: the camera's `[[camera]]` table (`edge.station.config`), its backend from
`edge.camera.factory.open_camera` (time quality from `edge.timing.quality.TimeQualityMonitor`, or
simulated for `[time] source = "simulated"`), the sky mask `<data_dir>/masks/<camera_id>.png`
(white = sky) if present. The per-frame work is `LiveDetector`: the detector, restarted when the frame
times jump, and the star stack (`edge.station.star_stack`) that each event takes along for its
calibration. Outputs: `(camera_info, Event)` to the extractor's socket
(`EventSender`: a background thread that reconnects and holds events meanwhile), heartbeats with
frame counters to the supervisor (`edge.station.link`), `state/cameras/<id>/latest.png` about once
a minute and on a `capture_test_frame` command.

`camera_info` tells the extractor how to measure the events: ids, frame size, frame rate, exposure
and the nominal camera model (the configured pointing and lens; for a simulated camera without one
its simulated night's nominal model, for a replay its recording's), and `star_stack`
(`edge.process.StarStack.to_info()`) when there is one.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
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
MAX_HELD_BYTES = 256 * 1024**2  # ... and their arrays' bytes (a 1080p event with its star stack: ~34 MB)


def item_bytes(item: tuple) -> int:
    """Bytes of the arrays of an `(info, event)` item (the star stack counted with each event)."""
    import dataclasses

    info, event = item
    n = sum(v.nbytes for v in (info.get("star_stack") or {}).values() if isinstance(v, np.ndarray))
    return n + sum(
        v.nbytes for f in dataclasses.fields(event) if isinstance(v := getattr(event, f.name), np.ndarray)
    )


def events_socket(data_dir: Path) -> Path:
    """The extractor's socket: in the data dir, or in the temporary dir when that path would be too
    long for a Unix socket (108 bytes on Linux), named after the data dir so stations don't share."""
    path = Path(data_dir).resolve() / "state" / "extractor.sock"
    if len(os.fsencode(path)) < 100:
        return path
    digest = hashlib.sha256(os.fsencode(path)).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"skytrail-extractor-{digest}.sock"


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
        self._bytes = 0
        self._thread = threading.Thread(target=self._run, name="event-sender", daemon=True)
        self._thread.start()

    def put(self, item: tuple) -> None:
        size = item_bytes(item)
        with self._cond:
            if len(self._items) >= MAX_HELD_EVENTS or (self._items and self._bytes + size > MAX_HELD_BYTES):
                self.dropped += 1
                log.error(
                    "camera=%s event=event_dropped reason=extractor unreachable, %d events (%d MB) held",
                    self.camera_id,
                    len(self._items),
                    self._bytes // 1024**2,
                )
                return
            self._items.append((item, size))
            self._bytes += size
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
                item, size = self._items[0]
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
                self._bytes -= size
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


class LiveDetector:
    """The camera process's per-frame work, apart from the camera: the C detector, the star stack
    (`edge.station.star_stack`) and the restart of both when the frame times jump.

    `feed(image, frame_index, t_unix)` returns the events ready to go, each with the star stack to
    calibrate it on. A jump of the frame time by more than `restart_gap_s` forward (a paused camera,
    the next file of a replayed playlist), or any step back in time or frame index, flushes the
    detector (its events go out with the stack from before the jump), and starts a new detector
    and star stack: the old background belongs to another sky. While the star stack holds fewer
    than `min_stack_frames` frames (just after a start or such a restart) an event is held for at
    most `hold_frames` frames so that the stack can grow past it; once a whole run is stacked
    nothing is held.
    """

    def __init__(
        self,
        width: int,
        height: int,
        det_cfg,
        sky_mask: np.ndarray | None,
        *,
        restart_gap_s: float = 5.0,
        stack_frames: int = 256,
        stack_refresh_s: float = 120.0,
        min_stack_frames: int = 64,
        hold_frames: int = 60,
    ) -> None:
        from edge.station.star_stack import StarStacker

        self.width, self.height, self.det_cfg, self.sky_mask = width, height, det_cfg, sky_mask
        self.restart_gap_s = float(restart_gap_s)
        self.min_stack_frames = int(min_stack_frames)
        self.hold_frames = int(hold_frames)
        self.stacker = StarStacker(width, height, stack_frames, stack_refresh_s)
        self.detector = self._new_detector()
        self.restarts = 0
        self.last_t: float | None = None
        self.last_index: int | None = None
        self._held: list[tuple[int, object]] = []  # (frames seen when held, event)
        self._seen = 0

    def _new_detector(self):
        from edge.detect.detector import Detector

        return Detector(self.width, self.height, self.det_cfg, sky_mask=self.sky_mask)

    def feed(self, image: np.ndarray, frame_index: int, t_unix: float) -> list[tuple]:
        """One frame in; `(event, star_stack)` pairs out. ValueError for a frame the detector refuses
        (wrong size)."""
        out: list[tuple] = []
        if self.last_t is not None and (
            t_unix - self.last_t > self.restart_gap_s
            or t_unix <= self.last_t
            or frame_index <= self.last_index
        ):
            out += self.flush()
            log.info(
                "event=background_restart gap_s=%.3f index_step=%d",
                t_unix - self.last_t,
                frame_index - self.last_index,
            )
            self.detector = self._new_detector()
            self.stacker.reset()
            self.restarts += 1
        events = self.detector.process(image, t_unix, frame_index)
        self.last_t, self.last_index = t_unix, frame_index
        self._seen += 1
        self.stacker.add(image, frame_index, t_unix)
        for ev in events:
            self.stacker.exclude(ev)
            self._held.append((self._seen, ev))
        ready = self.stacker.n_frames >= self.min_stack_frames or self.stacker.frames_wanted == 0
        while self._held and (ready or self._seen - self._held[0][0] >= self.hold_frames):
            out.append((self._held.pop(0)[1], self.stacker.current()))
        return out

    def flush(self) -> list[tuple]:
        """Every event still open or held, with the star stack as it is now."""
        for ev in self.detector.flush():
            self.stacker.exclude(ev)
            self._held.append((self._seen, ev))
        stack = self.stacker.current()
        out = [(ev, stack) for _, ev in self._held]
        self._held.clear()
        return out


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
    from edge.detect.detector import DetectorConfig
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
    cap = cfg.capture
    live = LiveDetector(
        info.width_px,
        info.height_px,
        det_cfg,
        mask,
        restart_gap_s=cap.restart_after_gap_s,
        stack_frames=cap.star_stack_frames,
        stack_refresh_s=cap.star_stack_refresh_s,
        min_stack_frames=cap.star_stack_min_frames,
        hold_frames=cap.hold_frames,
    )
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

    def send(ev, stack) -> None:
        item = {**camera_info, "time_quality": tq_dump}
        if stack is not None:
            item["star_stack"] = stack.to_info()
        sender.put((item, ev))
        stats["events_total"] += 1
        log.info(
            "camera=%s event=detected kind=%s frames=%d t_unix=%.3f star_stack_frames=%d",
            cam.id,
            ev.kind,
            len(ev.frame_index),
            float(ev.t_unix[0]),
            stack.n_frames if stack is not None else 0,
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
            for ev, stack in live.flush():
                send(ev, stack)
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
            ready = live.feed(frame.image, frame.frame_index, frame.utc_unix_s)
        except ValueError as exc:
            stats["message"] = f"frame skipped: {exc}"[:300]
            continue
        for ev, stack in ready:
            send(ev, stack)
        stats["background_restarts"] = live.restarts
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
    for ev, stack in live.flush():
        send(ev, stack)
    sender.close()
    backend.close()
