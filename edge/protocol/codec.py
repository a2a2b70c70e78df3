"""Bytes to message models and back: the one place where a payload is checked before use.

`decode_message(topic, payload)` checks, in order: the topic, the size (at most
MAX_PAYLOAD_BYTES), UTF-8, JSON (strict: no NaN/Infinity, no duplicate keys, an object at the
top), the schema version, the model (strict types: no strings for numbers, no floats for
integers), and that the payload's station_id equals the topic's. Any failure raises
ProtocolError naming the field and the problem; nothing is returned half-checked.

`encode_message(model)` writes compact UTF-8 JSON; decode(encode(m)) == m and
encode(decode(encode(m))) == encode(m).
"""

from __future__ import annotations

import json
import math
from typing import Any

from pydantic import BaseModel, ValidationError

from edge.protocol.errors import FieldProblem, Path, ProtocolError, format_path
from edge.protocol.models import MESSAGE_MODELS, SUPPORTED_SCHEMA_VERSIONS, check_schema_version
from edge.protocol.topics import TOPICS, TopicKind, parse_topic

MAX_PAYLOAD_BYTES = 1024 * 1024
"""Largest payload accepted or written, bytes (1 MiB: about 4,000 fully measured frames of 256 bytes)."""

_MAX_PROBLEMS = 20


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _find_non_finite(value: Any, path: Path = ()) -> tuple[Path, float] | None:
    """Path and value of the first NaN or infinity in a parsed JSON value, or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, value)
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _find_non_finite(item, (*path, key))
        if found is not None:
            return found
    return None


def _reason(error: dict[str, Any]) -> tuple[Path, str]:
    """Location and plain reason of one pydantic error, with FieldProblem sub-paths joined in."""
    loc = tuple(error.get("loc", ()))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldProblem):
        return loc + cause.path, cause.reason
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return loc, "unknown field (extra fields are not permitted)"
    if kind == "missing":
        return loc, "required field is missing"
    message = str(error.get("msg", "invalid"))
    if isinstance(cause, ValueError):
        message = str(cause)
    return loc, message


def protocol_error_from_validation(exc: ValidationError) -> ProtocolError:
    """Turn a pydantic ValidationError into a ProtocolError naming each field path."""
    problems = []
    for error in exc.errors()[:_MAX_PROBLEMS]:
        loc, reason = _reason(error)
        problems.append((format_path(loc) or "message", reason))
    if not problems:  # pragma: no cover - pydantic always reports at least one error
        problems.append(("message", str(exc)))
    return ProtocolError(problems[0][0], problems[0][1], problems)


def decode_payload(payload: bytes | bytearray | memoryview | str, kind: str,
                   expected_station_id: str | None = None) -> BaseModel:
    """Check and parse a payload of topic kind `kind` (e.g. "obs") into its message model.

    If `expected_station_id` is given, the payload's station_id must equal it.
    """
    try:
        spec = TOPICS[TopicKind(kind)]
    except ValueError:
        known = ", ".join(k.value for k in TopicKind)
        raise ProtocolError("kind", f"{kind!r} is not a topic kind (one of {known})") from None

    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    data = bytes(payload)
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ProtocolError("payload", f"{len(data)} bytes exceeds the maximum of {MAX_PAYLOAD_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError("payload", f"not valid UTF-8 at byte {exc.start}: {exc.reason}") from None

    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise ProtocolError("payload", f"duplicate key {exc.key!r} in a JSON object") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise ProtocolError("payload", f"not JSON: {exc.msg} at {where}") from None
    except RecursionError:
        raise ProtocolError("payload", "JSON nested too deeply") from None
    if not isinstance(obj, dict):
        raise ProtocolError("payload", f"must be a JSON object, got a JSON {type(obj).__name__}")
    found = _find_non_finite(obj)
    if found is not None:
        path, value = found
        reason = f"{value} is not a finite number (NaN and Infinity are not JSON)"
        raise ProtocolError(format_path(path), reason)

    if "schema_version" not in obj:
        understood = ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
        raise ProtocolError("schema_version", f"missing; every message must carry it (this software "
                            f"understands version(s) {understood})")
    try:
        check_schema_version(obj["schema_version"])
    except ValueError as exc:
        raise ProtocolError("schema_version", str(exc)) from None

    try:
        message = spec.model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise protocol_error_from_validation(exc) from None

    if expected_station_id is not None and message.station_id != expected_station_id:  # type: ignore[attr-defined]
        raise ProtocolError("station_id", f"{message.station_id!r} does not match the topic's station "  # type: ignore[attr-defined]
                            f"{expected_station_id!r}")
    return message


def decode_message(topic: str, payload: bytes | bytearray | memoryview | str) -> BaseModel:
    """Check and parse an MQTT message into the model its topic carries; raise ProtocolError if bad."""
    station_id, kind = parse_topic(topic)
    return decode_payload(payload, kind, expected_station_id=station_id)


def encode_message(message: BaseModel) -> bytes:
    """Compact UTF-8 JSON of a message model; ProtocolError if it exceeds MAX_PAYLOAD_BYTES."""
    if not isinstance(message, MESSAGE_MODELS):
        raise TypeError(f"{type(message).__name__} is not a Skytrail message model")
    data = message.model_dump_json().encode("utf-8")
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ProtocolError("payload", f"encoded message is {len(data)} bytes, over the maximum of "
                            f"{MAX_PAYLOAD_BYTES} bytes")
    return data
