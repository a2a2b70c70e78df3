"""`/observations`: the observation reports stored, by first frame time; one report in full at
`/observations/{observation_id}`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import select

from cloud_bridge.api.deps import MAX_ID, CurrentUser, DbSession, PageParams, StationFilter, TimeRange, paged
from cloud_bridge.api.schemas import Listing, ObservationOut
from cloud_bridge.store import Observation
from edge.protocol.models import OBSERVATION_ID_PATTERN

router = APIRouter(prefix="/observations", tags=["observations"])


def observation_out(row: Observation, *, with_report: bool = False) -> ObservationOut:
    out = ObservationOut.model_validate(row)
    if with_report:
        out.report = row.report_json
    return out


@router.get("", response_model=Listing[ObservationOut])
def list_observations(
    session: DbSession,
    _user: CurrentUser,
    page: PageParams,
    times: TimeRange,
    station_id: StationFilter = None,
    event_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="only this event's")] = None,
) -> Listing[ObservationOut]:
    """Observations whose first frame is in [since, until), of one station or event if asked."""
    query = select(Observation)
    query = times.apply(query, Observation.first_utc)
    if station_id is not None:
        query = query.where(Observation.station_id == station_id)
    if event_id is not None:
        query = query.where(Observation.event_id == event_id)
    query = query.order_by(Observation.first_utc, Observation.id)
    return paged(session, query, page, lambda rows: [observation_out(r) for r in rows])


@router.get(
    "/{observation_id}",
    response_model=ObservationOut,
    responses={404: {"description": "no such observation"}},
)
def get_observation(
    observation_id: Annotated[str, Path(pattern=OBSERVATION_ID_PATTERN)],
    session: DbSession,
    _user: CurrentUser,
) -> ObservationOut:
    """One observation with its report as received (the wire contract's JSON)."""
    row = session.scalar(select(Observation).where(Observation.observation_id == observation_id))
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no observation {observation_id!r}")
    return observation_out(row, with_report=True)
