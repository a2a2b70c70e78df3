"""The API's response models (what `/openapi.json` publishes), built from the store's rows.

Times are aware UTC (ISO 8601 in JSON); angles in degrees, speeds in km/s, heights in metres. The
solver's JSON (`cloud_bridge.summary.solution_to_dict`) is passed on as stored, under `solution`
and `orbit`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

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
    """A station; `state`, `status` and `telemetry` only for its owner and admins, else null."""

    station_id: str
    created_utc: datetime
    last_seen_utc: datetime
    lat_deg: float | None
    lon_deg: float | None
    height_m: float | None
    software_version: str | None = None
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


class OrbitOut(_Rows):
    """A heliocentric orbit: geocentric radiant, elements, shower; `orbit` holds the solver's JSON
    (elements, their sigmas, the shower association)."""

    id: int
    event_id: int
    trajectory_id: int
    begin_utc: datetime
    ra_g_deg: float
    dec_g_deg: float
    v_g_kms: float
    sigma_radiant_deg: float | None
    shower_code: str | None
    solar_longitude_deg: float | None
    a_au: float | None
    e: float | None
    i_deg: float | None
    q_au: float | None
    orbit: dict[str, Any] | None = None


class RadiantOut(_Rows):
    """One point of the radiant plot."""

    event_id: int
    begin_utc: datetime
    ra_g_deg: float
    dec_g_deg: float
    v_g_kms: float
    sigma_radiant_deg: float | None
    shower_code: str | None
    solar_longitude_deg: float | None


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
