"""`skytrail bridge ...`: the cloud bridge's commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(parser: argparse.ArgumentParser, name: str) -> None:
    commands = parser.add_subparsers(dest="bridge_command", metavar="COMMAND", required=True)
    solve = commands.add_parser(
        "solve",
        help="solve observation reports from files and print the events as JSON",
        description="Correlate observation reports (wire-contract JSON files, or CMN/RMS 'M_' .txt "
        "files), triangulate each multi-station event, compute its orbit and shower, print JSON.",
    )
    solve.add_argument("files", nargs="+", type=Path, help="report files (.json, or CMN/RMS .txt)")
    solve.add_argument("--mc-runs", type=int, default=50, help="Monte Carlo runs (default 50)")
    solve.add_argument("--seed", type=int, default=1, help="seed of the Monte Carlo noise")
    solve.add_argument(
        "--max-timing-offset", type=float, default=0.5, help="largest clock offset between stations, s (0.5)"
    )
    solve.set_defaults(func=run_solve)

    serve = commands.add_parser(
        "serve",
        help="run the bridge: MQTT ingest, storage, solving (embedded broker and SQLite by default)",
        description="Run the bridge service. With no options it starts an embedded MQTT broker on "
        "loopback and stores into a SQLite file; --broker and --db point it at Mosquitto and PostgreSQL.",
    )
    from cloud_bridge.serve import add_arguments

    add_arguments(serve)
    serve.set_defaults(func=run_serve)

    token = commands.add_parser(
        "enrol-token",
        help="make a one-time enrolment token for a station (printed once)",
        description="Make a one-time token with which station STATION_ID fetches its credentials from "
        "the bridge (POST /fleet/enrol; the station's [uplink] enrol_token). The bridge keeps its SHA-256.",
    )
    token.add_argument("station_id", help="the station's id (2 to 32 of a-z, 0-9, '-')")
    token.add_argument("--db", default="sqlite:///skytrail-bridge.db", help="the bridge's database URL")
    token.add_argument("--valid-hours", type=float, default=168.0, help="hours until it expires (168)")
    token.add_argument("--json", action="store_true", help="print JSON (station_id, token, expires_utc)")
    token.set_defaults(func=run_enrol_token)

    admin = commands.add_parser(
        "api-token",
        help="make a new API token and print it with its settings entry",
        description="Print a new random token and the entry for SKYTRAIL_API_TOKENS (or the settings "
        "file) that accepts it; the entry holds only the token's SHA-256.",
    )
    admin.add_argument("name", help="who holds the token")
    admin.add_argument("--role", choices=["admin", "owner", "public"], default="admin")
    admin.add_argument("--station", action="append", default=[], help="a station an owner owns (repeat)")
    admin.set_defaults(func=run_api_token)


def run_enrol_token(args: argparse.Namespace) -> int:
    import re

    from cloud_bridge.fleet.enrolment import create_enrolment_token
    from cloud_bridge.store import Store
    from edge.protocol.models import STATION_ID_PATTERN

    if not re.fullmatch(STATION_ID_PATTERN, args.station_id):
        raise ValueError(f"{args.station_id!r} is not a station id (2 to 32 of a-z, 0-9, '-')")
    store = Store(args.db)
    try:
        token, expires = create_enrolment_token(
            store, args.station_id, created_by="cli", valid_s=args.valid_hours * 3600.0
        )
    finally:
        store.close()
    if args.json:
        print(json.dumps({"station_id": args.station_id, "token": token, "expires_utc": expires.isoformat()}))
    else:
        print(f"enrolment token for {args.station_id} (valid until {expires.isoformat()}):\n{token}")
    return 0


def run_api_token(args: argparse.Namespace) -> int:
    import secrets

    from cloud_bridge.api.config import TokenSpec

    token = secrets.token_urlsafe(32)
    spec = TokenSpec.from_plain(args.name, args.role, token, args.station)
    print(json.dumps({"token": token, "settings_entry": spec.model_dump(mode="json")}, indent=2))
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from cloud_bridge.serve import serve

    return serve(args)


def read_report(path: Path):
    """A report from a file: the wire contract's JSON, or a CMN/RMS text file."""
    from cloud_bridge.ingest.cmn import read_cmn_file
    from edge.protocol import ProtocolError, decode_payload

    if path.suffix.lower() == ".txt":
        return read_cmn_file(path)
    try:
        return decode_payload(path.read_bytes(), "obs")
    except ProtocolError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def run_solve(args: argparse.Namespace) -> int:
    import numpy as np

    from cloud_bridge.solve import solve_reports
    from cloud_bridge.summary import solution_to_dict

    reports = [read_report(p) for p in args.files]
    solutions = solve_reports(
        reports,
        mc_runs=args.mc_runs,
        max_timing_offset_s=args.max_timing_offset,
        rng=np.random.default_rng(args.seed),
    )
    print(json.dumps([solution_to_dict(s) for s in solutions], indent=2))
    if not solutions:
        print("skytrail bridge solve: no multi-station event among these reports", file=sys.stderr)
        return 1
    return 0 if all(s.ok for s in solutions) else 1
