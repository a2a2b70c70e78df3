"""`/stats`: what was refused and why, counted (admins): API requests refused (by status and route),
this process's ingest counters, and the messages refused at ingest that the store keeps, by field."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from cloud_bridge.api.config import Role
from cloud_bridge.api.deps import User, require_role
from cloud_bridge.api.schemas import StatsOut

router = APIRouter(prefix="/stats", tags=["stats"])


@router.get("", response_model=StatsOut)
def stats(request: Request, _user: Annotated[User, Depends(require_role(Role.ADMIN))]) -> StatsOut:
    state = request.app.state
    ingestor = getattr(state, "ingestor", None)
    with state.rejection_lock:
        api = dict(state.api_rejected)
    return StatsOut(
        api_rejected=api,
        ingest=ingestor.stats() if ingestor is not None else None,
        rejected_messages_by_field=state.store.rejection_counts("field"),
    )
