"""`skytrail`: one command with subcommand groups for the station, the bridge and the tools.

Each group's subcommands live beside the code they drive (e.g. `edge/sim/cli.py`); this module
only wires them together, importing each lazily so that `skytrail --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from skytrail import __version__

# group name -> (module with `register(subparsers)`, one-line help)
GROUPS: dict[str, tuple[str, str]] = {
    "demo": ("skytrail.demo", "simulate a multi-station event end to end and show it"),
    "sim": ("edge.sim.cli", "simulate meteors, stations, cameras and frames with ground truth"),
    "protocol": ("edge.protocol.cli", "the wire contract: JSON Schemas, validation of messages"),
    "station": ("edge.station.cli", "run a station (capture, detect, measure, uplink)"),
    "bridge": ("cloud_bridge.cli", "the cloud bridge: serve, and solve reports from files"),
    "process": ("edge.process", "detect and measure events in recorded or simulated frames"),
    "eval": ("skytrail.evaluate", "measure accuracy against independent references and simulator truth"),
    "train": ("skytrail.train", "train the meteor classifier"),
    "plan": ("edge.plan.cli", "plan station hardware, camera pointings and network coverage"),
    "bench": ("skytrail.bench", "measure speed, as ratios against a baseline from the same run"),
}
# libraries whose INFO lines are about their own machinery (state transitions, migrations)
QUIET_LIBRARIES = ("alembic", "transitions", "amqtt", "httpx", "uvicorn.access")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skytrail", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"skytrail {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)
    for name, (module, help_text) in GROUPS.items():
        sub = groups.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).register(sub, name)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if not args.verbose:
        for name in QUIET_LIBRARIES:
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        if args.verbose:
            raise
        print(f"skytrail {args.group}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
