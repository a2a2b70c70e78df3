"""`skytrail station ...`: run the station, check its config and health, provision a first boot.

- `run --config PATH`: the supervisor (`edge.station.supervisor`), what systemd starts;
- `check-config PATH`: validate a station.toml (exit 2 with the error, 0 and OK);
- `health [--data-dir D] [--json]`: exit 0 when healthy, 1 with the reason (`edge.station.health`);
- `provision --boot-file F --data-dir D`: first boot, `edge.station.provision.main`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.station.config import DEFAULT_CONFIG_PATH, DEFAULT_DATA_DIR, ConfigError, load_config


def register(parser: argparse.ArgumentParser, name: str) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = sub.add_parser("run", help="run the station supervisor (capture, detect, measure, uplink)")
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH, help="station.toml")
    run.set_defaults(func=cmd_run)
    check = sub.add_parser("check-config", help="validate a station.toml")
    check.add_argument("path", type=Path)
    check.set_defaults(func=cmd_check_config)
    health = sub.add_parser("health", help="exit 0 when the running station is healthy, 1 with the reason")
    health.add_argument("--data-dir", type=Path, default=None, help=f"default: {DEFAULT_DATA_DIR}")
    health.add_argument("--config", type=Path, default=None, help="take the data dir from this config")
    health.add_argument("--json", action="store_true")
    health.set_defaults(func=cmd_health)
    prov = sub.add_parser("provision", help="first boot: skytrail.toml on the boot partition -> station.toml")
    prov.add_argument("--boot-file", type=Path, required=True)
    prov.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    prov.set_defaults(func=cmd_provision)


def cmd_run(args: argparse.Namespace) -> int:
    from edge.station.supervisor import Supervisor

    try:
        supervisor = Supervisor(args.config, verbose=getattr(args, "verbose", False))
    except ConfigError as exc:
        print(f"skytrail station run: {exc}", file=sys.stderr)
        return 2
    return supervisor.run()


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.path)
    except ConfigError as exc:
        print(f"{exc}", file=sys.stderr)
        return 2
    print(f"OK: station {cfg.station.id}, {len(cfg.camera)} camera(s), data in {cfg.data_dir}")
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    from edge.station.health import check_health

    data_dir = args.data_dir
    if data_dir is None and args.config is not None:
        try:
            data_dir = load_config(args.config).data_dir
        except ConfigError as exc:
            print(f"unhealthy: {exc}", file=sys.stderr)
            return 1
    ok, reason = check_health(data_dir or DEFAULT_DATA_DIR)
    if args.json:
        print(json.dumps({"healthy": ok, "reason": reason}))
    else:
        print(("healthy: " if ok else "unhealthy: ") + reason, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def cmd_provision(args: argparse.Namespace) -> int:
    try:
        from edge.station.provision import main
    except ImportError as exc:
        print(f"skytrail station provision: not available in this build ({exc})", file=sys.stderr)
        return 2
    return int(main(args) or 0)
