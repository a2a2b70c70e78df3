"""`skytrail protocol ...`: print or write the JSON Schemas, and validate a message file.

    skytrail protocol schema [--out DIR]
    skytrail protocol validate FILE (--topic TOPIC | --kind KIND)

`validate` exits 0 and prints `OK ...` for a valid message, exits 2 and prints the
ProtocolError (field and reason) otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.protocol.codec import decode_message, decode_payload
from edge.protocol.errors import ProtocolError
from edge.protocol.schema import json_schemas, write_schemas
from edge.protocol.topics import TopicKind


def register(parser: argparse.ArgumentParser, name: str) -> None:
    """Add the `schema` and `validate` subcommands to the `skytrail {name}` group."""
    commands = parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)

    schema = commands.add_parser("schema", help="print the JSON Schemas of all messages, or write them",
                                 description="Print all message JSON Schemas as one JSON object keyed by "
                                 "model name, or write one FILE per model with --out.")
    schema.add_argument("--out", type=Path, metavar="DIR", help="write DIR/{Model}.json instead of printing")
    schema.set_defaults(func=_schema)

    validate = commands.add_parser("validate", help="check a message file against the wire contract",
                                   description="Decode FILE as a message of the given topic or kind; "
                                   "print OK (exit 0) or the problem (exit 2).")
    validate.add_argument("file", metavar="FILE", help="message payload (JSON); '-' reads standard input")
    which = validate.add_mutually_exclusive_group(required=True)
    which.add_argument("--topic", help="MQTT topic, e.g. skytrail/v1/ams01/obs (also checks the station id)")
    which.add_argument("--kind", choices=[k.value for k in TopicKind], help="topic kind, without a station")
    validate.set_defaults(func=_validate)


def _schema(args: argparse.Namespace) -> int:
    if args.out is None:
        print(json.dumps(json_schemas(), indent=2, ensure_ascii=False))
    else:
        for path in write_schemas(args.out):
            print(path)
    return 0


def _validate(args: argparse.Namespace) -> int:
    payload = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    try:
        if args.topic is not None:
            message = decode_message(args.topic, payload)
        else:
            message = decode_payload(payload, args.kind)
    except ProtocolError as exc:
        print(f"INVALID {args.file}: {exc}", file=sys.stderr)
        return 2
    print(f"OK {args.file}: {type(message).__name__} from station {message.station_id}")  # type: ignore[attr-defined]
    return 0
