"""The uplink process: `edge.uplink.Uplink` drains the outbox to the broker, publishes the station's
retained status and its telemetry, and answers fleet commands.

Inputs: `[uplink]` of the station config; the outbox `<data_dir>/outbox/outbox.sqlite` that the
extractor fills (SQLite in WAL mode: two processes share it safely); the supervisor's snapshot
`<data_dir>/state/status.json` (`edge.station.snapshot`) for the status and telemetry (per-camera
frame rate and dropped frames, time quality, queue depth). Commands: `config`,
`capture_test_frame` and `restart` are relayed to the supervisor through this process's pipe and
answered with what it replies; `firmware_update` runs `edge.station.firmware.handle_firmware_update`
here (imported when first asked; a system without that module or without `rauc` answers that the
update is not available on it).

With `[uplink] enrol_token` and no stored credentials the station enrols first
(`edge.uplink.enrol`); with `[uplink] http_url` product files are uploaded with
`edge.uplink.upload.FileUploader`. Both modules are imported when needed; where they are missing the
status says so and the reports still go out over MQTT.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from edge.station.config import StationConfig, load_config
from edge.station.extractor import outbox_path, upload_spool
from edge.station.link import ChildLink, setup_child_logging
from edge.station.snapshot import StationSnapshot, read_snapshot

log = logging.getLogger(__name__)

RELAY_TIMEOUT_S = 600.0
_STATE = {
    "online": "online",
    "degraded": "degraded",
    "day-idle": "day-idle",
    "starting": "online",
    "config-error": "degraded",
}
_CAMERA_STATE = {
    "capturing": "capturing",
    "idle": "idle",
    "starting": "starting",
    "error": "error",
    "offline": "offline",
}


def status_from_snapshot(snap: StationSnapshot | None) -> tuple[str, str | None, list]:
    """(state, message, cameras) of the wire contract's StationStatus from the supervisor's snapshot."""
    from edge.protocol import CameraStatus

    if snap is None:
        return "online", "starting", []
    cams = [
        CameraStatus(
            camera_id=c.camera_id,
            state=_CAMERA_STATE.get(c.state, "error"),
            message=(c.message or None) and c.message[:2000],
        )
        for c in snap.cameras
    ]
    return _STATE.get(snap.state, "degraded"), (snap.message or None) and snap.message[:2000], cams


def telemetry_from_snapshot(cfg: StationConfig, outbox):
    from edge.protocol import CameraTelemetry
    from edge.uplink.telemetry import collect_telemetry

    try:
        snap = read_snapshot(cfg.data_dir)
    except ValueError:
        snap = None
    cams = [
        CameraTelemetry(camera_id=c.camera_id, fps=max(c.fps, 0.0), dropped_frames=c.dropped_frames)
        for c in (snap.cameras if snap else [])
    ]
    return collect_telemetry(
        cfg.station.id,
        outbox_depth=outbox.depth(),
        queue_depth=snap.queue_depth if snap else 0,
        time_quality=snap.time_quality if snap else None,
        cameras=cams,
        data_path=cfg.data_dir,
    )


class Relay:
    """Fleet commands handed to the supervisor, each waiting for its reply."""

    def __init__(self, link: ChildLink) -> None:
        self.link = link
        self._waiting: dict[str, tuple[threading.Event, list]] = {}
        self._lock = threading.Lock()

    def __call__(self, command):
        from edge.uplink import CommandFailed

        done, box = threading.Event(), []
        with self._lock:
            self._waiting[command.request_id] = (done, box)
        self.link.send(("cmd", command.request_id, command.kind.value, dict(command.args)))
        if not done.wait(RELAY_TIMEOUT_S):
            raise CommandFailed(f"the station did not answer within {RELAY_TIMEOUT_S:.0f} s")
        ok, message, data = box[0]
        if not ok:
            raise CommandFailed(message)
        return {"message": message, **(data or {})}

    def reply(self, request_id: str, ok: bool, message: str, data) -> None:
        with self._lock:
            waiting = self._waiting.pop(request_id, None)
        if waiting is not None:
            waiting[1].append((ok, message, data))
            waiting[0].set()


def firmware_handler(data_dir: Path):
    def handle(command):
        from edge.uplink import CommandFailed

        try:
            from edge.station.firmware import handle_firmware_update
        except ImportError as exc:
            raise CommandFailed(f"firmware update is not available on this system ({exc})") from None
        if shutil.which("rauc") is None:
            raise CommandFailed("firmware update is not available on this system: 'rauc' is not installed")
        return handle_firmware_update(command, data_dir)

    return handle


def _credentials(cfg: StationConfig) -> tuple[str | None, str | None, str | None]:
    """(username, password, note) from stored credentials, enrolment, or the config."""
    up = cfg.uplink
    username, password = up.username, up.resolved_password()
    try:
        from edge.uplink.enrol import enrol, load_credentials
    except ImportError:
        return username, password, None if not up.enrol_token else "enrolment not available in this build"
    creds = load_credentials(cfg.data_dir)
    if creds is None and up.enrol_token and up.http_url:
        try:
            creds = enrol(up.http_url, cfg.station.id, up.enrol_token, cfg.data_dir)
        except Exception as exc:  # enrolment retried at the next start; the status says why
            return username, password, f"enrolment failed: {exc}"[:300]
    if creds is not None:
        return getattr(creds, "mqtt_username", username), getattr(creds, "mqtt_password", password), None
    return username, password, None


def _uploader(cfg: StationConfig):
    up = cfg.uplink
    if not up.http_url:
        return None, None
    try:
        from edge.uplink.upload import FileUploader
    except ImportError:
        return None, "product upload not available in this build (edge.uplink.upload)"
    try:
        from edge.uplink.enrol import load_credentials

        creds = load_credentials(cfg.data_dir)
        token = getattr(creds, "http_token", None) if creds else None
    except ImportError:
        token = None
    note = None if token else "no HTTP token stored (enrol with [uplink] enrol_token): uploads are refused"
    uploader = FileUploader(up.http_url, cfg.station.id, token or "", upload_spool(cfg.data_dir))
    uploader.start()
    return uploader, note


def run_uplink(config_path: str, conn: Connection, verbose: bool = False) -> None:
    """Entry point of the uplink process (spawned by the supervisor)."""
    from edge.protocol import CommandKind
    from edge.uplink import Outbox, TlsConfig, Uplink

    setup_child_logging("uplink", verbose)
    link = ChildLink(conn)
    cfg = load_config(config_path)
    up = cfg.uplink
    outbox = Outbox(outbox_path(cfg.data_dir))
    if up.host is None:
        while not link.stopping.is_set():
            link.poll()
            link.heartbeat(
                {
                    "state": "disabled",
                    "connected": False,
                    "broker": None,
                    "outbox_depth": outbox.depth(),
                    "message": "no [uplink] host configured",
                }
            )
            time.sleep(0.2)
        return
    username, password, note = _credentials(cfg)
    tls = TlsConfig(up.ca_file, up.cert_file, up.key_file) if up.tls else None
    uplink = Uplink(
        cfg.station.id,
        up.host,
        up.port,
        outbox,
        tls=tls,
        username=username,
        password=password,
        keepalive_s=up.keepalive_s,
        reconnect_min_s=0.5,
        reconnect_max_s=up.reconnect_max_s,
        resend_after_s=30.0,
        telemetry_interval_s=up.telemetry_interval_s,
        telemetry_provider=lambda: telemetry_from_snapshot(cfg, outbox),
    )
    relay = Relay(link)
    for kind in (CommandKind.CONFIG, CommandKind.CAPTURE_TEST_FRAME, CommandKind.RESTART):
        uplink.register_handler(kind, relay)
    uplink.register_handler(CommandKind.FIRMWARE_UPDATE, firmware_handler(cfg.data_dir))
    uplink.set_status(*status_from_snapshot(None))
    uplink.start()
    uploader, upload_note = _uploader(cfg)
    last_status = None
    for tick in itertools.count():
        if link.stopping.is_set():
            break
        msg = link.poll()
        while msg is not None:
            if msg[0] == "reply":
                relay.reply(*msg[1:])
            msg = link.poll() if not link.stopping.is_set() else None
        if tick % 10 == 0:
            try:
                status = status_from_snapshot(read_snapshot(cfg.data_dir))
            except ValueError:
                status = None
            if status is not None and status != last_status:
                uplink.set_status(*status)
                last_status = status
        link.heartbeat(
            {
                "state": "ok" if uplink.connected else "retrying",
                "connected": uplink.connected,
                "broker": f"{up.host}:{up.port}",
                "outbox_depth": outbox.depth(),
                "stats": dict(uplink.stats),
                "message": "; ".join(n for n in (note, upload_note) if n) or None,
                "uploads_pending": uploader.pending() if uploader is not None else None,
            }
        )
        time.sleep(0.1)
    uplink.stop()
    if uploader is not None:
        uploader.stop()
    outbox.close()
