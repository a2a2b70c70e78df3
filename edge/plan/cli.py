"""`skytrail plan ...`: camera fields of view, network coverage on the meteor layer, expected
multi-station rates, and pointings for a new station.

Stations come from a TOML/JSON file with a `stations` list in the simulator's station format
(`skytrail sim scenario` prints one), from the simulator's default network (`--sim-stations N`),
or from the M3 pathfinder layout (`--m3`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _add_network_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--network", type=Path, help="stations file (.toml or .json with a 'stations' list)")
    src.add_argument(
        "--sim-stations", type=int, metavar="N", help="the simulator's default network of N stations"
    )
    src.add_argument(
        "--m3", action="store_true", help="the M3 pathfinder diamond near Beijing (assumed places)"
    )
    p.add_argument(
        "--profile",
        help="camera profile for --sim-stations / --m3 (default m3-8mm; with --m3 and --ideal none is used)",
    )
    p.add_argument(
        "--ideal", action="store_true", help="ignore cameras: every station sees all the sky above --min-alt"
    )
    p.add_argument("--min-alt", type=float, default=20.0, help="lowest useful elevation, deg (default 20)")
    p.add_argument("--height-km", type=float, default=100.0, help="meteor layer height (default 100)")
    p.add_argument(
        "--min-convergence", type=float, default=15.0, help="least convergence angle for triangulation, deg"
    )
    p.add_argument("--cell-km", type=float, default=5.0, help="grid cell for area sums (default 5 km)")


def register(parser: argparse.ArgumentParser, name: str) -> None:
    commands = parser.add_subparsers(dest="plan_command", metavar="COMMAND", required=True)

    fov = commands.add_parser(
        "fov",
        help="each camera's field of view on the sky",
        description="Field of view "
        "of each camera and the share of the sky above --min-alt each station covers.",
    )
    _add_network_args(fov)
    fov.set_defaults(func=run_fov)

    cov = commands.add_parser(
        "coverage",
        help="coverage areas on the meteor layer and the expected multi-station rate",
        description="Per-station and network areas at the layer height, the triangulable area, the expected "
        "hourly count of multi-station meteors for a ZHR, and optionally a map (PNG and/or SVG).",
    )
    _add_network_args(cov)
    cov.add_argument("--zhr", type=float, default=100.0, help="zenithal hourly rate (default 100)")
    cov.add_argument("--r", type=float, default=2.5, help="population index (default 2.5)")
    cov.add_argument("--lim-mag", type=float, default=1.0, help="meteor limiting magnitude (default +1)")
    cov.add_argument("--radiant-alt", type=float, default=90.0, help="radiant elevation, deg (default 90)")
    cov.add_argument("--png", type=Path, help="write the coverage map as PNG here")
    cov.add_argument("--svg", type=Path, help="write the coverage map as SVG here")
    cov.set_defaults(func=run_coverage)

    sug = commands.add_parser(
        "suggest",
        help="pointings for a new station that maximise overlap with its neighbours",
        description="Search camera azimuths and elevations for a new station so that the area it can "
        "triangulate with its neighbours is largest; prints the naive 'same azimuths' layout beside it.",
    )
    sug.add_argument(
        "--network", type=Path, help="existing stations file (default: the simulator's 1 station)"
    )
    sug.add_argument("--lat", type=float, required=True, help="new station latitude, deg")
    sug.add_argument("--lon", type=float, required=True, help="new station longitude, deg")
    sug.add_argument("--height-m", type=float, default=100.0)
    sug.add_argument("--id", default="new", help="new station id")
    sug.add_argument("--cameras", type=int, default=4)
    sug.add_argument("--profile", help="camera profile (default: the nearest neighbour's)")
    sug.add_argument("--min-alt", type=float, default=20.0)
    sug.add_argument("--height-km", type=float, default=100.0)
    sug.add_argument("--min-convergence", type=float, default=15.0)
    sug.add_argument("--cell-km", type=float, default=10.0)
    sug.add_argument("--out", type=Path, help="write the new station (simulator station format) as JSON here")
    sug.set_defaults(func=run_suggest)


def _stations(args: argparse.Namespace):
    from edge.plan.network import from_station_config, load_stations, m3_beijing_network

    if args.network is not None:
        stations = load_stations(args.network, min_alt_deg=args.min_alt)
    elif args.m3:
        profile = None if args.ideal else (args.profile or "m3-8mm")
        stations = m3_beijing_network(profile=profile, min_alt_deg=args.min_alt)
    else:
        from edge.sim.config import default_network

        stations = [
            from_station_config(s, min_alt_deg=args.min_alt)
            for s in default_network(args.sim_stations, 4, profile=args.profile or "m3-8mm")
        ]
    if args.ideal:
        stations = [s.with_cameras(()) for s in stations]
    return stations


def run_fov(args: argparse.Namespace) -> int:
    from edge.plan.coverage import sky_fov

    print(json.dumps([sky_fov(s) for s in _stations(args)], indent=2))
    return 0


def run_coverage(args: argparse.Namespace) -> int:
    from edge.plan.coverage import network_coverage
    from edge.plan.maps import write_png, write_svg
    from edge.plan.rates import multistation_rate_per_h

    stations = _stations(args)
    cov = network_coverage(
        stations, min_convergence_deg=args.min_convergence, cell_km=args.cell_km, height_km=args.height_km
    )
    out = cov.summary()
    out["rate"] = multistation_rate_per_h(
        cov, zhr=args.zhr, r=args.r, lim_mag=args.lim_mag, radiant_alt_deg=args.radiant_alt
    )
    if args.png:
        out["png"] = str(write_png(cov, args.png))
    if args.svg:
        out["svg"] = str(write_svg(cov, args.svg))
    print(json.dumps(out, indent=2))
    return 0


def run_suggest(args: argparse.Namespace) -> int:
    from edge.plan.network import PlanStation, from_station_config, load_stations, stations_to_dict
    from edge.plan.suggest import suggest_pointings

    if args.network is not None:
        neighbours = load_stations(args.network, min_alt_deg=args.min_alt)
    else:
        from edge.sim.config import default_network

        neighbours = [from_station_config(s, min_alt_deg=args.min_alt) for s in default_network(1, 4)]
    new = PlanStation(args.id, args.lat, args.lon, args.height_m, (), args.min_alt)
    result = suggest_pointings(
        new,
        neighbours,
        profile=args.profile,
        n_cameras=args.cameras,
        height_km=args.height_km,
        min_convergence_deg=args.min_convergence,
        cell_km=args.cell_km,
    )
    out = result.to_dict()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(stations_to_dict([result.station]), indent=2) + "\n")
        out["out"] = str(args.out)
    print(json.dumps(out, indent=2))
    return 0
