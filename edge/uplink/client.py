"""The station's MQTT uplink: drains the on-disk outbox to the broker and answers fleet commands.

Inputs: observation reports from the extractor (`submit_report`), telemetry from
`edge.uplink.telemetry` (or a provider the station passes in), commands from the bridge on
`skytrail/v1/{station_id}/cmd`. Topics, QoS, retain flags, the last will and the codec are the
wire contract's (`edge.protocol`); this module adds no message formats of its own.

Delivery: every station message goes into the `Outbox` (SQLite, committed before
`submit_report` returns) and is removed only in paho's `on_publish` for its message id, which
paho calls on PUBACK for QoS 1. paho (PyPI `paho-mqtt` 2.x, MQTT 3.1.1 so that the embedded
amqtt broker works too) runs the network loop in a background thread, reconnects with
exponential back-off and re-sends its in-flight messages after a reconnect; the outbox covers
what paho's memory does not (a restart, `kill -9`, power loss): at start every un-acknowledged
row is pending again, and a message unacknowledged for `resend_after_s` while connected is
published again. Duplicates are possible and harmless: the bridge stores reports idempotently
by observation id.

Threads: paho's network thread only queues events (acks, commands); a worker thread owns the
publishing and the outbox bookkeeping, and a command thread runs command handlers, so a slow
handler never stalls delivery. paho calls `on_publish` while holding its own lock, so the
callback must not wait for anything of ours: it only queues the message id.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import BaseModel, JsonValue

from edge.protocol import (
    TOPICS,
    CameraStatus,
    Command,
    CommandKind,
    CommandResult,
    ObservationReport,
    ProtocolError,
    StationState,
    StationStatus,
    Telemetry,
    TopicKind,
    decode_message,
    encode_message,
    last_will,
    parse_topic,
    station_subscriptions,
    status_topic,
    topic_for,
)
from edge.protocol.models import REQUEST_ID_PATTERN
from edge.uplink.outbox import MessageKind, Outbox
from edge.uplink.telemetry import collect_telemetry

log = logging.getLogger(__name__)

CommandHandler = Callable[[Command], "dict[str, JsonValue] | None"]
"""Runs a command; returns result data (or None) on success, raises (e.g. CommandFailed) on failure."""

_KIND_OF_MODEL: dict[type[BaseModel], MessageKind] = {
    ObservationReport: MessageKind.REPORT,
    CommandResult: MessageKind.COMMAND_RESULT,
    Telemetry: MessageKind.TELEMETRY,
}


class CommandFailed(Exception):
    """Raised by a command handler to answer ok=False with this message."""


@dataclass(frozen=True)
class TlsConfig:
    """TLS settings: the CA that signed the broker's certificate, and the station's own
    certificate and key (PEM files) where the broker asks for client certificates."""

    ca_path: str | Path
    cert_path: str | Path | None = None
    key_path: str | Path | None = None


def _software_version() -> str:
    try:
        return metadata.version("skytrail")
    except metadata.PackageNotFoundError:
        return "0+unknown"


class Uplink:
    """One station's connection to the broker (see the module docstring for the guarantees).

    `station_id`: the station's id (also the MQTT username the broker's ACL expects).
    `broker_host`, `broker_port`: where the broker listens. `outbox`: the station's `Outbox`.
    `tls`: a `TlsConfig` or a (ca, cert, key) tuple; None for plain TCP. `username`/`password`:
    per-station credentials. `client_id`: MQTT client id (default `station-{station_id}`).
    `keepalive_s`: MQTT keep-alive, seconds. `reconnect_min_s`/`reconnect_max_s`: back-off
    bounds, seconds. `window`: most messages in flight at once. `resend_after_s`: publish again
    a message not acknowledged after this many seconds while connected. `telemetry_interval_s`:
    publish telemetry this often (None: only on `publish_telemetry()`). `telemetry_provider`:
    builds the Telemetry (default: `collect_telemetry` with the outbox depth).
    """

    def __init__(
        self,
        station_id: str,
        broker_host: str,
        broker_port: int,
        outbox: Outbox,
        *,
        tls: TlsConfig | tuple[Any, Any, Any] | None = None,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        software_version: str | None = None,
        keepalive_s: int = 30,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 60.0,
        window: int = 20,
        resend_after_s: float = 60.0,
        telemetry_interval_s: float | None = None,
        telemetry_provider: Callable[[], Telemetry] | None = None,
    ):
        status_topic(station_id)  # validates the station id (ProtocolError naming it)
        if window < 1:
            raise ValueError(f"window: must be at least 1, got {window}")
        self.station_id = station_id
        self.broker_host = broker_host
        self.broker_port = int(broker_port)
        self.outbox = outbox
        self.software_version = software_version or _software_version()
        self.window = window
        self.resend_after_s = resend_after_s
        self.telemetry_interval_s = telemetry_interval_s
        self._telemetry_provider = telemetry_provider
        self._keepalive_s = keepalive_s
        self._handlers: dict[str, CommandHandler] = {}
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._acks: queue.SimpleQueue[tuple[int, bool]] = queue.SimpleQueue()
        self._commands: queue.Queue[Command | None] = queue.Queue()
        self._inflight: dict[str, tuple[int, float]] = {}  # key -> (mid, monotonic time sent); worker only
        self._mid_key: dict[int, str] = {}  # worker only
        self._answered: OrderedDict[str, None] = OrderedDict()
        self._threads: list[threading.Thread] = []
        self._last_telemetry = 0.0
        self._status: tuple[StationState, str | None, list[CameraStatus]] = (StationState.ONLINE, None, [])
        self.stats = {
            "published": 0,
            "acked": 0,
            "resent": 0,
            "connects": 0,
            "disconnects": 0,
            "commands": 0,
            "commands_invalid": 0,
            "publish_errors": 0,
        }

        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"station-{station_id}",
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        if tls is not None:
            t = tls if isinstance(tls, TlsConfig) else TlsConfig(*tls)
            self._client.tls_set(
                ca_certs=str(t.ca_path),
                certfile=str(t.cert_path) if t.cert_path else None,
                keyfile=str(t.key_path) if t.key_path else None,
            )
        self._client.max_inflight_messages_set(window)
        self._client.reconnect_delay_set(reconnect_min_s, reconnect_max_s)  # type: ignore[arg-type]
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message

    # -- public API -----------------------------------------------------------------------------

    def register_handler(self, kind: CommandKind | str, handler: CommandHandler) -> None:
        """Run `handler(command)` for commands of `kind`; others are answered ok=False."""
        self._handlers[CommandKind(kind).value] = handler

    @property
    def connected(self) -> bool:
        """True while the broker has accepted the connection."""
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        """Block until connected or `timeout_s` seconds pass; True if connected."""
        return self._connected.wait(timeout_s)

    def start(self) -> None:
        """Register the last will, start connecting (in the background) and the worker threads."""
        will = last_will(self.station_id, self.software_version)
        self._client.will_set(will.topic, will.payload, will.qos, will.retain)
        requeued = self.outbox.reset_sent()
        if requeued:
            log.info("station=%s event=outbox_requeued n=%d", self.station_id, requeued)
        self._client.connect_async(self.broker_host, self.broker_port, keepalive=self._keepalive_s)
        self._client.loop_start()
        for name, target in (("uplink-worker", self._work), ("uplink-commands", self._run_commands)):
            thread = threading.Thread(target=target, name=f"{name}-{self.station_id}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 5.0, *, publish_offline: bool = True) -> None:
        """Publish the `offline` status (if connected), disconnect cleanly and stop the threads.

        Unacknowledged messages stay in the outbox for the next start.
        """
        self._stopping.set()
        self._wake.set()
        self._commands.put(None)
        for thread in self._threads:
            thread.join(timeout_s)
        if publish_offline and self.connected:
            info = self._client.publish(*self._status_message(StationState.OFFLINE, "station stopped"))
            try:
                info.wait_for_publish(timeout_s)
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        self._client.loop_stop()

    def submit_report(self, report: ObservationReport) -> bool:
        """Store an observation report durably in the outbox, then return (thread-safe).

        True if stored, False if a report with the same observation id is already waiting.
        The report is published in the background and removed once the broker acknowledges it.
        """
        if not isinstance(report, ObservationReport):
            raise TypeError(f"report: expected ObservationReport, got {type(report).__name__}")
        if report.station_id != self.station_id:
            raise ProtocolError(
                "station_id",
                f"report of station {report.station_id!r} submitted to the "
                f"uplink of station {self.station_id!r}",
            )
        return self.submit(report, key=report.observation_id)

    def submit(self, message: BaseModel, key: str | None = None) -> bool:
        """Store any station message (report, command result, telemetry) in the outbox with the
        topic's QoS and retain flag; `key` makes it idempotent (default: a fresh unique key)."""
        topic = topic_for(message)
        spec = TOPICS[parse_topic(topic)[1]]
        kind = _KIND_OF_MODEL.get(type(message), MessageKind.OTHER)
        stored = self.outbox.put(
            topic,
            encode_message(message),
            spec.qos,
            spec.retain,
            kind,
            key or f"{kind}-{time.time_ns()}-{id(message)}",
        )
        self._wake.set()
        return stored

    def publish_telemetry(self, telemetry: Telemetry | None = None) -> bool:
        """Queue one telemetry message (QoS 0; may be dropped by the outbox budget)."""
        if telemetry is None:
            telemetry = (
                self._telemetry_provider()
                if self._telemetry_provider
                else collect_telemetry(
                    self.station_id, outbox_depth=self.outbox.depth(), data_path=self.outbox.path.parent
                )
            )
        return self.submit(telemetry)

    def set_status(
        self, state: StationState | str, message: str | None = None, cameras: list[CameraStatus] | None = None
    ) -> None:
        """Publish a new retained station status (not through the outbox: only the latest matters)."""
        self._status = (StationState(state), message, cameras or [])
        if self.connected:
            self._client.publish(*self._status_message(*self._status))

    def wait_drained(self, timeout_s: float) -> bool:
        """Block until the outbox is empty or `timeout_s` seconds pass; True if empty."""
        deadline = time.monotonic() + timeout_s
        while self.outbox.depth() > 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    # -- paho callbacks (network thread: queue work, never block) -------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            log.warning("station=%s event=connect_refused reason=%s", self.station_id, reason_code)
            return
        self.stats["connects"] += 1
        log.info(
            "station=%s event=connected broker=%s:%d", self.station_id, self.broker_host, self.broker_port
        )
        client.subscribe(list(station_subscriptions(self.station_id)))
        client.publish(*self._status_message(*self._status))
        self._connected.set()
        self._wake.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if self._connected.is_set():
            self.stats["disconnects"] += 1
            level = logging.INFO if self._stopping.is_set() else logging.WARNING
            log.log(level, "station=%s event=disconnected reason=%s", self.station_id, reason_code)
        self._connected.clear()

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any, properties: Any
    ) -> None:
        self._acks.put((mid, not reason_code.is_failure))
        self._wake.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            command = decode_message(msg.topic, msg.payload)
        except ProtocolError as exc:
            self.stats["commands_invalid"] += 1
            log.warning(
                "station=%s event=command_invalid topic=%s field=%s reason=%r",
                self.station_id,
                msg.topic,
                exc.field,
                exc.reason,
            )
            self._answer_invalid(msg.payload, exc)
            return
        if isinstance(command, Command):
            self._commands.put(command)

    # -- worker: publishing and bookkeeping -----------------------------------------------------

    def _work(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(0.2)
            self._wake.clear()
            try:
                self._process_acks()
                if self.connected:
                    self._maybe_telemetry()
                    self._resend_stale()
                    self._fill_window()
            except Exception:  # keep the uplink alive whatever one round hits; logged with traceback
                log.exception("station=%s event=uplink_worker_error", self.station_id)
                time.sleep(1.0)

    def _process_acks(self) -> None:
        while True:
            try:
                mid, ok = self._acks.get_nowait()
            except queue.Empty:
                return
            key = self._mid_key.pop(mid, None)
            if key is None:
                continue
            if self._inflight.get(key, (None,))[0] == mid:
                del self._inflight[key]
            if ok:
                self.outbox.ack(key)
                self.stats["acked"] += 1
            else:
                log.warning("station=%s event=publish_rejected key=%s", self.station_id, key)

    def _publish_row(self, key: str, topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        info = self._client.publish(topic, payload, qos, retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            self.stats["publish_errors"] += 1
            log.warning("station=%s event=publish_error key=%s rc=%s", self.station_id, key, info.rc)
            return False
        self._mid_key[info.mid] = key
        self._inflight[key] = (info.mid, time.monotonic())
        self.outbox.mark_sent(key, info.mid)
        self.stats["published"] += 1
        return True

    def _fill_window(self) -> None:
        room = self.window - len(self._inflight)
        if room <= 0:
            return
        for row in self.outbox.pending(room):
            if row.key in self._inflight or not self._publish_row(
                row.key, row.topic, row.payload, row.qos, row.retain
            ):
                break

    def _resend_stale(self) -> None:
        now = time.monotonic()
        stale = [key for key, (_, sent) in self._inflight.items() if now - sent > self.resend_after_s]
        if not stale:
            return
        rows = {row.key: row for row in self.outbox.all() if row.key in stale}
        for key in stale:
            row = rows.get(key)
            if row is None:  # acknowledged meanwhile
                self._inflight.pop(key, None)
                continue
            if self._publish_row(key, row.topic, row.payload, row.qos, row.retain):
                self.stats["resent"] += 1

    def _maybe_telemetry(self) -> None:
        if self.telemetry_interval_s is None:
            return
        now = time.monotonic()
        if now - self._last_telemetry >= self.telemetry_interval_s:
            self._last_telemetry = now
            self.publish_telemetry()

    # -- commands -------------------------------------------------------------------------------

    def _run_commands(self) -> None:
        while True:
            command = self._commands.get()
            if command is None:
                return
            if command.request_id in self._answered:
                log.info(
                    "station=%s event=command_duplicate request_id=%s", self.station_id, command.request_id
                )
                continue
            self._answered[command.request_id] = None
            while len(self._answered) > 1000:
                self._answered.popitem(last=False)
            self.stats["commands"] += 1
            ok, message, data = self._execute(command)
            log.info(
                "station=%s event=command kind=%s request_id=%s ok=%s",
                self.station_id,
                command.kind,
                command.request_id,
                ok,
            )
            self._answer(command.request_id, ok, message, data)

    def _execute(self, command: Command) -> tuple[bool, str, dict[str, JsonValue] | None]:
        now = datetime.now(UTC)
        if command.expires_utc is not None and now > command.expires_utc:
            return False, f"expired at {command.expires_utc.isoformat()}; not carried out", None
        handler = self._handlers.get(command.kind.value)
        if handler is None:
            known = ", ".join(sorted(self._handlers)) or "none"
            return False, f"unknown command {command.kind.value!r} for this station (handled: {known})", None
        try:
            data = handler(command)
        except Exception as exc:  # a failing handler is answered, never crashes the uplink
            return False, f"{command.kind.value} failed: {type(exc).__name__}: {exc}"[:2000], None
        return True, f"{command.kind.value} done", data

    def _answer(self, request_id: str, ok: bool, message: str, data: dict[str, JsonValue] | None) -> None:
        result = CommandResult(
            station_id=self.station_id,
            request_id=request_id,
            ok=ok,
            message=message[:2000],
            data=data,
            utc=datetime.now(UTC),
        )
        self.submit(result, key=f"cmd-result-{request_id}")

    def _answer_invalid(self, payload: bytes, exc: ProtocolError) -> None:
        """Answer an invalid command ok=False when its request_id can still be read."""
        try:
            request_id = json.loads(payload).get("request_id")
        except (ValueError, AttributeError, RecursionError):
            return
        if isinstance(request_id, str) and re.fullmatch(REQUEST_ID_PATTERN, request_id):
            self._answer(request_id, False, f"invalid command: {exc}", None)

    # -- helpers --------------------------------------------------------------------------------

    def _status_message(
        self, state: StationState, message: str | None = None, cameras: list[CameraStatus] | None = None
    ) -> tuple[str, bytes, int, bool]:
        status = StationStatus(
            station_id=self.station_id,
            state=state,
            software_version=self.software_version,
            utc=datetime.now(UTC),
            message=message,
            cameras=cameras or [],
        )
        spec = TOPICS[TopicKind.STATUS]
        return status_topic(self.station_id), encode_message(status), spec.qos, spec.retain
