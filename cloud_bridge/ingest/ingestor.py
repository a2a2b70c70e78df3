"""Ingest: from an MQTT message (topic, payload bytes) to rows in the store, and from settled events
to stored trajectories and orbits.

`Ingestor.handle` checks every message with the wire contract (`edge.protocol.decode_message`:
topic, size, UTF-8, JSON, schema version, model, station id of payload vs topic), then in one
transaction stores it: observation reports once per observation_id (an identical redelivery
changes nothing; different content under a stored id is rejected as a replay), station status and
telemetry when newer than what is kept (older ones are stale replays, ignored). A refused message
is recorded with its field and reason (not its payload) and counted; nothing is stored half-way.

Only meteor-like reports (`screen.screen_report`: not classified as a satellite, aircraft, ...,
not matched to an ADS-B aircraft, angular speed in the meteor range when known) go into events;
the others are stored with the reason and counted as `not_meteor_like`. Command results are
stored with their command (`cloud_bridge.fleet.commands.record_result`); one answering no command
of its station is rejected.

Each new report restarts its event's settle window (`settle_s`); `solve_due` (run by the
background solver thread of `start`, or called directly) solves events whose window has passed
with `cloud_bridge.solve.solve_reports` and stores the result, and solves again when a late report
re-opens an event. All state is in the store, so several ingestors may share one database.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy.exc import IntegrityError

from cloud_bridge.fleet.commands import CommandResultRefused, record_result
from cloud_bridge.ingest.screen import screen_report
from cloud_bridge.store import Claim, ReplayConflict, Store, sha256_hex
from edge.protocol import (
    CommandResult,
    ObservationReport,
    ProtocolError,
    StationStatus,
    Telemetry,
    TopicKind,
    decode_message,
    decode_payload,
    parse_topic,
)

log = logging.getLogger(__name__)

DEFAULT_SETTLE_S = 30.0


@dataclass(frozen=True)
class IngestResult:
    """What became of one message.

    outcome: `stored` (new data kept), `duplicate` (identical redelivery: nothing changed), `stale`
    (a status/telemetry older than the one kept), `ignored` (valid but not kept here), `rejected`
    (field and reason say why), `error` (the bridge failed, e.g. its database; reason says how).
    """

    outcome: str
    topic: str
    station_id: str | None = None
    kind: str | None = None
    observation_id: str | None = None
    event_id: int | None = None
    field: str | None = None
    reason: str | None = None


class Ingestor:
    """Validates and stores the stations' messages, and solves settled events.

    store: where everything goes. settle_s: seconds with no new related report before an event is
    solved. mc_runs, max_timing_offset_s: passed to `solve_reports`. seed: of the Monte Carlo noise
    (each solve draws from (seed, event id, revision), so results are reproducible).
    """

    def __init__(
        self,
        store: Store,
        *,
        settle_s: float = DEFAULT_SETTLE_S,
        mc_runs: int = 20,
        max_timing_offset_s: float = 0.5,
        seed: int = 1,
        poll_s: float | None = None,
    ):
        if settle_s < 0:
            raise ValueError(f"settle_s must be >= 0, got {settle_s}")
        self.store = store
        self.settle_s = float(settle_s)
        self.mc_runs = int(mc_runs)
        self.max_timing_offset_s = float(max_timing_offset_s)
        self.seed = int(seed)
        self.poll_s = float(poll_s) if poll_s is not None else min(1.0, max(0.05, self.settle_s / 4))
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- counting -----------------------------------------------------------------------------------

    def _count(self, *keys: str) -> None:
        with self._lock:
            self._counts.update(keys)

    def stats(self) -> dict[str, int]:
        """Counters since start: received, stored, duplicate, stale, ignored, rejected, rejected.<field>,
        not_meteor_like (stored, not solved), error, events_solved, events_failed, solves_discarded (a
        late report overtook the solve)."""
        with self._lock:
            return dict(self._counts)

    # -- messages -----------------------------------------------------------------------------------

    def handle(self, topic: str, payload: bytes, received_utc: datetime | None = None) -> IngestResult:
        """Check and store one message; never raises (a failure is returned and counted)."""
        received = received_utc or datetime.now(UTC)
        payload = bytes(payload)
        self._count("received")
        try:
            if parse_topic(topic)[1] == TopicKind.CMD:
                raise ProtocolError("topic", "commands are published by the bridge, not by stations")
            message = decode_message(topic, payload)
        except ProtocolError as exc:
            return self._reject(topic, payload, received, exc.field, exc.reason)
        station_id = message.station_id  # type: ignore[attr-defined]
        try:
            for attempt in (1, 2):
                try:
                    result = self._store(topic, message, received)
                    break
                except IntegrityError:  # another worker stored the same report at the same instant
                    if attempt == 2:
                        raise
        except ReplayConflict as exc:
            return self._reject(topic, payload, received, "observation_id", str(exc))
        except CommandResultRefused as exc:
            return self._reject(topic, payload, received, exc.field, str(exc))
        except Exception as exc:
            log.exception("event=ingest_error topic=%s station=%s", topic, station_id)
            self._count("error")
            return IngestResult("error", topic, station_id, reason=f"{type(exc).__name__}: {exc}")
        self._count(result.outcome)
        if result.outcome == "stored" and result.kind == "obs" and result.event_id is None:
            self._count("not_meteor_like")
        if result.outcome == "stored" and result.event_id is not None:
            self._wake.set()
        return result

    def _store(self, topic: str, message: object, received: datetime) -> IngestResult:
        kind = parse_topic(topic)[1].value
        with self.store.transaction() as session:
            if isinstance(message, ObservationReport):
                screen_reason = screen_report(message)
                obs, new = self.store.add_observation(session, message, received, screen_reason=screen_reason)
                if not new:
                    log.info(
                        "event=duplicate station=%s camera=%s observation=%s",
                        message.station_id,
                        message.camera_id,
                        message.observation_id,
                    )
                    return IngestResult(
                        "duplicate", topic, message.station_id, kind, message.observation_id, obs.event_id
                    )
                if screen_reason is not None:
                    log.info(
                        "event=observation_stored_not_solved station=%s camera=%s observation=%s reason=%r",
                        message.station_id,
                        message.camera_id,
                        message.observation_id,
                        screen_reason,
                    )
                    return IngestResult(
                        "stored",
                        topic,
                        message.station_id,
                        kind,
                        message.observation_id,
                        reason=screen_reason,
                    )
                event = self.store.attach_to_event(session, obs, settle_s=self.settle_s, now_utc=received)
                log.info(
                    "event=observation_stored station=%s camera=%s observation=%s event_id=%d "
                    "event_observations=%d",
                    message.station_id,
                    message.camera_id,
                    message.observation_id,
                    event.id,
                    event.n_observations,
                )
                return IngestResult(
                    "stored", topic, message.station_id, kind, message.observation_id, event.id
                )
            if isinstance(message, StationStatus):
                kept = self.store.set_status(session, message, received)
                return IngestResult("stored" if kept else "stale", topic, message.station_id, kind)
            if isinstance(message, Telemetry):
                kept = self.store.set_telemetry(session, message, received)
                return IngestResult("stored" if kept else "stale", topic, message.station_id, kind)
            if isinstance(message, CommandResult):
                self.store.touch_station(session, message.station_id, received)
                kept = record_result(session, message, received)
                log.info(
                    "event=command_result station=%s request_id=%s ok=%s new=%s",
                    message.station_id,
                    message.request_id,
                    message.ok,
                    kept,
                )
                return IngestResult("stored" if kept else "duplicate", topic, message.station_id, kind)
        raise TypeError(f"no storage for {type(message).__name__}")  # pragma: no cover

    def _reject(
        self, topic: str, payload: bytes, received: datetime, field: str, reason: str
    ) -> IngestResult:
        try:
            station_id: str | None = parse_topic(topic)[0]
        except ProtocolError:
            station_id = None
        log.warning(
            "event=rejected topic=%r station=%s field=%s reason=%r bytes=%d",
            topic[:256],
            station_id,
            field,
            reason[:300],
            len(payload),
        )
        self._count("rejected", f"rejected.{field.split('[')[0].split('.')[0]}")
        try:
            with self.store.transaction() as session:
                self.store.record_rejection(
                    session,
                    topic=topic,
                    station_id=station_id,
                    field=field,
                    reason=reason,
                    payload_sha256=sha256_hex(payload),
                    payload_bytes=len(payload),
                    received_utc=received,
                )
        except Exception:
            log.exception("event=rejection_not_recorded topic=%r", topic[:256])
            self._count("error")
        return IngestResult("rejected", topic, station_id, field=field, reason=reason)

    # -- solving ------------------------------------------------------------------------------------

    def solve_due(self, now_utc: datetime | None = None) -> list[int]:
        """Solve every event whose settle window has passed; return the ids of events whose result
        was stored (solved or failed)."""
        done = []
        for claim in self.store.claim_due_events(now_utc or datetime.now(UTC)):
            if self._solve(claim):
                done.append(claim.event_id)
        return done

    def _solve(self, claim: Claim) -> bool:
        from cloud_bridge.solve import solve_reports
        from cloud_bridge.summary import solution_to_dict

        reports = [decode_payload(json.dumps(r), "obs") for r in self.store.event_reports(claim.event_id)]
        stations = sorted({r.station_id for r in reports})  # type: ignore[attr-defined]
        failure = None
        solutions: list[dict] = []
        if len(stations) < 2:
            failure = (
                f"seen by one station only ({stations[0] if stations else 'none'}, {len(reports)} reports)"
            )
        else:
            try:
                rng = np.random.default_rng([self.seed, claim.event_id, claim.revision])
                found = solve_reports(
                    reports, mc_runs=self.mc_runs, max_timing_offset_s=self.max_timing_offset_s, rng=rng
                )
                solutions = [solution_to_dict(s) for s in found]
                if not found:
                    failure = "the reports do not correlate into a multi-station event"
            except Exception as exc:  # a solver bug must not stop the bridge: record it on the event
                log.exception("event=solve_error event_id=%d", claim.event_id)
                failure = f"solver error: {type(exc).__name__}: {exc}"
        stored = self.store.store_solutions(claim, solutions, datetime.now(UTC), failure_reason=failure)
        if not stored:
            self._count("solves_discarded")
            log.info(
                "event=solve_discarded event_id=%d revision=%d reason=late_report",
                claim.event_id,
                claim.revision,
            )
            return False
        ok = any(s.get("ok") for s in solutions)
        self._count("events_solved" if ok else "events_failed")
        log.info(
            "event=event_solved event_id=%d revision=%d ok=%s stations=%s solutions=%d reason=%r",
            claim.event_id,
            claim.revision,
            ok,
            ",".join(stations),
            len(solutions),
            failure,
        )
        return True

    def start(self) -> Ingestor:
        """Run `solve_due` in a background thread every poll_s seconds (sooner after a new report)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._solver_loop, name="skytrail-solver", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the solver thread (after the solve in progress, if any)."""
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout_s)
            self._thread = None

    def _solver_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.solve_due()
            except Exception:
                log.exception("event=solver_loop_error")
            self._wake.wait(self.poll_s)
            self._wake.clear()
