"""`/stations`: the network's stations (public: id, place, last seen; owner of the station and
admins: also its state, status and telemetry), and `/stations/{id}/rejected`, the messages refused
from a station (owner and admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status
from sqlalchemy import func, select

from cloud_bridge.api.config import Role
from cloud_bridge.api.deps import CurrentUser, DbSession, PageParams, User, require_role
from cloud_bridge.api.schemas import Listing, RejectedOut, StationOut
from cloud_bridge.store import RejectedMessage, Station
from edge.protocol.models import STATION_ID_PATTERN

router = APIRouter(prefix="/stations", tags=["stations"])

StationId = Annotated[str, Path(pattern=STATION_ID_PATTERN, description="station id")]


def station_out(row: Station, user: User) -> StationOut:
    """A station as `user` may see it: private fields only for its owner and admins."""
    out = StationOut(
        station_id=row.station_id,
        created_utc=row.created_utc,
        last_seen_utc=row.last_seen_utc,
        lat_deg=row.lat_deg,
        lon_deg=row.lon_deg,
        height_m=row.height_m,
        software_version=row.software_version,
    )
    if user.may_see_station(row.station_id):
        out.state = row.state
        out.status_utc, out.status = row.status_utc, row.status_json
        out.telemetry_utc, out.telemetry = row.telemetry_utc, row.telemetry_json
    return out


@router.get("", response_model=Listing[StationOut])
def list_stations(session: DbSession, user: CurrentUser, page: PageParams) -> Listing[StationOut]:
    """All stations by id."""
    total = session.scalar(select(func.count()).select_from(Station))
    rows = session.scalars(select(Station).order_by(Station.station_id).limit(page.limit).offset(page.offset))
    return Listing(
        total=total, limit=page.limit, offset=page.offset, items=[station_out(r, user) for r in rows]
    )


@router.get("/{station_id}", response_model=StationOut, responses={404: {"description": "no such station"}})
def get_station(station_id: StationId, session: DbSession, user: CurrentUser) -> StationOut:
    row = session.get(Station, station_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no station {station_id!r}")
    return station_out(row, user)


@router.get(
    "/{station_id}/rejected",
    response_model=Listing[RejectedOut],
    responses={403: {"description": "not this station's owner"}},
)
def station_rejected(
    station_id: StationId,
    session: DbSession,
    page: PageParams,
    user: Annotated[User, Depends(require_role(Role.OWNER))],
) -> Listing[RejectedOut]:
    """Messages refused from this station, newest first (its owner and admins only)."""
    if not user.may_see_station(station_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail=f"{user.name!r} does not own station {station_id!r}"
        )
    where = RejectedMessage.station_id == station_id
    total = session.scalar(select(func.count()).select_from(RejectedMessage).where(where))
    rows = session.scalars(
        select(RejectedMessage)
        .where(where)
        .order_by(RejectedMessage.received_at.desc(), RejectedMessage.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    )
    return Listing(
        total=total, limit=page.limit, offset=page.offset, items=[RejectedOut.model_validate(r) for r in rows]
    )
