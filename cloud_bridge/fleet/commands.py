"""Commands to stations: an admin issues one (config update, capture a test frame, restart, firmware
update); it is stored, then published on `skytrail/v1/<station>/cmd` (QoS 1, not retained); the
station's `CommandResult` on `cmd/result` is matched to it by request id and stored with it.

Publishing goes through a `CommandPublisher` (the bridge's MQTT connection, `MqttIngest.publish`);
without one the command is stored with `publish_error` saying why it was not sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_bridge.store import Store
from cloud_bridge.store.models import Station, StationCommand
from edge.protocol import Command, CommandKind, CommandResult, cmd_topic, encode_message
from edge.protocol.models import new_request_id

log = logging.getLogger(__name__)

CommandPublisher = Callable[[str, bytes], None]
"""publish(topic, payload): sends at QoS 1; raises (ConnectionError, ...) when it cannot."""


class CommandResultRefused(ValueError):
    """A CommandResult that answers no command of its station (or answers one a second time,
    differently): `field` names what is wrong."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field


def issue_command(
    store: Store,
    station_id: str,
    kind: CommandKind | str,
    args: dict[str, Any],
    *,
    issued_by: str,
    expires_s: float | None = None,
    publisher: CommandPublisher | None = None,
    now_utc: datetime | None = None,
) -> StationCommand:
    """Check the command against the wire contract, store it, publish it; the stored row.

    Raises LookupError for an unknown station, pydantic's ValidationError (via `Command`) for
    arguments the contract refuses.
    """
    now = now_utc or datetime.now(UTC)
    command = Command(
        station_id=station_id,
        request_id=new_request_id(),
        kind=CommandKind(kind),
        args=args,
        issued_utc=now,
        expires_utc=now + timedelta(seconds=expires_s) if expires_s else None,
    )
    payload = encode_message(command)  # ProtocolError if oversized
    with store.transaction() as session:
        if session.get(Station, station_id) is None:
            raise LookupError(f"no station {station_id!r}")
        row = StationCommand(
            request_id=command.request_id,
            station_id=station_id,
            kind=command.kind.value,
            args_json=command.model_dump(mode="json")["args"],
            issued_utc=now,
            expires_utc=command.expires_utc,
            issued_by=issued_by[:64],
        )
        session.add(row)
    error = None
    if publisher is None:
        error = "not published: the bridge has no MQTT connection"
    else:
        try:
            publisher(cmd_topic(station_id), payload)
        except Exception as exc:  # the command stays stored with the reason
            error = f"not published: {type(exc).__name__}: {exc}"
    with store.transaction() as session:
        stored = session.get(StationCommand, row.id)
        if error is None:
            stored.published_utc = datetime.now(UTC)
        else:
            stored.publish_error = error
        row = stored
    log.info(
        "event=command_issued station=%s request_id=%s kind=%s by=%s published=%s error=%r",
        station_id,
        command.request_id,
        command.kind.value,
        issued_by,
        error is None,
        error,
    )
    return row


def record_result(session: Session, result: CommandResult, received_utc: datetime) -> bool:
    """Store a station's answer with its command: True when stored, False for an identical redelivery;
    CommandResultRefused when it answers no command of this station or contradicts a stored answer."""
    row = session.scalar(
        select(StationCommand).where(StationCommand.request_id == result.request_id).with_for_update()
    )
    if row is None or row.station_id != result.station_id:
        raise CommandResultRefused(
            "request_id", f"no command {result.request_id!r} was sent to station {result.station_id!r}"
        )
    data = result.model_dump(mode="json")
    if row.result_utc is not None:
        same = (row.result_ok, row.result_message, row.result_data, row.result_utc) == (
            result.ok,
            result.message,
            data["data"],
            result.utc,
        )
        if same:
            return False
        raise CommandResultRefused(
            "request_id", f"command {result.request_id!r} was already answered differently (a replay?)"
        )
    row.result_ok = result.ok
    row.result_message = result.message
    row.result_data = data["data"]
    row.result_utc = result.utc
    row.result_received_utc = received_utc
    return True
