"""MQTT topic names of the wire contract, with QoS, retain flag and message model per topic.

Layout: `skytrail/v1/{station_id}/{kind}`, kind one of `status`, `telemetry`, `obs`, `cmd`,
`cmd/result`. The `v1` is the version of this topic layout, distinct from a message's
`schema_version`. Everything here works on MQTT 3.1.1 (amqtt); shared subscriptions
(`$share/...`) need a broker that offers them (Mosquitto 2 does, for 3.1.1 and 5 clients).

A broker can confine each station to its own topics with a username equal to the station id:
Mosquitto ACL `pattern readwrite skytrail/v1/%u/#`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel

from edge.protocol.errors import ProtocolError
from edge.protocol.models import (
    STATION_ID_PATTERN,
    Command,
    CommandResult,
    ObservationReport,
    StationState,
    StationStatus,
    Telemetry,
)

TOPIC_ROOT = "skytrail/v1"
"""Prefix of every Skytrail topic; a station's topics are `{TOPIC_ROOT}/{station_id}/{kind}`."""


class TopicKind(StrEnum):
    """The kinds of topic under a station's root (the part after `{station_id}/`)."""

    STATUS = "status"
    TELEMETRY = "telemetry"
    OBS = "obs"
    CMD = "cmd"
    CMD_RESULT = "cmd/result"


@dataclass(frozen=True)
class TopicSpec:
    """How messages of one kind travel: model, QoS, retain flag, and direction."""

    kind: TopicKind
    model: type[BaseModel]
    qos: int
    retain: bool
    publisher: str  # "station" or "bridge"
    description: str


TOPICS: dict[TopicKind, TopicSpec] = {
    TopicKind.STATUS: TopicSpec(
        TopicKind.STATUS, StationStatus, qos=1, retain=True, publisher="station",
        description="station state; retained; the last will sets it to 'offline'",
    ),
    TopicKind.TELEMETRY: TopicSpec(
        TopicKind.TELEMETRY, Telemetry, qos=0, retain=False, publisher="station",
        description="periodic health figures; losing one is harmless",
    ),
    TopicKind.OBS: TopicSpec(
        TopicKind.OBS, ObservationReport, qos=1, retain=False, publisher="station",
        description="observation reports; at least once, stored idempotently by observation_id",
    ),
    TopicKind.CMD: TopicSpec(
        TopicKind.CMD, Command, qos=1, retain=False, publisher="bridge",
        description="fleet commands; never retained, so a reconnecting station does not re-run old ones",
    ),
    TopicKind.CMD_RESULT: TopicSpec(
        TopicKind.CMD_RESULT, CommandResult, qos=1, retain=False, publisher="station",
        description="answers to commands, by request_id",
    ),
}
"""The one table of topic kinds: model carried, QoS, retain, who publishes."""

MODEL_KINDS: dict[type[BaseModel], TopicKind] = {spec.model: kind for kind, spec in TOPICS.items()}
"""Which topic kind carries each message model."""

_STATION_RE = re.compile(STATION_ID_PATTERN)


def _check_station_id(station_id: str) -> str:
    if not isinstance(station_id, str) or not _STATION_RE.fullmatch(station_id):
        raise ProtocolError(
            "station_id",
            f"{station_id!r} is not a station id (2 to 32 of a-z, 0-9, '-', not starting with '-')",
        )
    return station_id


def _check_kind(kind: str) -> TopicKind:
    try:
        return TopicKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in TopicKind)
        raise ProtocolError("kind", f"{kind!r} is not a topic kind (one of {known})") from None


def topic(station_id: str, kind: str) -> str:
    """The topic of messages of `kind` for `station_id`, e.g. `skytrail/v1/ams01/obs`."""
    return f"{TOPIC_ROOT}/{_check_station_id(station_id)}/{_check_kind(kind).value}"


def status_topic(station_id: str) -> str:
    """`skytrail/v1/{station_id}/status` (retained StationStatus)."""
    return topic(station_id, TopicKind.STATUS)


def telemetry_topic(station_id: str) -> str:
    """`skytrail/v1/{station_id}/telemetry` (Telemetry)."""
    return topic(station_id, TopicKind.TELEMETRY)


def obs_topic(station_id: str) -> str:
    """`skytrail/v1/{station_id}/obs` (ObservationReport)."""
    return topic(station_id, TopicKind.OBS)


def cmd_topic(station_id: str) -> str:
    """`skytrail/v1/{station_id}/cmd` (Command, bridge to station)."""
    return topic(station_id, TopicKind.CMD)


def cmd_result_topic(station_id: str) -> str:
    """`skytrail/v1/{station_id}/cmd/result` (CommandResult)."""
    return topic(station_id, TopicKind.CMD_RESULT)


def parse_topic(name: str) -> tuple[str, TopicKind]:
    """Split a concrete topic into (station_id, kind); raise ProtocolError if it is not one of ours.

    Wildcards, empty levels, other roots or versions, bad station ids and unknown kinds are
    all rejected with `field == "topic"`.
    """
    if not isinstance(name, str):
        raise ProtocolError("topic", f"must be a string, got {type(name).__name__}")
    expected = f"expected '{TOPIC_ROOT}/{{station_id}}/{{kind}}'"
    if "+" in name or "#" in name:
        raise ProtocolError("topic", f"{name!r} contains a wildcard; {expected}")
    levels = name.split("/")
    if len(levels) < 4 or "/".join(levels[:2]) != TOPIC_ROOT:
        raise ProtocolError("topic", f"{name!r} is not under {TOPIC_ROOT}/; {expected}")
    station_id, kind = levels[2], "/".join(levels[3:])
    if not _STATION_RE.fullmatch(station_id):
        raise ProtocolError("topic", f"{name!r}: {station_id!r} is not a station id "
                            "(2 to 32 of a-z, 0-9, '-', not starting with '-')")
    try:
        return station_id, TopicKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in TopicKind)
        raise ProtocolError("topic", f"{name!r}: unknown kind {kind!r} (one of {known})") from None


def subscription(kind: str, station_id: str = "+") -> str:
    """A topic filter for `kind`: one station's, or every station's with the default `+`."""
    if station_id != "+":
        _check_station_id(station_id)
    return f"{TOPIC_ROOT}/{station_id}/{_check_kind(kind).value}"


def shared_subscription(topic_filter: str, group: str) -> str:
    """`$share/{group}/{topic_filter}`: spread messages over a group of workers (broker permitting)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", group):
        raise ProtocolError("group", f"{group!r} is not a share group name (1 to 64 of A-Z, a-z, 0-9, _, -)")
    return f"$share/{group}/{topic_filter}"


BRIDGE_SUBSCRIPTIONS: tuple[tuple[str, int], ...] = tuple(
    (subscription(kind), TOPICS[kind].qos) for kind in TopicKind if TOPICS[kind].publisher == "station"
)
"""(topic filter, QoS) pairs the bridge subscribes to: every station's status, telemetry, obs, cmd/result."""


def station_subscriptions(station_id: str) -> tuple[tuple[str, int], ...]:
    """(topic filter, QoS) pairs a station subscribes to: its own command topic."""
    return ((cmd_topic(station_id), TOPICS[TopicKind.CMD].qos),)


def topic_for(message: BaseModel) -> str:
    """The topic a message model instance is published on (from its type and station_id)."""
    kind = MODEL_KINDS.get(type(message))
    if kind is None:
        raise TypeError(f"{type(message).__name__} is not a Skytrail message model")
    return topic(message.station_id, kind)  # type: ignore[attr-defined]


class WillMessage(NamedTuple):
    """An MQTT last will: what the broker publishes when the station drops off."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


def last_will(station_id: str, software_version: str, utc: datetime | None = None) -> WillMessage:
    """The retained `offline` StationStatus a station registers as its last will when it connects.

    `utc` defaults to now; the will is fixed at connect time, so its `utc` is the connection time.
    """
    from edge.protocol.codec import encode_message  # codec imports this module

    status = StationStatus(
        station_id=station_id,
        state=StationState.OFFLINE,
        software_version=software_version,
        utc=utc or datetime.now(UTC),
        message="connection lost (last will)",
    )
    spec = TOPICS[TopicKind.STATUS]
    return WillMessage(status_topic(station_id), encode_message(status), spec.qos, spec.retain)
