"""`/stations/{id}/commands`: admins send a station a command (config update, capture a test frame,
restart, firmware update), published on its `cmd` topic; the station's owner and admins list the
commands with their results; `/commands/{request_id}` is one of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from cloud_bridge.api.config import Role
from cloud_bridge.api.deps import DbSession, PageParams, User, check_station_owner, paged, require_role
from cloud_bridge.api.schemas import CommandIn, CommandOut, Listing
from cloud_bridge.fleet.commands import issue_command
from cloud_bridge.store import Station
from cloud_bridge.store.models import StationCommand
from edge.protocol import ProtocolError
from edge.protocol.codec import protocol_error_from_validation
from edge.protocol.models import REQUEST_ID_PATTERN, STATION_ID_PATTERN

router = APIRouter(tags=["commands"])

StationId = Annotated[str, Path(pattern=STATION_ID_PATTERN, description="station id")]


def command_out(row: StationCommand) -> CommandOut:
    return CommandOut(
        request_id=row.request_id,
        station_id=row.station_id,
        kind=row.kind,
        args=row.args_json,
        issued_utc=row.issued_utc,
        expires_utc=row.expires_utc,
        issued_by=row.issued_by,
        published_utc=row.published_utc,
        publish_error=row.publish_error,
        result_ok=row.result_ok,
        result_message=row.result_message,
        result_data=row.result_data,
        result_utc=row.result_utc,
    )


@router.post(
    "/stations/{station_id}/commands",
    response_model=CommandOut,
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "no such station"}},
)
async def send_command(
    station_id: StationId,
    body: CommandIn,
    request: Request,
    user: Annotated[User, Depends(require_role(Role.ADMIN))],
) -> CommandOut:
    """Store a command and publish it to the station (admins). `publish_error` says why it was not
    sent, if it was not (no broker connection)."""
    store = request.app.state.store
    publisher = getattr(request.app.state, "publisher", None)
    try:
        row = await run_in_threadpool(
            issue_command,
            store,
            station_id,
            body.kind,
            body.args,
            issued_by=user.name,
            expires_s=body.expires_s,
            publisher=publisher,
        )
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except ValidationError as exc:
        problem = protocol_error_from_validation(exc)
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"{problem.field}: {problem.reason}"
        ) from exc
    except ProtocolError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    return command_out(row)


@router.get("/stations/{station_id}/commands", response_model=Listing[CommandOut])
def list_commands(
    station_id: StationId,
    session: DbSession,
    page: PageParams,
    user: Annotated[User, Depends(require_role(Role.OWNER))],
) -> Listing[CommandOut]:
    """The station's commands, newest first, with their results (its owner and admins)."""
    check_station_owner(user, station_id)
    if session.get(Station, station_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no station {station_id!r}")
    query = (
        select(StationCommand)
        .where(StationCommand.station_id == station_id)
        .order_by(StationCommand.issued_utc.desc(), StationCommand.id.desc())
    )
    return paged(session, query, page, lambda rows: [command_out(r) for r in rows])


@router.get(
    "/commands/{request_id}", response_model=CommandOut, responses={404: {"description": "no such command"}}
)
def get_command(
    request_id: Annotated[str, Path(pattern=REQUEST_ID_PATTERN)],
    session: DbSession,
    user: Annotated[User, Depends(require_role(Role.OWNER))],
) -> CommandOut:
    """One command and its result (the station's owner and admins)."""
    row = session.scalar(select(StationCommand).where(StationCommand.request_id == request_id))
    if row is None or not user.may_see_station(row.station_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no command {request_id!r} that you may see")
    return command_out(row)
