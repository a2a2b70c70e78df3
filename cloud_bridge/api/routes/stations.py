"""`/stations`: the network's stations (public: id, place, last seen, online, time quality; owner of
the station and admins: also its state, status and telemetry), and `/stations/{id}/rejected`, the
messages refused from a station (owner and admin)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status
from sqlalchemy import select

from cloud_bridge.api.config import ApiSettings, Role
from cloud_bridge.api.deps import (
    CurrentUser,
    DbSession,
    PageParams,
    User,
    check_station_owner,
    get_settings,
    paged,
    require_role,
)
from cloud_bridge.api.schemas import Listing, RejectedOut, StationOut
from cloud_bridge.store import RejectedMessage, Station
from cloud_bridge.store.models import StationCredential
from edge.protocol.models import STATION_ID_PATTERN

router = APIRouter(prefix="/stations", tags=["stations"])

StationId = Annotated[str, Path(pattern=STATION_ID_PATTERN, description="station id")]


Settings = Annotated[ApiSettings, Depends(get_settings)]


def is_online(row: Station, now_utc: datetime, window_s: float) -> bool:
    """Heard within `window_s` and not saying (or having its last will say) that it is offline."""
    if row.state is None or row.state == "offline":
        return False
    return now_utc - row.last_seen_utc <= timedelta(seconds=window_s)


def station_out(row: Station, user: User, settings: ApiSettings, enrolled: bool = False) -> StationOut:
    """A station as `user` may see it: private fields only for its owner and admins."""
    telemetry = row.telemetry_json or {}
    out = StationOut(
        online=is_online(row, datetime.now(UTC), settings.online_window_s),
        enrolled=enrolled,
        time_quality=telemetry.get("time_quality"),
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
def list_stations(
    session: DbSession, user: CurrentUser, page: PageParams, settings: Settings
) -> Listing[StationOut]:
    """All stations by id, with their online state and time quality."""

    def items(rows: list[Station]) -> list[StationOut]:
        enrolled = set(
            session.scalars(
                select(StationCredential.station_id).where(
                    StationCredential.station_id.in_([r.station_id for r in rows])
                )
            )
        )
        return [station_out(r, user, settings, r.station_id in enrolled) for r in rows]

    return paged(session, select(Station).order_by(Station.station_id), page, items)


@router.get("/{station_id}", response_model=StationOut, responses={404: {"description": "no such station"}})
def get_station(
    station_id: StationId, session: DbSession, user: CurrentUser, settings: Settings
) -> StationOut:
    row = session.get(Station, station_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no station {station_id!r}")
    return station_out(row, user, settings, session.get(StationCredential, station_id) is not None)


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
    check_station_owner(user, station_id)
    query = (
        select(RejectedMessage)
        .where(RejectedMessage.station_id == station_id)
        .order_by(RejectedMessage.received_at.desc(), RejectedMessage.id.desc())
    )
    return paged(session, query, page, lambda rows: [RejectedOut.model_validate(r) for r in rows])
