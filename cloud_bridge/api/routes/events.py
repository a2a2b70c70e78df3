"""`/events`: candidate meteors (observations close in time) with the solver's state, their
stations, trajectories and orbits; filtered by time, station, shower and status."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_bridge.api.deps import (
    MAX_ID,
    CurrentUser,
    DbSession,
    PageParams,
    ShowerFilter,
    StationFilter,
    TimeRange,
    paged,
)
from cloud_bridge.api.routes.orbits import orbit_out
from cloud_bridge.api.schemas import EventOut, Listing, TrajectoryOut
from cloud_bridge.store import Event, EventStatus, Observation, Orbit, Trajectory

router = APIRouter(prefix="/events", tags=["events"])


def events_out(session: Session, events: list[Event]) -> list[EventOut]:
    """Events with their observations, trajectories and orbits (three queries for the whole page)."""
    ids = [e.id for e in events]
    obs: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for event_id, obs_id, station_id in session.execute(
        select(Observation.event_id, Observation.observation_id, Observation.station_id)
        .where(Observation.event_id.in_(ids))
        .order_by(Observation.first_utc, Observation.observation_id)
    ):
        obs[event_id].append((obs_id, station_id))
    trajectories: dict[int, list[TrajectoryOut]] = defaultdict(list)
    for t in session.scalars(select(Trajectory).where(Trajectory.event_id.in_(ids)).order_by(Trajectory.id)):
        out = TrajectoryOut(
            id=t.id,
            begin_utc=t.begin_utc,
            begin_lat_deg=t.begin_lat_deg,
            begin_lon_deg=t.begin_lon_deg,
            begin_height_m=t.begin_height_m,
            end_height_m=t.end_height_m,
            v_init_kms=t.v_init_kms,
            residual_rms_arcmin=t.residual_rms_arcmin,
            n_stations=t.n_stations,
            solved_at=t.solved_at,
            solution=t.solution_json,
        )
        trajectories[t.event_id].append(out)
    orbits = defaultdict(list)
    for o in session.scalars(select(Orbit).where(Orbit.event_id.in_(ids)).order_by(Orbit.id)):
        orbits[o.event_id].append(orbit_out(o))
    return [
        EventOut(
            id=e.id,
            status=e.status,
            failure_reason=e.failure_reason,
            first_utc=e.first_utc,
            last_utc=e.last_utc,
            solved_at=e.solved_at,
            n_observations=e.n_observations,
            n_stations=e.n_stations,
            n_solves=e.n_solves,
            station_ids=sorted({s for _, s in obs[e.id]}),
            observation_ids=[o for o, _ in obs[e.id]],
            trajectories=trajectories[e.id],
            orbits=orbits[e.id],
        )
        for e in events
    ]


@router.get("", response_model=Listing[EventOut])
def list_events(
    session: DbSession,
    _user: CurrentUser,
    page: PageParams,
    times: TimeRange,
    station_id: StationFilter = None,
    shower: ShowerFilter = None,
    event_status: Annotated[
        str | None,
        Query(alias="status", pattern="^(" + "|".join(EventStatus.ALL) + ")$", description="solver state"),
    ] = None,
) -> Listing[EventOut]:
    """Events whose first frame is in [since, until), seen by a station, with an orbit of a shower,
    in a solver state, as asked; by time."""
    query = select(Event)
    query = times.apply(query, Event.first_utc)
    if station_id is not None:
        query = query.where(
            Event.id.in_(select(Observation.event_id).where(Observation.station_id == station_id))
        )
    if shower is not None:
        query = query.where(Event.id.in_(select(Orbit.event_id).where(Orbit.shower_code == shower.upper())))
    if event_status is not None:
        query = query.where(Event.status == event_status)
    query = query.order_by(Event.first_utc, Event.id)
    return paged(session, query, page, lambda rows: events_out(session, rows))


@router.get("/{event_id}", response_model=EventOut, responses={404: {"description": "no such event"}})
def get_event(
    event_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: DbSession, _user: CurrentUser
) -> EventOut:
    row = session.get(Event, event_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no event {event_id}")
    return events_out(session, [row])[0]
