"""The extractor process: every detector event measured, classified, matched with aircraft, written
as products and handed to the uplink's outbox.

Inputs: `(camera_info, Event)` items from the camera processes on the socket
`<data_dir>/state/extractor.sock` (`edge.station.camera_process.EventSender`), queued in
`edge.station.event_queue.EventQueue` (memory, spilling to disk, oldest first). Per event:
1. measurement (`edge.process.measure_event`): calibration on the star stack the camera process
   sends with the event (`edge.station.star_stack`: a mean of up to 256 recent frames with events'
   light taken out; the event's own clip aggregates when that holds fewer frames), positions,
   photometry; the camera's last good calibration is kept between events
   (`edge.process.CameraState.last_good`) and a failed fit falls back to it;
2. classification (`edge.classify.runtime.Classifier`) of the event's aggregates made as the
   classifier's training made them (`classifier_view`); a missing or unusable model gives
   `unclassified` with the reason (and the status says why); detection and reports go on;
3. aircraft (`edge.adsb`, with `[adsb] enabled`): the Beast feed read in a background thread
   (`BeastReceiver` -> `AdsbDecoder` -> `TrackStore`), each event matched with `match_event`
   through the calibrated camera model; no feed: the status says absent/degraded, events go on;
4. products (`edge.process.write_products`: FITS, PNG, MP4, ECSV, JSON) under
   `<data_dir>/products/<station>/<camera>/`; with `[uplink] http_url` the four product files are
   queued for upload (`upload_spool`, which the uplink process's `FileUploader` drains) and the
   report's `products[].url` names where the bridge will serve them
   (`FileUploader.url_for`: known before the upload, the file is there once the upload is done);
   then the `ObservationReport` into the outbox
   (`<data_dir>/outbox/outbox.sqlite`, keyed by observation id: a re-processed event is not
   queued twice), which the uplink process drains.
Slow movers (satellites, aircraft) are reported too, with their classification and aircraft match;
the bridge solves only meteor-like ones. The disk budget is enforced after each event (oldest raw
clips pruned first).

The observation id is made from the event's first frame time and frame index, so the same event
always gets the same id (idempotent through a restart).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection, Listener
from pathlib import Path

import numpy as np

from edge.station.camera_process import events_socket
from edge.station.config import StationConfig, load_config
from edge.station.event_queue import DiskBudget, EventQueue
from edge.station.link import ChildLink, setup_child_logging

log = logging.getLogger(__name__)

RECENT_EVENTS = 50


def outbox_path(data_dir: Path) -> Path:
    return Path(data_dir) / "outbox" / "outbox.sqlite"


def upload_spool(data_dir: Path) -> Path:
    """The product upload queue (`edge.uplink.upload.FileUploader`'s SQLite file): the extractor
    queues files in it, the uplink process uploads them."""
    return Path(data_dir) / "outbox" / "uploads.sqlite"


def submit_report(outbox, report) -> bool:
    """Store a report in the outbox exactly as `Uplink.submit_report` does (topic, QoS, key)."""
    from edge.protocol import TOPICS, encode_message, parse_topic, topic_for
    from edge.uplink.outbox import MessageKind

    topic = topic_for(report)
    spec = TOPICS[parse_topic(topic)[1]]
    return outbox.put(
        topic, encode_message(report), spec.qos, spec.retain, MessageKind.REPORT, report.observation_id
    )


def trim_to_clip(event):
    """The event restricted to the detections its clip holds (long slow movers outlast the clip)."""
    keep = np.isin(event.frame_index, event.clip_frame_index)
    if keep.all():
        return event
    sel = {
        f: getattr(event, f)[keep]
        for f in ("frame_index", "t_unix", "x_px", "y_px", "flux_adu", "bbox", "n_pixels")
    }
    return dataclasses.replace(event, **sel)


@dataclasses.dataclass
class ClassifierView:
    """What `edge.classify.preprocess.crop_from_event` reads, made from a detector event the way the
    classifier's training candidates are made (`edge.classify.dataset.aggregate`)."""

    max_pixel: np.ndarray
    max_frame: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    x_px: np.ndarray
    y_px: np.ndarray
    t_unix: np.ndarray


def classifier_view(event) -> ClassifierView:
    """The event's aggregates as the classifier's training made them (`edge.classify.dataset.aggregate`):
    inside the clip's box, the background mean and spread over the clip's frames up to one after the
    last detection with each pixel's `TOP_LEFT_OUT` highest values left out, and the max (and its
    frame) over the detections' frames and one frame either side; outside the box the detector's own
    aggregates (no light of the event there).

    Why: the detector's `Event.mean`/`std` leave out only the pixels its track touched, so the
    meteor's fainter wings stay in them and inflate the spread there; training left out each
    pixel's highest values instead. On simulated 480x270 meteors the detector's aggregates were
    classified 'cloud' (0.76-0.92) where training's aggregates of the same frames gave 'meteor'
    (1.00); these give 'meteor' (0.87-0.88) for two of three (`docs/station.md`). Training also
    takes 24 frames before the track, the clip has `margin_frames` (5): the rest of the difference."""
    from edge.classify.dataset import TOP_LEFT_OUT

    x0, y0 = (int(v) for v in event.clip_origin)
    idx = np.asarray(event.clip_frame_index)
    first, last = int(event.frame_index.min()), int(event.frame_index.max())
    frames = np.asarray(event.clip)
    h, w = frames.shape[1:]
    box = (slice(y0, y0 + h), slice(x0, x0 + w))
    bg = frames[idx <= last + 1].astype(np.float32)
    n_keep = max(2, len(bg) - TOP_LEFT_OUT)
    keep = np.partition(bg, n_keep - 1, axis=0)[:n_keep] if n_keep < len(bg) else bg
    win = np.flatnonzero((idx >= first - 1) & (idx <= last + 1))
    mean = np.array(event.mean, np.float32)
    std = np.array(event.std, np.float32)
    max_pixel = np.array(event.max_pixel)
    max_frame = np.array(event.max_frame)
    mean[box] = keep.mean(0)
    std[box] = keep.std(0)
    window = frames[win]
    max_pixel[box] = window.max(0)
    max_frame[box] = win[0] + window.argmax(0)  # clip frame numbers, as the detector's max_frame
    return ClassifierView(max_pixel, max_frame, mean, std, np.asarray(event.x_px), np.asarray(event.y_px),
                          np.asarray(event.t_unix))  # fmt: skip


class AdsbFeed:
    """The ADS-B side of the extractor: receiver thread -> decoder -> track store (locked)."""

    def __init__(self, cfg: StationConfig, site) -> None:
        from edge.adsb.decode import AdsbDecoder
        from edge.adsb.receiver import BeastReceiver
        from edge.adsb.tracks import TrackStore

        self.lock = threading.Lock()
        self.decoder = AdsbDecoder(reference=site)
        self.store = TrackStore(window_s=900.0)
        self.receiver = BeastReceiver(
            self._on_frame,
            host=cfg.adsb.host,
            port=cfg.adsb.port,
            stale_s=cfg.adsb.stale_s,
            backoff_max_s=30.0,
        )
        self.receiver.start()

    def _on_frame(self, t_unix: float, frame) -> None:
        with self.lock:
            fix = self.decoder.decode_frame(frame, t_unix)
            if fix is not None:
                self.store.add(fix)

    def match(self, site, t_unix, x_px, y_px, model):
        from edge.adsb.match import match_event

        with self.lock:
            for a in self.decoder.aircraft.values():
                self.store.set_callsign(a.icao24, a.callsign, a.t_last_unix)
            return match_event(self.store, site, t_unix, x_px=x_px, y_px=y_px, camera_model=model).match

    def status(self) -> dict:
        s = self.receiver.status()
        state = {"connected": "ok"}.get(s.state, s.state)
        return {"state": state, "message": s.reason or f"{s.frames} frames from {s.endpoint}"}


class Extractor:
    """Measures queued events one by one (see the module docstring)."""

    def __init__(self, cfg: StationConfig) -> None:
        from edge.geometry.celestial import Atmosphere
        from edge.geometry.earth import Site
        from edge.uplink.outbox import Outbox

        self.cfg = cfg
        data = cfg.data_dir
        self.products_dir = data / "products"
        self.budget = DiskBudget(cfg.queue.disk_budget_bytes, self.products_dir, data / "spill")
        self.queue = EventQueue(cfg.queue.memory_events, data / "spill", self.budget)
        self.outbox = Outbox(outbox_path(data))
        self.site = Site(cfg.station.latitude_deg, cfg.station.longitude_deg, cfg.station.height_m)
        self.atmosphere = Atmosphere.standard_at(self.site.height_m)
        self.states: dict[str, object] = {}
        self.recent: list[dict] = []
        self.counts = {"processed": 0, "failed": 0, "reports": 0, "received": 0}
        self.classifier = None
        self.classifier_status = {"state": "disabled", "message": "[classifier] enabled = false"}
        if cfg.classifier.enabled:
            from edge.classify.runtime import Classifier

            self.classifier = Classifier(cfg.classifier.model or None)
            self.classifier_status = (
                {"state": "ok", "message": self.classifier.model_version}
                if self.classifier.ok
                else {"state": "error", "message": f"events unclassified: {self.classifier.status}"}
            )
        self.uploader = None  # enqueues product files; the uplink process's FileUploader sends them
        if cfg.uplink.http_url:
            try:
                from edge.uplink.upload import FileUploader
            except ImportError:  # the uplink process's status says so
                pass
            else:
                self.uploader = FileUploader(cfg.uplink.http_url, cfg.station.id, "", upload_spool(data))
        self.adsb: AdsbFeed | None = None
        self.adsb_status = {"state": "disabled", "message": "[adsb] enabled = false"}
        if cfg.adsb.enabled:
            self.adsb = AdsbFeed(cfg, self.site)

    # -- intake -------------------------------------------------------------------------------
    def serve(self, stopping: threading.Event) -> Listener:
        address = events_socket(self.cfg.data_dir)
        address.parent.mkdir(parents=True, exist_ok=True)
        address.unlink(missing_ok=True)
        listener = Listener(str(address), family="AF_UNIX")

        def accept() -> None:
            while not stopping.is_set():
                try:
                    conn = listener.accept()
                except OSError:
                    return
                threading.Thread(target=self._receive, args=(conn,), daemon=True).start()

        threading.Thread(target=accept, name="extractor-accept", daemon=True).start()
        return listener

    def _receive(self, conn: Connection) -> None:
        with conn:
            while True:
                try:
                    info, event = conn.recv()
                except (EOFError, OSError):
                    return
                self.counts["received"] += 1
                self.queue.put(info, event)

    # -- processing ---------------------------------------------------------------------------
    def context(self, info: dict):
        from edge.astrometry.camera_model import CameraModel
        from edge.process import CameraState, MeasureContext, StarStack
        from edge.protocol import TimeQuality

        state = self.states.setdefault(info["camera_id"], CameraState())
        return MeasureContext(
            station_id=info["station_id"],
            camera_id=info["camera_id"],
            site=self.site,
            atmosphere=self.atmosphere,
            nominal=CameraModel.from_dict(info["nominal_model"]),
            time_quality=TimeQuality.model_validate(info["time_quality"]),
            fps=float(info["fps"]),
            exposure_s=float(info["exposure_s"]),
            state=state,
            star_stack=StarStack.from_info(info["star_stack"]) if info.get("star_stack") else None,
        )

    def process(self, info: dict, event) -> dict:
        """Measure, classify, match and write one event; returns its summary (recent events)."""
        from edge.process import measure_event, write_products
        from edge.protocol import make_observation_id

        ctx = self.context(info)
        t0 = float(event.t_unix[0])
        observation_id = make_observation_id(
            ctx.station_id, ctx.camera_id, datetime.fromtimestamp(t0, UTC), int(event.frame_index[0])
        )
        result = None  # the classifier's Result: the verdict, and the saliency map the PNG shows
        if self.classifier is not None:
            # the plate scale of the configured camera: the calibration's start, always at hand
            deg_per_px = ctx.nominal.pixel_scale_arcmin / 60.0
            result = self.classifier.classify_event(classifier_view(event), deg_per_px)
        classification = result.classification if result is not None else None
        measured = trim_to_clip(event)
        m = measure_event(ctx, measured)
        aircraft = None
        if self.adsb is not None:
            model = m["cal"].model if m["trusted"] else ctx.nominal
            try:
                aircraft = self.adsb.match(ctx.site, event.t_unix, event.x_px, event.y_px, model)
            except ValueError as exc:
                log.warning("observation=%s adsb_match=failed reason=%s", observation_id, exc)
        stored: list[bool] = []
        folder = self.products_dir / ctx.station_id / ctx.camera_id

        def on_report(r) -> None:
            if self.uploader is not None:  # queued before the report, so a report's files are never left out
                for p in r.products:
                    self.uploader.enqueue(folder / p.name, observation_id, p.kind.value)
            stored.append(submit_report(self.outbox, r))

        paths = write_products(
            ctx,
            measured,
            m,
            observation_id,
            self.products_dir,
            result,
            aircraft,
            on_report=on_report,
            adsb_note=None if self.adsb is not None else "ADS-B off at this station",
            product_url=self.uploader.url_for if self.uploader is not None else None,
        )
        report = paths["report"]
        self.budget.make_room(0)
        self.counts["reports"] += 1
        summary = {
            "observation_id": observation_id,
            "camera_id": ctx.camera_id,
            "utc": datetime.fromtimestamp(t0, UTC).isoformat(),
            "kind": event.kind,
            "label": classification.label.value if classification else None,
            "score": classification.score if classification else None,
            "aircraft": (aircraft.callsign or aircraft.icao24) if aircraft else None,
            "peak_mag": report.detector.peak_mag if report.detector else None,
            "n_frames": len(event.frame_index),
            "calibrated": bool(m["cal"].ok),
        }
        log.info(
            "station=%s camera=%s observation=%s event=reported kind=%s label=%s aircraft=%s calibrated=%s "
            "queued=%s",
            ctx.station_id,
            ctx.camera_id,
            observation_id,
            event.kind,
            summary["label"],
            summary["aircraft"],
            summary["calibrated"],
            stored[0],
        )
        return summary

    def step(self, timeout_s: float) -> bool:
        """Process the oldest queued event, if any within `timeout_s`; True if one was handled."""
        item = self.queue.get(timeout_s)
        if item is None:
            return False
        info, event, path = item
        try:
            summary = self.process(info, event)
            self.recent.insert(0, summary)
            del self.recent[RECENT_EVENTS:]
            self.counts["processed"] += 1
        except Exception:  # one bad event must not stop the others; logged with its traceback
            self.counts["failed"] += 1
            log.exception(
                "camera=%s t_unix=%.3f event=processing_failed", info.get("camera_id"), float(event.t_unix[0])
            )
        self.queue.done(path)
        return True

    def stats(self) -> dict:
        if self.adsb is not None:
            self.adsb_status = self.adsb.status()
        return {
            "state": "ok",
            "queue_depth": len(self.queue),
            "queue_on_disk": self.queue.on_disk,
            "queue_spilled": self.queue.spilled_total,
            "queue_refused": self.queue.refused,
            "pruned_files": self.budget.pruned_files,
            "disk_used_bytes": self.budget.used_bytes(),
            "outbox_depth": self.outbox.depth(),
            "classifier": self.classifier_status,
            "adsb": self.adsb_status,
            "recent_events": list(self.recent),
            **self.counts,
        }


def run_extractor(config_path: str, conn: Connection, verbose: bool = False) -> None:
    """Entry point of the extractor process (spawned by the supervisor)."""
    setup_child_logging("extractor", verbose)
    link = ChildLink(conn)
    cfg = load_config(config_path)
    ex = Extractor(cfg)
    listener = ex.serve(link.stopping)
    last_stats = 0.0
    stats = ex.stats()
    link.heartbeat(stats, force=True)
    while not link.stopping.is_set():
        link.poll()
        ex.step(0.2)
        now = time.monotonic()
        if now - last_stats >= cfg.supervisor.heartbeat_s:
            stats = ex.stats()  # walks the products folder: not on every round
            last_stats = now
        link.heartbeat({**stats, "queue_depth": len(ex.queue)})
    listener.close()
    n = ex.queue.spill_all()
    if n:
        log.info("event=queue_spilled_at_stop n=%d", n)
    ex.outbox.close()
