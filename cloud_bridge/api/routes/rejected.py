"""`/rejected`: every message refused at ingest, with field and reason (admins see all; a station
owner sees those of its own stations only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from cloud_bridge.api.config import Role
from cloud_bridge.api.deps import DbSession, PageParams, StationFilter, TimeRange, User, paged, require_role
from cloud_bridge.api.schemas import Listing, RejectedOut
from cloud_bridge.store import RejectedMessage

router = APIRouter(prefix="/rejected", tags=["rejected"])


@router.get("", response_model=Listing[RejectedOut])
def list_rejected(
    session: DbSession,
    page: PageParams,
    times: TimeRange,
    user: Annotated[User, Depends(require_role(Role.OWNER))],
    station_id: StationFilter = None,
) -> Listing[RejectedOut]:
    """Refused messages, newest first, optionally of one station and in a time range."""
    query = select(RejectedMessage)
    if user.role != Role.ADMIN:
        query = query.where(RejectedMessage.station_id.in_(sorted(user.station_ids)))
    if station_id is not None:
        query = query.where(RejectedMessage.station_id == station_id)
    query = times.apply(query, RejectedMessage.received_at)
    query = query.order_by(RejectedMessage.received_at.desc(), RejectedMessage.id.desc())
    return paged(session, query, page, lambda rows: [RejectedOut.model_validate(r) for r in rows])
