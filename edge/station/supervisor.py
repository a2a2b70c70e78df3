"""`skytrail station run`: the supervisor, the one process systemd starts (Type=notify, WatchdogSec).

It spawns and watches its children (`multiprocessing`, spawn start method; each with its own pipe,
`edge.station.link`):
- `camera-<id>`, one per `[[camera]]` (`edge.station.camera_process`), only while it is night
  (`edge.station.schedule`; `[night] always_on` for tests and demos);
- `extractor` (`edge.station.extractor`): measurement, classification, ADS-B, products, outbox;
- `uplink` (`edge.station.uplink_process`): MQTT, status, telemetry, fleet commands;
- `web` (`edge.station.web_process`): the local page, when `[web] enabled`.

Heartbeats: each child sends one every `[supervisor] heartbeat_s` with its counters. A child that
exits, or sends nothing for `hang_timeout_s` (`extractor_timeout_s` for the extractor, which may
spend that long on one event), is killed and started again after a back-off (from
`restart_backoff_min_s`, doubling up to `restart_backoff_max_s`; reset after a minute of good
running): a dead camera is running again within about 1-5 s, a hung one within
hang_timeout_s + back-off (under 10 s with the defaults). Every restart is logged
(`event=child_restart`) and counted in the status.

The status snapshot (`edge.station.snapshot`, `<data_dir>/state/status.json`) is written every
`snapshot_interval_s`; systemd gets READY=1 once the children are started and WATCHDOG=1 from the
main loop (so a stuck supervisor is restarted by systemd), through $NOTIFY_SOCKET.

Commands relayed by the uplink: `config` (args merged into the config, or `toml` = a whole new
file): validated, written atomically (the old file kept as `station.toml.prev`), the children
restarted with it, and rolled back if the station is not healthy within `healthy_within_s`;
`capture_test_frame` (a camera writes `state/cameras/<id>/latest.png` and the answer says where);
`restart` (`component`: a camera id, `extractor`, `uplink`, `web`, or all).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import shutil
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from edge.station.config import (
    ConfigError,
    StationConfig,
    dump_toml,
    load_config,
    merge,
    parse_toml,
    validate_config,
)
from edge.station.schedule import NightSchedule
from edge.station.snapshot import CameraSnapshot, ComponentSnapshot, StationSnapshot, write_snapshot

log = logging.getLogger(__name__)

FRESH_FRAME_S = 30.0
GOOD_RUN_S = 60.0  # a child that ran this long before failing starts again at the shortest back-off


def sd_notify(message: str) -> bool:
    """Send a systemd notification (READY=1, WATCHDOG=1, STATUS=...) to $NOTIFY_SOCKET, if set."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(message.encode(), address)
        return True
    except OSError as exc:
        log.warning("systemd_notify failed=%r reason=%s", message, exc)
        return False


def watchdog_interval_s() -> float | None:
    usec = os.environ.get("WATCHDOG_USEC")
    try:
        return int(usec) / 2e6 if usec else None
    except ValueError:
        return None


def software_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("skytrail")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass
class Child:
    """One supervised process and what the supervisor knows of it."""

    name: str
    kind: str  # camera | extractor | uplink | web
    target: Any
    args: tuple
    hang_timeout_s: float
    camera_id: str | None = None
    proc: Any = None
    conn: Connection | None = None
    started: float = 0.0
    last_hb: float = 0.0
    stats: dict = field(default_factory=dict)
    restarts: int = 0
    backoff_s: float = 0.0
    next_start: float = 0.0
    wanted: bool = True
    last_reason: str | None = None
    beats_since_start: int = 0

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.is_alive()


class Supervisor:
    """Runs the station (see the module docstring)."""

    def __init__(self, config_path: str | Path, verbose: bool = False) -> None:
        self.config_path = Path(config_path)
        self.verbose = verbose
        self.cfg: StationConfig = load_config(self.config_path)
        self.ctx = mp.get_context("spawn")
        self.children: dict[str, Child] = {}
        self.stopping = threading.Event()
        self._lock = threading.RLock()
        self._commands: list[tuple[Child, tuple]] = []
        self._pending_replies: dict[str, Child] = {}
        self.config_error: str | None = None
        self.boot_message: str | None = None
        self._reload_at: float | None = None
        self._reloads = 0
        self._time_monitor = None
        self._build_children()

    # -- children -----------------------------------------------------------------------------
    def _build_children(self) -> None:
        from edge.station.camera_process import run_camera
        from edge.station.extractor import run_extractor
        from edge.station.uplink_process import run_uplink
        from edge.station.web_process import run_web

        cfg, sup = self.cfg, self.cfg.supervisor
        path = str(self.config_path)
        specs = [
            Child(f"camera-{c.id}", "camera", run_camera, (path, c.id), sup.hang_timeout_s, c.id)
            for c in cfg.camera
        ]
        specs.append(Child("extractor", "extractor", run_extractor, (path,), sup.extractor_timeout_s))
        if "uplink" not in self.children:  # the uplink survives a config reload (it answers the command)
            specs.append(Child("uplink", "uplink", run_uplink, (path,), sup.hang_timeout_s))
        if cfg.web.enabled:
            specs.append(Child("web", "web", run_web, (path,), sup.hang_timeout_s))
        for child in specs:
            child.backoff_s = sup.restart_backoff_min_s
            self.children[child.name] = child

    def _start(self, child: Child) -> None:
        parent, child_end = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(
            target=child.target, args=(*child.args, child_end, self.verbose), name=child.name, daemon=False
        )
        proc.start()
        child_end.close()
        now = time.monotonic()
        child.proc, child.conn, child.started, child.last_hb = proc, parent, now, now
        child.beats_since_start = 0
        child.stats = {**child.stats, "state": "starting"}
        log.info("event=child_started child=%s pid=%d", child.name, proc.pid)

    def _stop(self, child: Child, timeout_s: float = 10.0) -> None:
        if child.proc is None:
            return
        if child.proc.is_alive():
            try:
                child.conn.send(("stop",))
            except OSError:
                pass
            child.proc.join(timeout_s)
            if child.proc.is_alive():
                child.proc.terminate()
                child.proc.join(3.0)
            if child.proc.is_alive():
                child.proc.kill()
                child.proc.join(3.0)
        if child.conn is not None:
            child.conn.close()
        child.proc, child.conn = None, None

    def _kill(self, child: Child) -> None:
        if child.proc is not None and child.proc.is_alive():
            child.proc.kill()
            child.proc.join(3.0)
        if child.conn is not None:
            child.conn.close()
        child.proc, child.conn = None, None

    def _failed(self, child: Child, reason: str) -> None:
        """A child died or hung: schedule its restart with back-off, and say so."""
        sup = self.cfg.supervisor
        now = time.monotonic()
        if now - child.started >= GOOD_RUN_S:
            child.backoff_s = sup.restart_backoff_min_s
        delay = child.backoff_s
        child.backoff_s = min(max(child.backoff_s * 2.0, 0.25), sup.restart_backoff_max_s)
        child.restarts += 1
        child.last_reason = reason
        child.next_start = now + delay
        child.stats = {**child.stats, "state": "error", "message": f"restarting: {reason}"[:300]}
        log.warning(
            "event=child_restart child=%s reason=%r restarts=%d delay_s=%.2f",
            child.name,
            reason,
            child.restarts,
            delay,
        )

    def _check_children(self, night: bool) -> None:
        now = time.monotonic()
        for child in list(self.children.values()):
            want = child.wanted and (child.kind != "camera" or night)
            if not want:
                if child.proc is not None:
                    self._stop(child)
                    child.stats = {
                        **child.stats,
                        "state": "idle" if child.kind == "camera" else "stopped",
                        "fps": 0.0,
                        "message": "daytime" if child.kind == "camera" else None,
                    }
                continue
            if child.proc is None:
                if now >= child.next_start:
                    self._start(child)
                continue
            if not child.proc.is_alive():
                code = child.proc.exitcode
                self._kill(child)
                self._failed(child, f"exited with code {code}")
            elif now - child.last_hb > self._timeout(child):
                self._kill(child)
                self._failed(child, f"no heartbeat for {now - child.last_hb:.1f} s (hung)")

    def _timeout(self, child: Child) -> float:
        """Silence allowed: longer while a child starts (imports, opening the camera, loading models)."""
        starting = child.stats.get("state") in (None, "starting")
        return (
            max(child.hang_timeout_s, self.cfg.supervisor.start_timeout_s)
            if starting
            else child.hang_timeout_s
        )

    def _read_messages(self, timeout_s: float) -> None:
        conns = {c.conn: c for c in self.children.values() if c.conn is not None}
        if not conns:
            time.sleep(timeout_s)
            return
        for conn in wait(list(conns), timeout_s):
            child = conns[conn]
            try:
                while conn.poll():
                    self._handle(child, conn.recv())
            except (EOFError, OSError):
                pass  # the child is gone; _check_children sees it

    def _handle(self, child: Child, msg: tuple) -> None:
        kind = msg[0]
        if kind == "hb":
            child.last_hb = time.monotonic()
            child.beats_since_start += 1
            child.stats = msg[1]
        elif kind == "cmd":
            threading.Thread(target=self._run_command, args=(child, msg), daemon=True).start()
        elif kind == "reply":
            request_id = msg[1]
            target = self._pending_replies.pop(request_id, None)
            if target is not None and target.conn is not None:
                target.conn.send(msg)

    # -- commands -----------------------------------------------------------------------------
    def _answer(self, uplink: Child, request_id: str, ok: bool, message: str, data: dict | None) -> None:
        with self._lock:
            if uplink.conn is not None:
                try:
                    uplink.conn.send(("reply", request_id, ok, message, data))
                except OSError:
                    log.warning("event=answer_lost request_id=%s", request_id)

    def _run_command(self, uplink: Child, msg: tuple) -> None:
        _, request_id, kind, args = msg
        try:
            if kind == "capture_test_frame":
                self._capture_test_frame(uplink, request_id, args)
                return
            if kind == "restart":
                ok, message, data = self._restart_command(args)
            elif kind == "config":
                ok, message, data = self.apply_config(args)
            else:
                ok, message, data = False, f"unknown command {kind!r}", None
        except Exception as exc:  # answered, never fatal
            log.exception("event=command_failed kind=%s", kind)
            ok, message, data = False, f"{kind} failed: {type(exc).__name__}: {exc}", None
        self._answer(uplink, request_id, ok, message, data)

    def _capture_test_frame(self, uplink: Child, request_id: str, args: dict) -> None:
        cams = [c for c in self.children.values() if c.kind == "camera"]
        wanted = args.get("camera_id")
        cam = (
            next((c for c in cams if c.camera_id == wanted), None) if wanted else (cams[0] if cams else None)
        )
        if cam is None:
            known = ", ".join(c.camera_id for c in cams) or "none"
            self._answer(uplink, request_id, False, f"no camera {wanted!r} (cameras: {known})", None)
            return
        if cam.conn is None:
            self._answer(
                uplink,
                request_id,
                False,
                f"camera {cam.camera_id} is not capturing now ({cam.stats.get('state', 'stopped')})",
                None,
            )
            return
        self._pending_replies[request_id] = uplink
        cam.conn.send(("capture_test_frame", request_id, args))

    def _restart_command(self, args: dict) -> tuple[bool, str, dict | None]:
        component = args.get("component") or "all"
        names = [
            n
            for n, c in self.children.items()
            if component == "all" or n == component or c.camera_id == component
        ]
        if not names:
            return False, f"no component {component!r} (known: all, {', '.join(self.children)})", None

        def later() -> None:
            time.sleep(1.5)  # the uplink commits this answer to the outbox first
            with self._lock:
                for name in names:
                    child = self.children[name]
                    self._stop(child)
                    child.next_start = 0.0
                    log.info("event=child_restart child=%s reason='restart command'", name)
                self._heard_all()

        threading.Thread(target=later, daemon=True).start()
        return True, f"restarting {', '.join(names)}", {"components": names}

    def apply_config(self, args: dict) -> tuple[bool, str, dict | None]:
        """Validate, write atomically, reload, and roll back if not healthy (see the module docstring)."""
        current_text = self.config_path.read_text()
        if "toml" in args:
            if not isinstance(args["toml"], str):
                return False, "config: 'toml' must be the whole file as a string", None
            data = parse_toml(args["toml"], "pushed config")
        else:
            data = merge(parse_toml(current_text, str(self.config_path)), args)
        try:
            new = validate_config(data, "pushed config")
        except ConfigError as exc:
            return False, f"config refused: {exc}", None
        if new.station.id != self.cfg.station.id or new.data_dir != self.cfg.data_dir:
            return False, "config refused: station.id and station.data_dir cannot be changed by command", None
        uplink_changed = new.uplink != self.cfg.uplink
        prev = self.config_path.with_name(self.config_path.name + ".prev")
        shutil.copy2(self.config_path, prev)
        _write_atomic(self.config_path, dump_toml(data))
        ok, why = self._reload_and_wait()
        if ok:
            log.info("event=config_applied uplink_changed=%s", uplink_changed)
            if uplink_changed:
                self._restart_command({"component": "uplink"})
            return True, "config applied; station healthy", {"uplink_restarting": uplink_changed}
        os.replace(prev, self.config_path)
        log.error("event=config_rolled_back reason=%s", why)
        ok_back, why_back = self._reload_and_wait()
        note = "" if ok_back else f"; after the rollback still unhealthy: {why_back}"
        return (
            False,
            f"config rolled back: not healthy within {new.supervisor.healthy_within_s:.0f} s: {why}{note}",
            None,
        )

    def _reload_and_wait(self) -> tuple[bool, str]:
        with self._lock:
            self._reload_at = time.monotonic()
            self._reloads += 1
        limit = load_config(self.config_path).supervisor.healthy_within_s
        deadline = time.monotonic() + limit
        time.sleep(1.0)
        why = "not checked"
        while time.monotonic() < deadline:
            with self._lock:
                pending = self._reload_at is not None
            if not pending:
                ok, why = self.healthy()
                if ok:
                    return True, "healthy"
            time.sleep(0.5)
        return False, why

    def _do_reload(self) -> None:
        """Restart the children (the uplink stays) with the config now on disk."""
        try:
            cfg = load_config(self.config_path)
        except ConfigError as exc:
            self.config_error = str(exc)
            self._reload_at = None
            return
        for name, child in list(self.children.items()):
            if name != "uplink":
                self._stop(child)
                del self.children[name]
        self.cfg = cfg
        self.config_error = None
        self._build_children()
        self._reload_at = None
        self._heard_all()

    def _heard_all(self) -> None:
        """Count every child as heard from now: the supervisor itself was busy stopping children (up
        to 10 s each) and read no heartbeats meanwhile, which must not make the others look hung
        (the uplink, which waits to send a command's answer, above all)."""
        now = time.monotonic()
        for child in self.children.values():
            if child.proc is not None:
                child.last_hb = max(child.last_hb, now)

    def healthy(self) -> tuple[bool, str]:
        """Every wanted child alive and heartbeating since its start; cameras delivering frames (or
        day-idle); the extractor running. (The uplink may be retrying.)"""
        now = time.monotonic()
        night = self.schedule.is_night()
        for child in self.children.values():
            if child.kind == "camera" and not night:
                continue
            if not child.alive or child.beats_since_start == 0:
                return False, f"{child.name} is not running ({child.last_reason or 'starting'})"
            if now - child.last_hb > self._timeout(child):
                return False, f"{child.name} sends no heartbeat"
            if child.kind == "camera":
                state = child.stats.get("state")
                if state == "error" or (state != "idle" and not child.stats.get("frames_total")):
                    return False, f"{child.name}: {child.stats.get('message') or 'no frames yet'}"
        return True, "healthy"

    # -- status -------------------------------------------------------------------------------
    @property
    def schedule(self) -> NightSchedule:
        s = self.cfg.station
        return NightSchedule(
            s.latitude_deg,
            s.longitude_deg,
            s.height_m,
            self.cfg.night.sun_altitude_deg,
            self.cfg.night.always_on,
        )

    def _time_quality(self, night: bool):
        from edge.protocol import TimeQuality

        for child in self.children.values():
            tq = child.stats.get("time_quality") if child.kind == "camera" and child.alive else None
            if tq:
                return TimeQuality.model_validate(tq)
        if self.cfg.time.source == "simulated":
            from edge.camera.backend import simulated_time_quality

            return simulated_time_quality()
        if self._time_monitor is None:
            from edge.timing.quality import TimeQualityMonitor

            self._time_monitor = TimeQualityMonitor(refresh_s=30.0)
        return self._time_monitor.current()

    def snapshot(self, night: bool, window) -> StationSnapshot:
        import psutil

        cams = []
        reasons = []
        for child in self.children.values():
            if child.kind != "camera":
                continue
            st = child.stats
            last = st.get("last_frame_utc")
            state = (
                st.get("state", "offline")
                if (child.alive or not night)
                else ("error" if child.restarts else "starting")
            )
            if not night:
                state = "idle"
            cams.append(
                CameraSnapshot(
                    camera_id=child.camera_id,
                    state=state,
                    message=st.get("message")
                    or (
                        f"restarted {child.restarts}x, last: {child.last_reason}" if child.restarts else None
                    ),
                    fps=float(st.get("fps", 0.0)),
                    dropped_frames=int(st.get("dropped_frames", 0)),
                    frames_total=int(st.get("frames_total", 0)),
                    events_total=int(st.get("events_total", 0)),
                    last_frame_utc=datetime.fromtimestamp(last, UTC) if last else None,
                    restarts=child.restarts,
                    width_px=st.get("width_px"),
                    height_px=st.get("height_px"),
                )
            )
            if night and state not in ("capturing", "idle"):
                reasons.append(f"camera {child.camera_id} {state}")
        ex = self.children.get("extractor")
        ex_stats = ex.stats if ex is not None else {}
        up = self.children.get("uplink")
        up_stats = up.stats if up is not None else {}
        extractor = ComponentSnapshot(
            state="ok" if ex is not None and ex.alive and ex.beats_since_start else "error",
            message=(
                f"restarted {ex.restarts}x, last: {ex.last_reason}"
                if ex is not None and ex.restarts
                else None
            ),
        )
        classifier = ComponentSnapshot(**ex_stats["classifier"]) if "classifier" in ex_stats else None
        adsb = ComponentSnapshot(**ex_stats["adsb"]) if "adsb" in ex_stats else None
        if extractor.state != "ok":
            reasons.append("extractor not running")
        if classifier is not None and classifier.state == "error":
            reasons.append(f"classifier: {classifier.message}")
        if adsb is not None and adsb.state in ("absent", "degraded"):
            reasons.append(f"ADS-B {adsb.state}: {adsb.message}")
        if self.cfg.uplink.host and not up_stats.get("connected"):
            reasons.append("uplink retrying")
        if up_stats.get("message") and up_stats.get("state") != "disabled":
            reasons.append(f"uplink: {up_stats['message']}")  # enrolment or product upload problems
        if self.config_error:
            state = "config-error"
        elif not night:
            state = "day-idle"
        elif any(c.beats_since_start == 0 for c in self.children.values() if c.alive) and not reasons:
            state = "starting"
        else:
            state = "degraded" if reasons else "online"
        message = "; ".join([*([self.boot_message] if self.boot_message else []), *reasons]) or None
        try:
            disk_free = int(psutil.disk_usage(str(self.cfg.data_dir)).free)
        except OSError:
            disk_free = None
        return StationSnapshot(
            station_id=self.cfg.station.id,
            software_version=software_version(),
            utc=datetime.now(UTC),
            state=state,
            message=message[:2000] if message else None,
            detecting=night,
            night_start_utc=window.start_utc if window else None,
            night_end_utc=window.end_utc if window else None,
            time_quality=self._time_quality(night),
            cameras=cams,
            queue_depth=int(ex_stats.get("queue_depth", 0)),
            queue_spilled=int(ex_stats.get("queue_spilled", 0)),
            outbox_depth=int(up_stats.get("outbox_depth", ex_stats.get("outbox_depth", 0))),
            uplink_connected=bool(up_stats.get("connected")),
            uplink_broker=up_stats.get("broker"),
            disk_free_bytes=disk_free,
            disk_budget_bytes=self.cfg.queue.disk_budget_bytes,
            disk_used_bytes=ex_stats.get("disk_used_bytes"),
            adsb=adsb,
            classifier=classifier,
            extractor=extractor,
            config_error=self.config_error,
            recent_events=list(ex_stats.get("recent_events", []))[:50],
            processes=[
                {
                    "name": c.name,
                    "pid": c.proc.pid if c.proc is not None else None,
                    "alive": c.alive,
                    "restarts": c.restarts,
                    "last_restart_reason": c.last_reason,
                    "state": c.stats.get("state"),
                }
                for c in self.children.values()
            ],
            queue_refused=int(ex_stats.get("queue_refused", 0)),
            pruned_files=int(ex_stats.get("pruned_files", 0)),
        )

    # -- main loop ----------------------------------------------------------------------------
    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        for sub in ("state", "products", "masks", "outbox", "spill"):
            (self.cfg.data_dir / sub).mkdir(parents=True, exist_ok=True)
        try:
            from edge.station.firmware import boot_report

            self.boot_message = boot_report(self.cfg.data_dir)
        except ImportError:
            self.boot_message = None
        except Exception as exc:  # the boot report is informative only
            log.warning("event=boot_report_failed reason=%s", exc)
        log.info(
            "station=%s event=supervisor_start cameras=%d config=%s",
            self.cfg.station.id,
            len(self.cfg.camera),
            self.config_path,
        )
        wd = watchdog_interval_s()
        last_wd = last_snap = last_sched = 0.0
        night, window = self.schedule.is_night(), None
        ready = False
        while not self.stopping.is_set():
            now = time.monotonic()
            if now - last_sched >= 30.0 or window is None:
                night, window = self.schedule.is_night(), self.schedule.window()
                last_sched = now
            with self._lock:
                if self._reload_at is not None:
                    self._do_reload()
                self._check_children(night)
            self._read_messages(0.2)
            now = time.monotonic()
            if now - last_snap >= self.cfg.supervisor.snapshot_interval_s:
                write_snapshot(self.cfg.data_dir, self.snapshot(night, window))
                last_snap = now
                if not ready:
                    sd_notify("READY=1")
                    ready = True
                sd_notify(f"STATUS=station {self.cfg.station.id}: {'night' if night else 'day'}")
            if wd is not None and now - last_wd >= wd:
                sd_notify("WATCHDOG=1")
                last_wd = now
        sd_notify("STOPPING=1")
        log.info("event=supervisor_stopping")
        order = sorted(self.children.values(), key=lambda c: {"camera": 0, "extractor": 1}.get(c.kind, 2))
        for child in order:  # cameras first (they hand their last events over), the uplink last
            self._stop(child)
        return 0


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
