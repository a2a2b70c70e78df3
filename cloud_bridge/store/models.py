"""The bridge's tables (SQLAlchemy 2.x declarative models), the same on SQLite and PostgreSQL.

What is kept: stations (with their latest status and telemetry), observation reports (the
wire-contract JSON as received, plus indexed columns to find them), events (groups of observations
close in time, with the solver's state), trajectories and orbits (the `cloud_bridge.summary`
JSON plus indexed columns), messages rejected at ingest (reason, never the payload itself), and
product files uploaded by stations (with the state of uploads in progress), and the fleet's
enrolment tokens, station credentials and commands. The schema is created and changed only by the alembic
migrations in `migrations/`; `tests/cloud_bridge/store` checks that they match these models.

Times are aware UTC datetimes in Python (`UtcDateTime`: naive UTC in SQLite, timestamptz in
PostgreSQL); angles in degrees, speeds in km/s, heights in metres, as the column names say.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cloud_bridge.store.types import JsonType, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint and index names, fixed so that migrations can name what they change on every engine."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EventStatus:
    """Values of `events.status`."""

    PENDING = "pending"  # waiting for the settle window to pass after its last report
    SOLVING = "solving"  # claimed by a solver
    SOLVED = "solved"  # at least one multi-station group solved; trajectories/orbits stored
    FAILED = "failed"  # solving ran and gave nothing (failure_reason says why); a late report re-opens it
    ALL = (PENDING, SOLVING, SOLVED, FAILED)


class Station(Base):
    """A station, created when it first publishes; holds its latest status and telemetry."""

    __tablename__ = "stations"

    station_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_utc: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_utc: Mapped[datetime] = mapped_column(UtcDateTime())
    lat_deg: Mapped[float | None] = mapped_column(Float)
    lon_deg: Mapped[float | None] = mapped_column(Float)
    height_m: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str | None] = mapped_column(String(16))
    software_version: Mapped[str | None] = mapped_column(String(64))
    status_utc: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status_json: Mapped[dict | None] = mapped_column(JsonType)
    telemetry_utc: Mapped[datetime | None] = mapped_column(UtcDateTime())
    telemetry_json: Mapped[dict | None] = mapped_column(JsonType)


class Event(Base):
    """Observations close in time (a candidate meteor), and the solver's state for them.

    `revision` grows with every observation added, so a solver can tell that its input went stale
    while it worked; `solve_due_utc` is the end of the settle window after the last report.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    first_utc: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    last_utc: Mapped[datetime] = mapped_column(UtcDateTime())
    created_utc: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_utc: Mapped[datetime] = mapped_column(UtcDateTime())
    solve_due_utc: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    claimed_utc: Mapped[datetime | None] = mapped_column(UtcDateTime())
    solved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revision: Mapped[int] = mapped_column(Integer, default=0)
    n_observations: Mapped[int] = mapped_column(Integer, default=0)
    n_stations: Mapped[int] = mapped_column(Integer, default=0)
    n_solves: Mapped[int] = mapped_column(Integer, default=0)


class Observation(Base):
    """One observation report as received (`report_json`), stored once per observation_id."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    observation_id: Mapped[str] = mapped_column(String(128), unique=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.station_id"), index=True)
    camera_id: Mapped[str] = mapped_column(String(32))
    first_utc: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    last_utc: Mapped[datetime] = mapped_column(UtcDateTime())
    n_frames: Mapped[int] = mapped_column(Integer)
    received_utc: Mapped[datetime] = mapped_column(UtcDateTime())
    content_sha256: Mapped[str] = mapped_column(String(64))  # of the report's canonical JSON
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    report_json: Mapped[dict] = mapped_column(JsonType)
    # False for slow movers (satellites, aircraft): stored, never put into an event or solved
    meteor_like: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    screen_reason: Mapped[str | None] = mapped_column(Text)  # why it is not meteor-like


class Trajectory(Base):
    """One solved multi-station group of an event: `solution_json` is `solution_to_dict`'s output."""

    __tablename__ = "trajectories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    begin_utc: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    begin_lat_deg: Mapped[float] = mapped_column(Float)
    begin_lon_deg: Mapped[float] = mapped_column(Float)
    begin_height_m: Mapped[float] = mapped_column(Float)
    end_height_m: Mapped[float] = mapped_column(Float)
    v_init_kms: Mapped[float] = mapped_column(Float)
    residual_rms_arcmin: Mapped[float | None] = mapped_column(Float)
    n_stations: Mapped[int] = mapped_column(Integer)
    solved_at: Mapped[datetime] = mapped_column(UtcDateTime())
    solution_json: Mapped[dict] = mapped_column(JsonType)


class Orbit(Base):
    """The heliocentric orbit of a trajectory: `orbit_json` holds the elements, sigmas and shower."""

    __tablename__ = "orbits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trajectory_id: Mapped[int] = mapped_column(ForeignKey("trajectories.id", ondelete="CASCADE"), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    begin_utc: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    ra_g_deg: Mapped[float] = mapped_column(Float)
    dec_g_deg: Mapped[float] = mapped_column(Float)
    v_g_kms: Mapped[float] = mapped_column(Float)
    sigma_radiant_deg: Mapped[float | None] = mapped_column(Float)
    shower_code: Mapped[str | None] = mapped_column(String(8), index=True)
    solar_longitude_deg: Mapped[float | None] = mapped_column(Float)
    a_au: Mapped[float | None] = mapped_column(Float)
    e: Mapped[float | None] = mapped_column(Float)
    i_deg: Mapped[float | None] = mapped_column(Float)
    q_au: Mapped[float | None] = mapped_column(Float)
    orbit_json: Mapped[dict] = mapped_column(JsonType)

    __table_args__ = (Index("ix_orbits_radiant", "ra_g_deg", "dec_g_deg"),)


class RejectedMessage(Base):
    """A message refused at ingest: where it came from, which field, why. The payload is not kept."""

    __tablename__ = "rejected_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    topic: Mapped[str] = mapped_column(String(256))
    station_id: Mapped[str | None] = mapped_column(String(32), index=True)  # from the topic, if parseable
    field: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    payload_bytes: Mapped[int] = mapped_column(BigInteger)


class ProductFile(Base):
    """A product file a station uploaded (FITS, PNG, MP4, ...), stored at `path` in the file store."""

    __tablename__ = "files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.station_id"), index=True)
    observation_id: Mapped[str | None] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(String(1024))
    uploaded_utc: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("station_id", "observation_id", "name", name="uq_files_station_observation_name"),
    )


class Upload(Base):
    """A product file upload in progress: how far it got (`offset_bytes`) and where its chunks lie in
    the file store (`chunks_json`: [[offset, key], ...] in order). Removed when the file is complete."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(String(32), index=True)
    observation_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    offset_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    chunks_json: Mapped[list] = mapped_column(JsonType)
    created_utc: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_utc: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("station_id", "observation_id", "name", name="uq_uploads_station_observation_name"),
    )


class EnrolmentToken(Base):
    """A one-time token an admin made for one station to fetch its credentials (kept as SHA-256)."""

    __tablename__ = "enrolment_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(String(32), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_utc: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_utc: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    used_utc: Mapped[datetime | None] = mapped_column(UtcDateTime())


class StationCredential(Base):
    """A station's credentials, hashed: its MQTT user (the password as Mosquitto's PBKDF2-SHA512
    line, ready for the broker's password file) and the SHA-256 of its HTTP token (role station)."""

    __tablename__ = "station_credentials"

    station_id: Mapped[str] = mapped_column(ForeignKey("stations.station_id"), primary_key=True)
    mqtt_username: Mapped[str] = mapped_column(String(64), unique=True)
    mqtt_password_hash: Mapped[str] = mapped_column(String(512))
    http_token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    issued_utc: Mapped[datetime] = mapped_column(UtcDateTime())


class StationCommand(Base):
    """A fleet command sent to a station, and the station's result once it answers."""

    __tablename__ = "commands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.station_id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    args_json: Mapped[dict] = mapped_column(JsonType)
    issued_utc: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    expires_utc: Mapped[datetime | None] = mapped_column(UtcDateTime())
    issued_by: Mapped[str] = mapped_column(String(64))
    published_utc: Mapped[datetime | None] = mapped_column(UtcDateTime())
    publish_error: Mapped[str | None] = mapped_column(Text)
    result_ok: Mapped[bool | None] = mapped_column(Boolean)
    result_message: Mapped[str | None] = mapped_column(Text)
    result_data: Mapped[dict | None] = mapped_column(JsonType)
    result_utc: Mapped[datetime | None] = mapped_column(UtcDateTime())
    result_received_utc: Mapped[datetime | None] = mapped_column(UtcDateTime())
