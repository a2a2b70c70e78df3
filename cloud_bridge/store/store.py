"""The bridge's database: opening it (SQLite by default, PostgreSQL by URL) and the few operations
ingest and the solver need, each on a caller's session so that one message is one transaction.

Inputs are the wire contract's models after `edge.protocol.decode_message` checked them, and the
JSON of `cloud_bridge.summary.solution_to_dict`. Every value reaches SQL through bound parameters
(the ORM), so text in a message is stored as data whatever it says.

    store = Store("sqlite:///bridge.db")               # creates / migrates the schema
    with store.transaction() as session:
        store.add_observation(session, report, received_utc)
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cloud_bridge.store.migrate import upgrade
from cloud_bridge.store.models import (
    Event,
    EventStatus,
    Observation,
    Orbit,
    ProductFile,
    RejectedMessage,
    Station,
    Trajectory,
)
from edge.protocol import ObservationReport, StationStatus, Telemetry

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///skytrail-bridge.db"
EVENT_GAP_S = 2.0
"""Reports whose frame times come within this many seconds of an event's belong to it (the
correlator's own time gap for clocks within 0.5 s; the solver separates simultaneous meteors)."""
STALE_CLAIM_S = 600.0
"""A solver's claim older than this is taken to be a dead worker's and the event is solved again."""


class ReplayConflict(ValueError):
    """An observation_id already stored with different content (a replay or a station bug)."""


@dataclass(frozen=True)
class Claim:
    """An event a solver has claimed, at the revision it will solve."""

    event_id: int
    revision: int


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the ingest writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An Engine for `url`; SQLite gets foreign keys, WAL and a 30 s busy timeout for many threads."""
    if url.startswith("sqlite"):
        if ":memory:" in url or url.rstrip("/") in ("sqlite:", "sqlite:/"):
            raise ValueError(
                "an in-memory SQLite database cannot be shared between the ingest and solver "
                "threads: give a file, e.g. sqlite:///bridge.db"
            )
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Store:
    """The bridge's database. `url`: SQLAlchemy URL (sqlite:///file.db, postgresql+psycopg://...);
    `migrate`: bring the schema to the newest revision first (safe on every start)."""

    def __init__(self, url: str = DEFAULT_URL, *, migrate: bool = True):
        self.url = url
        self.engine = make_engine(url)
        if migrate:
            upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on leaving, or rolled back entirely on an exception."""
        with self._sessions() as session, session.begin():
            yield session

    # -- stations ---------------------------------------------------------------------------------

    def touch_station(self, session: Session, station_id: str, seen_utc: datetime) -> Station:
        """The station's row, created on its first message; last_seen_utc moved forward."""
        station = session.get(Station, station_id)
        if station is None:
            station = Station(station_id=station_id, created_utc=seen_utc, last_seen_utc=seen_utc)
            session.add(station)
            session.flush()
        elif seen_utc > station.last_seen_utc:
            station.last_seen_utc = seen_utc
        return station

    def set_status(self, session: Session, status: StationStatus, received_utc: datetime) -> bool:
        """Keep a station status if it is newer than the stored one; False for a stale (replayed) one."""
        station = self.touch_station(session, status.station_id, received_utc)
        if station.status_utc is not None and status.utc <= station.status_utc:
            return False
        station.status_utc = status.utc
        station.state = status.state.value
        station.software_version = status.software_version
        station.status_json = status.model_dump(mode="json")
        return True

    def set_telemetry(self, session: Session, telemetry: Telemetry, received_utc: datetime) -> bool:
        """Keep a station's telemetry if newer than the stored one; False for a stale (replayed) one."""
        station = self.touch_station(session, telemetry.station_id, received_utc)
        if station.telemetry_utc is not None and telemetry.utc <= station.telemetry_utc:
            return False
        station.telemetry_utc = telemetry.utc
        station.telemetry_json = telemetry.model_dump(mode="json")
        return True

    # -- observations and events ------------------------------------------------------------------

    def add_observation(
        self,
        session: Session,
        report: ObservationReport,
        received_utc: datetime,
        *,
        screen_reason: str | None = None,
    ) -> tuple[Observation, bool]:
        """Store a report once: (row, True) when new, (row, False) for an identical redelivery.

        The report's content (its canonical JSON) decides identity; a different report under a stored
        observation_id raises ReplayConflict and changes nothing. `screen_reason`: why the report is
        not meteor-like (a slow mover: kept, but never put into an event); None for a meteor.
        """
        content = report.model_dump(mode="json")
        content_sha = sha256_hex(report.model_dump_json().encode())
        existing = session.scalar(
            select(Observation).where(Observation.observation_id == report.observation_id)
        )
        if existing is not None:
            if existing.content_sha256 != content_sha:
                raise ReplayConflict(
                    f"observation_id {report.observation_id!r} is already stored with different "
                    f"content (received {existing.received_utc.isoformat()})"
                )
            return existing, False
        station = self.touch_station(session, report.station_id, received_utc)
        station.lat_deg = report.location.lat_deg
        station.lon_deg = report.location.lon_deg
        station.height_m = report.location.height_m
        obs = Observation(
            observation_id=report.observation_id,
            station_id=report.station_id,
            camera_id=report.camera_id,
            first_utc=report.frames[0].utc,
            last_utc=report.frames[-1].utc,
            n_frames=len(report.frames),
            received_utc=received_utc,
            content_sha256=content_sha,
            report_json=content,
            meteor_like=screen_reason is None,
            screen_reason=screen_reason,
        )
        session.add(obs)
        session.flush()
        return obs, True

    def attach_to_event(
        self,
        session: Session,
        obs: Observation,
        *,
        settle_s: float,
        now_utc: datetime,
        gap_s: float = EVENT_GAP_S,
    ) -> Event:
        """Put a new observation into the event it overlaps in time (merging events it joins), or a new
        one; the event goes back to pending with its settle window restarted at `now_utc`."""
        gap = timedelta(seconds=gap_s)
        events = list(
            session.scalars(
                select(Event)
                .where(Event.first_utc <= obs.last_utc + gap, Event.last_utc >= obs.first_utc - gap)
                .order_by(Event.id)
                .with_for_update()
            )
        )
        if events:
            target, others = events[0], events[1:]
        else:
            target = Event(
                status=EventStatus.PENDING,
                first_utc=obs.first_utc,
                last_utc=obs.last_utc,
                created_utc=now_utc,
                updated_utc=now_utc,
                revision=0,
                n_observations=0,
                n_stations=0,
                n_solves=0,
            )
            session.add(target)
            session.flush()
            others = []
        for other in others:  # the new report bridges two events: they are one
            session.execute(
                update(Observation).where(Observation.event_id == other.id).values(event_id=target.id)
            )
            target.first_utc = min(target.first_utc, other.first_utc)
            target.last_utc = max(target.last_utc, other.last_utc)
            self._drop_solutions(session, other.id)
            session.delete(other)
        obs.event_id = target.id
        target.first_utc = min(target.first_utc, obs.first_utc)
        target.last_utc = max(target.last_utc, obs.last_utc)
        session.flush()
        target.n_observations = session.scalar(
            select(func.count()).select_from(Observation).where(Observation.event_id == target.id)
        )
        target.n_stations = session.scalar(
            select(func.count(func.distinct(Observation.station_id))).where(Observation.event_id == target.id)
        )
        target.revision += 1
        target.status = EventStatus.PENDING
        target.updated_utc = now_utc
        target.solve_due_utc = now_utc + timedelta(seconds=settle_s)
        return target

    def claim_due_events(self, now_utc: datetime, limit: int = 10) -> list[Claim]:
        """Mark events whose settle window has passed as being solved, and return them.

        Safe with several solvers: a claim is a conditional UPDATE on (id, revision, status), so one
        event goes to one solver; claims older than STALE_CLAIM_S (a dead solver's) are taken over.
        """
        stale = now_utc - timedelta(seconds=STALE_CLAIM_S)
        with self.transaction() as session:
            due = session.execute(
                select(Event.id, Event.revision)
                .where(
                    or_(
                        (Event.status == EventStatus.PENDING) & (Event.solve_due_utc <= now_utc),
                        (Event.status == EventStatus.SOLVING) & (Event.claimed_utc < stale),
                    )
                )
                .order_by(Event.solve_due_utc)
                .limit(limit)
            ).all()
        claims = []
        for event_id, revision in due:
            with self.transaction() as session:
                done = session.execute(
                    update(Event)
                    .where(
                        Event.id == event_id,
                        Event.revision == revision,
                        or_(Event.status == EventStatus.PENDING, Event.claimed_utc < stale),
                    )
                    .values(status=EventStatus.SOLVING, claimed_utc=now_utc)
                )
                if done.rowcount == 1:
                    claims.append(Claim(event_id, revision))
        return claims

    def event_reports(self, event_id: int) -> list[dict]:
        """The stored report JSON of an event's observations, by first frame time."""
        with self.transaction() as session:
            return list(
                session.scalars(
                    select(Observation.report_json)
                    .where(Observation.event_id == event_id)
                    .order_by(Observation.first_utc, Observation.observation_id)
                )
            )

    def _drop_solutions(self, session: Session, event_id: int) -> None:
        session.execute(delete(Orbit).where(Orbit.event_id == event_id))
        session.execute(delete(Trajectory).where(Trajectory.event_id == event_id))

    def store_solutions(
        self, claim: Claim, solutions: list[dict], solved_utc: datetime, *, failure_reason: str | None = None
    ) -> bool:
        """Replace an event's trajectories and orbits with `solutions` (`solution_to_dict` outputs).

        Returns False, storing nothing, when the event changed since it was claimed (a late report
        arrived: it is pending again and will be solved anew). The event is `solved` when any
        solution is ok, else `failed` with the solutions' reasons (or `failure_reason`).
        """
        with self.transaction() as session:
            event_row = session.get(Event, claim.event_id, with_for_update=True)
            if (
                event_row is None
                or event_row.revision != claim.revision
                or event_row.status != EventStatus.SOLVING
            ):
                return False
            self._drop_solutions(session, claim.event_id)
            solved = [s for s in solutions if s.get("ok") and s.get("trajectory")]
            for sol in solved:
                self._add_solution(session, claim.event_id, sol, solved_utc)
            reasons = [s.get("failure_reason") or "unknown" for s in solutions if not s.get("ok")]
            event_row.status = EventStatus.SOLVED if solved else EventStatus.FAILED
            event_row.failure_reason = (
                None if solved else (failure_reason or "; ".join(reasons) or "no solution")
            )
            event_row.solved_at = solved_utc
            event_row.claimed_utc = None
            event_row.n_solves += 1
            return True

    def _add_solution(self, session: Session, event_id: int, sol: dict, solved_utc: datetime) -> None:
        traj = sol["trajectory"]
        begin_utc = datetime.fromtimestamp(traj["begin"]["t_unix"], UTC)
        row = Trajectory(
            event_id=event_id,
            begin_utc=begin_utc,
            begin_lat_deg=traj["begin"]["lat_deg"],
            begin_lon_deg=traj["begin"]["lon_deg"],
            begin_height_m=traj["begin"]["height_m"],
            end_height_m=traj["end"]["height_m"],
            v_init_kms=traj["v_init_kms"],
            residual_rms_arcmin=traj.get("residual_rms_arcmin"),
            n_stations=len(sol.get("station_ids", [])),
            solved_at=solved_utc,
            solution_json=sol,
        )
        session.add(row)
        session.flush()
        orbit = sol.get("orbit")
        if orbit is None or orbit.get("ra_g_deg") is None:
            return
        shower = sol.get("shower")
        sigma = (traj.get("sigma") or {}).get("radiant_deg")
        session.add(
            Orbit(
                trajectory_id=row.id,
                event_id=event_id,
                begin_utc=begin_utc,
                ra_g_deg=orbit["ra_g_deg"],
                dec_g_deg=orbit["dec_g_deg"],
                v_g_kms=orbit["v_g_kms"],
                sigma_radiant_deg=sigma,
                shower_code=shower.get("code") if isinstance(shower, dict) else None,
                solar_longitude_deg=orbit.get("solar_longitude_deg"),
                a_au=orbit.get("a_au"),
                e=orbit.get("e"),
                i_deg=orbit.get("i_deg"),
                q_au=orbit.get("q_au"),
                orbit_json={"orbit": orbit, "orbit_sigma": sol.get("orbit_sigma"), "shower": shower},
            )
        )

    # -- rejections and files ---------------------------------------------------------------------

    def record_rejection(
        self,
        session: Session,
        *,
        topic: str,
        station_id: str | None,
        field: str,
        reason: str,
        payload_sha256: str,
        payload_bytes: int,
        received_utc: datetime,
    ) -> None:
        """Note a refused message (never its payload): truncated to the column sizes."""
        session.add(
            RejectedMessage(
                received_at=received_utc,
                topic=topic[:256],
                station_id=station_id,
                field=field[:200],
                reason=reason[:2000],
                payload_sha256=payload_sha256,
                payload_bytes=payload_bytes,
            )
        )

    def rejection_counts(self, by: str = "field") -> dict[str, int]:
        """How many messages were rejected, by `field`, `station_id` or `reason`."""
        column = {
            "field": RejectedMessage.field,
            "station_id": RejectedMessage.station_id,
            "reason": RejectedMessage.reason,
        }[by]
        with self.transaction() as session:
            return {str(k): int(n) for k, n in session.execute(select(column, func.count()).group_by(column))}

    def add_file(
        self,
        session: Session,
        *,
        station_id: str,
        name: str,
        sha256: str,
        size_bytes: int,
        path: str,
        uploaded_utc: datetime,
        observation_id: str | None = None,
    ) -> tuple[ProductFile, bool]:
        """Record an uploaded product file: (row, True) if new, (row, False) if the same file was
        already recorded; ReplayConflict if the station already has a different file of that name for
        that observation."""
        existing = session.scalar(
            select(ProductFile).where(
                ProductFile.station_id == station_id,
                ProductFile.observation_id == observation_id,
                ProductFile.name == name,
            )
        )
        if existing is not None:
            if existing.sha256 != sha256 or existing.size_bytes != size_bytes:
                raise ReplayConflict(
                    f"station {station_id!r} already uploaded a different file named {name!r}"
                )
            return existing, False
        self.touch_station(session, station_id, uploaded_utc)
        row = ProductFile(
            station_id=station_id,
            observation_id=observation_id,
            name=name,
            sha256=sha256,
            size_bytes=size_bytes,
            path=path,
            uploaded_utc=uploaded_utc,
        )
        session.add(row)
        session.flush()
        return row, True

    # -- reading ----------------------------------------------------------------------------------

    def count(self, model: type) -> int:
        """Rows in a table, e.g. store.count(Observation)."""
        with self.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(model)))

    def events(self) -> list[Event]:
        with self.transaction() as session:
            return list(session.scalars(select(Event).order_by(Event.first_utc)))

    def orbits(self, *, shower_code: str | None = None) -> list[Orbit]:
        with self.transaction() as session:
            query = select(Orbit).order_by(Orbit.begin_utc)
            if shower_code is not None:
                query = query.where(Orbit.shower_code == shower_code)
            return list(session.scalars(query))

    def station(self, station_id: str) -> Station | None:
        with self.transaction() as session:
            return session.get(Station, station_id)
