"""`/fleet`: enrolment. An admin makes a one-time token for a station
(`POST /fleet/enrolment-tokens`); the station spends it once (`POST /fleet/enrol`, no bearer token:
the enrolment token is the credential) and receives its MQTT and HTTP credentials. With an external
Mosquitto configured, the broker's password and ACL files are rewritten and the broker reloaded."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from cloud_bridge.api.config import Role
from cloud_bridge.api.deps import User, get_store, require_role
from cloud_bridge.api.schemas import CredentialsOut, EnrolIn, EnrolmentTokenIn, EnrolmentTokenOut
from cloud_bridge.fleet.enrolment import EnrolmentRefused, create_enrolment_token, enrol
from cloud_bridge.store import Store

log = logging.getLogger(__name__)

router = APIRouter(prefix="/fleet", tags=["fleet"])


@router.post("/enrolment-tokens", response_model=EnrolmentTokenOut, status_code=status.HTTP_201_CREATED)
def new_enrolment_token(
    body: EnrolmentTokenIn,
    store: Annotated[Store, Depends(get_store)],
    user: Annotated[User, Depends(require_role(Role.ADMIN))],
) -> EnrolmentTokenOut:
    """A one-time token for `station_id` (admins); shown once, kept by the bridge as its SHA-256."""
    token, expires = create_enrolment_token(
        store, body.station_id, created_by=user.name, valid_s=body.valid_s
    )
    return EnrolmentTokenOut(station_id=body.station_id, token=token, expires_utc=expires)


@router.post(
    "/enrol",
    response_model=CredentialsOut,
    responses={403: {"description": "the token is unknown, used, expired or for another station"}},
)
async def enrol_station(body: EnrolIn, request: Request) -> CredentialsOut:
    """Spend a one-time enrolment token and receive the station's credentials (given once)."""
    store: Store = request.app.state.store
    try:
        issued = await run_in_threadpool(enrol, store, body.station_id, body.token)
    except EnrolmentRefused as exc:
        log.warning("event=enrolment_refused station=%s reason=%r", body.station_id, str(exc))
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(exc)) from exc
    mosquitto = getattr(request.app.state, "mosquitto", None)
    if mosquitto is not None:
        try:
            await run_in_threadpool(mosquitto.sync, store)
        except Exception:  # the credentials are stored; the next sync (or a reload) makes them work
            log.exception("event=mosquitto_sync_failed station=%s", body.station_id)
    return CredentialsOut(
        station_id=issued.station_id,
        mqtt_username=issued.mqtt_username,
        mqtt_password=issued.mqtt_password,
        http_token=issued.http_token,
    )
