"""The API's response models (what `/openapi.json` publishes), built from the store's rows.

Times are aware UTC (ISO 8601 in JSON); angles in degrees, speeds in km/s, heights in metres. The
solver's JSON (`cloud_bridge.summary.solution_to_dict`) is passed on as stored, under `solution`
and `orbit`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from edge.protocol.models import STATION_ID_PATTERN, CommandKind

T = TypeVar("T")


class Listing(BaseModel, Generic[T]):
    """One page of a list: `total` items match the filters; `items` are those from `offset` on."""

    total: int
    limit: int
    offset: int
    items: list[T]


class _Rows(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class StationOut(_Rows):
    """A station; `state`, `status` and `telemetry` only for its owner and admins, else null.
    `online`: its status is not offline and it was heard within the bridge's online window;
    `time_quality`: from its last telemetry; `enrolled`: it holds credentials from enrolment."""

    station_id: str
    created_utc: datetime
    last_seen_utc: datetime
    lat_deg: float | None
    lon_deg: float | None
    height_m: float | None
    software_version: str | None = None
    online: bool = False
    enrolled: bool = False
    time_quality: dict[str, Any] | None = None
    state: str | None = None
    status_utc: datetime | None = None
    status: dict[str, Any] | None = None
    telemetry_utc: datetime | None = None
    telemetry: dict[str, Any] | None = None


class ObservationOut(_Rows):
    """An observation report's index; `report` (the wire-contract JSON) only on the single item."""

    observation_id: str
    station_id: str
    camera_id: str
    first_utc: datetime
    last_utc: datetime
    n_frames: int
    received_utc: datetime
    event_id: int | None
    report: dict[str, Any] | None = None


class _Radiant(_Rows):
    """What an orbit and a point of the radiant plot share: the event, when the meteor began, its
    geocentric radiant and speed, the shower and the solar longitude."""

    event_id: int
    begin_utc: datetime
    ra_g_deg: float
    dec_g_deg: float
    v_g_kms: float
    sigma_radiant_deg: float | None
    shower_code: str | None
    solar_longitude_deg: float | None


class OrbitOut(_Radiant):
    """A heliocentric orbit: geocentric radiant, elements, shower; `orbit` holds the solver's JSON
    (elements, their sigmas, the shower association)."""

    id: int
    trajectory_id: int
    a_au: float | None
    e: float | None
    i_deg: float | None
    q_au: float | None
    orbit: dict[str, Any] | None = None


class RadiantOut(_Radiant):
    """One point of the radiant plot."""


class TrajectoryOut(_Rows):
    """One solved multi-station group; `solution` is `solution_to_dict`'s JSON as stored."""

    id: int
    begin_utc: datetime
    begin_lat_deg: float
    begin_lon_deg: float
    begin_height_m: float
    end_height_m: float
    v_init_kms: float
    residual_rms_arcmin: float | None
    n_stations: int
    solved_at: datetime
    solution: dict[str, Any]


class EventOut(_Rows):
    """An event with the solver's state, its stations, and its trajectories and orbits."""

    id: int
    status: str
    failure_reason: str | None
    first_utc: datetime
    last_utc: datetime
    solved_at: datetime | None
    n_observations: int
    n_stations: int
    n_solves: int
    station_ids: list[str]
    observation_ids: list[str]
    trajectories: list[TrajectoryOut]
    orbits: list[OrbitOut]


class RejectedOut(_Rows):
    """A message refused at ingest (its payload is not kept): where from, which field, why."""

    id: int
    received_at: datetime
    topic: str
    station_id: str | None
    field: str
    reason: str
    payload_sha256: str
    payload_bytes: int


class _StationIn(BaseModel):
    """A request about one station, refused if it has fields not in the model."""

    model_config = ConfigDict(extra="forbid")

    station_id: Annotated[str, StringConstraints(pattern=STATION_ID_PATTERN)]


class EnrolmentTokenIn(_StationIn):
    """An admin asks for a one-time enrolment token for a station."""

    valid_s: float = Field(
        7 * 24 * 3600.0, gt=0, le=365 * 24 * 3600.0, description="seconds until it expires"
    )


class EnrolmentTokenOut(BaseModel):
    """The token, shown once (the bridge keeps its SHA-256 only)."""

    station_id: str
    token: str
    expires_utc: datetime


class EnrolIn(_StationIn):
    """A station spends its one-time token."""

    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CredentialsOut(BaseModel):
    """A station's credentials, given once: MQTT user and password, and its HTTP token (role station)."""

    station_id: str
    mqtt_username: str
    mqtt_password: str
    http_token: str


class CommandIn(BaseModel):
    """A command for a station; `args` by kind as the wire contract's `Command` says."""

    model_config = ConfigDict(extra="forbid")

    kind: CommandKind
    args: dict[str, JsonValue] = {}
    expires_s: float | None = Field(
        None, gt=0, le=30 * 24 * 3600.0, description="the station must not act on it after this many seconds"
    )


class CommandOut(_Rows):
    """A command sent to a station and, once it answered, its result."""

    request_id: str
    station_id: str
    kind: str
    args: dict[str, Any]
    issued_utc: datetime
    expires_utc: datetime | None
    issued_by: str
    published_utc: datetime | None
    publish_error: str | None
    result_ok: bool | None
    result_message: str | None
    result_data: dict[str, Any] | None
    result_utc: datetime | None


class FileOut(_Rows):
    """A stored product file; `url` is where to download it (relative to the bridge's base URL)."""

    station_id: str
    observation_id: str | None
    name: str
    sha256: str
    size_bytes: int
    uploaded_utc: datetime
    url: str


class UploadStateOut(BaseModel):
    """Where an upload stands: bytes received (`offset`) of `total`; `complete` once stored."""

    offset: int
    total: int
    sha256: str
    complete: bool


class StatsOut(BaseModel):
    """Counters: API requests refused (by status and route), ingest counters of this process (when
    it runs ingest), and the messages refused at ingest kept in the store, by field."""

    api_rejected: dict[str, int]
    ingest: dict[str, int] | None
    rejected_messages_by_field: dict[str, int]
