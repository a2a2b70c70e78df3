"""`skytrail sim ...`: simulate events with ground truth."""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from pathlib import Path

from pydantic import ValidationError


def register(parser: argparse.ArgumentParser, name: str) -> None:
    commands = parser.add_subparsers(dest="sim_command", metavar="COMMAND", required=True)

    event = commands.add_parser(
        "event",
        help="simulate one meteor seen by a network of stations",
        description="Simulate one meteor over a network: writes OUT/truth.json and one frame recording "
        "(.npz) per camera. Options override the scenario file, which overrides the defaults.",
    )
    event.add_argument("--out", required=True, type=Path, help="output directory")
    event.add_argument("--config", type=Path, help="scenario file (.json or .toml; see `sim scenario`)")
    event.add_argument("--stations", type=int, help="number of stations (default 3)")
    event.add_argument("--cameras", type=int, help="cameras per station, 1..4 (default 4)")
    event.add_argument("--shower", help="IAU shower code (PER, GEM, ...) or SPO for a sporadic")
    event.add_argument("--seed", type=int)
    event.add_argument(
        "--utc", help="begin time of the meteor, ISO 8601 (default: a good hour of the peak night)"
    )
    event.add_argument("--peak-mag", type=float, help="absolute magnitude at the peak (default -1)")
    event.add_argument(
        "--binning", type=int, help="sensor binning: 2 gives 960x540 frames over the same field"
    )
    event.add_argument("--profile", help="camera profile (m3-8mm, gmn-imx291-4mm)")
    event.add_argument(
        "--margin", type=float, help="seconds recorded before and after the meteor (default 0.5)"
    )
    event.add_argument("--satellites", type=int)
    event.add_argument("--aircraft", type=int)
    event.add_argument("--clouds", type=float, help="cloud cover fraction 0..1")
    event.add_argument("--insects", type=int)
    event.add_argument("--no-moon", action="store_true", help="leave the Moon out")
    event.set_defaults(func=run_event)

    scenario = commands.add_parser(
        "scenario", help="print the default scenario (a starting point for --config)"
    )
    scenario.add_argument("--stations", type=int, default=3)
    scenario.add_argument("--cameras", type=int, default=4)
    scenario.set_defaults(func=print_scenario)


def build_scenario(args: argparse.Namespace):
    """The scenario from the file (if any) with the command-line options laid over it."""
    from edge.sim.config import Scenario, default_network

    data: dict = {}
    if getattr(args, "config", None):
        text = args.config.read_text()
        data = tomllib.loads(text) if args.config.suffix == ".toml" else json.loads(text)
    if args.stations is not None or args.cameras is not None or args.profile or args.binning:
        data["stations"] = [
            s.model_dump()
            for s in default_network(
                args.stations or 3,
                args.cameras or 4,
                profile=args.profile or "m3-8mm",
                binning=args.binning or 1,
            )
        ]
    for key, value in (("seed", args.seed), ("utc", args.utc), ("margin_s", args.margin)):
        if value is not None:
            data[key] = value
    meteor = data.setdefault("meteor", {})
    if args.shower is not None:
        meteor["shower"] = args.shower
    if args.peak_mag is not None:
        meteor["peak_abs_mag"] = args.peak_mag
    distractors = data.setdefault("distractors", {})
    for key, value in (
        ("satellites", args.satellites),
        ("aircraft", args.aircraft),
        ("cloud_cover", args.clouds),
        ("insects", args.insects),
    ):
        if value is not None:
            distractors[key] = value
    if args.no_moon:
        distractors["moon"] = False
    return Scenario.model_validate(data)


def format_validation_error(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'scenario'}: {err['msg']}" for err in exc.errors()
    )


def run_event(args: argparse.Namespace) -> int:
    from edge.sim.event import simulate_event

    try:
        scenario = build_scenario(args)
    except ValidationError as exc:
        print(f"skytrail sim event: invalid scenario: {format_validation_error(exc)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    truth = simulate_event(scenario, args.out)
    m = truth["meteor"]
    summary = {
        "out": str(args.out),
        "shower": m["shower"] or "sporadic",
        "begin_utc": m["begin"]["utc"],
        "radiant_geocentric": m["radiant_geocentric"],
        "begin_height_km": round(m["begin"]["height_m"] / 1e3, 2),
        "end_height_km": round(m["end"]["height_m"] / 1e3, 2),
        "duration_s": round(m["duration_s"], 3),
        "cameras_seeing_meteor": [
            f"{c['station_id']}/{c['camera_id']}" for c in truth["cameras"] if c["meteor_frames"]
        ],
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary, indent=2))
    return 0


def print_scenario(args: argparse.Namespace) -> int:
    from edge.sim.config import Scenario, default_network

    scenario = Scenario(stations=default_network(args.stations, args.cameras))
    print(scenario.model_dump_json(indent=2))
    return 0
