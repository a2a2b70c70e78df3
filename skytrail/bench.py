"""`skytrail bench ...`: speed, measured as ratios against a baseline timed in the same run.

This machine is shared and noisy, so no figure stands alone: each benchmark times its subject
and a baseline that does the irreducible part of the same work, interleaved, and reports the
best of several repeats of each. `--write` (the default for `bench all`) replaces that
benchmark's section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """Shortest wall time of `repeats` calls: the least disturbed by other load."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def bench_sim(repeats: int = 3) -> dict:
    """Simulator frame rendering at 1920x1080 against the sensor read-out alone (noise + 8 bits)."""
    import numpy as np

    from edge.sim.config import Scenario, default_network
    from edge.sim.event import plan_event
    from edge.sim.layers import MeteorLayer, SkyBackgroundLayer, StarLayer
    from edge.sim.render import Canvas, read_out

    scenario = Scenario(seed=5, stations=default_network(1, 1), margin_s=0.2)
    plan = plan_event(scenario)
    camera = plan.cameras[0]
    t_mid = plan.t_start_unix + np.arange(30) / camera.profile.fps
    sky = scenario.sky
    layers = [
        SkyBackgroundLayer(sky.sky_mag_arcsec2, sky.extinction_mag_per_airmass),
        StarLayer(
            plan.atmosphere, sky.extinction_mag_per_airmass, sky.scintillation_zenith, sky.star_limit_vmag
        ),
        MeteorLayer(plan.meteor, plan.atmosphere, sky.extinction_mag_per_airmass),
    ]
    for layer in layers:
        layer.prepare(camera, t_mid, camera.profile.exposure_s)
    rng = np.random.default_rng(0)
    background = Canvas(camera.shape)
    layers[0].draw(0, background, rng)

    def render_frames() -> None:
        for k in range(len(t_mid)):
            canvas = Canvas(camera.shape)
            for layer in layers:
                layer.draw(k, canvas, rng)
            read_out(camera, canvas, rng)

    def read_out_only() -> None:
        for _ in range(len(t_mid)):
            read_out(camera, background, rng)

    full = best_of(render_frames, repeats)
    baseline = best_of(read_out_only, repeats)
    height, width = camera.shape
    return {
        "frame_shape": [height, width],
        "frames": len(t_mid),
        "stars_in_field": int(layers[1].x.shape[1]),
        "render_ms_per_frame": round(1e3 * full / len(t_mid), 1),
        "read_out_ms_per_frame": round(1e3 * baseline / len(t_mid), 1),
        "render_over_read_out": round(full / baseline, 2),
        "seconds_for_2s_event_4_cameras_est": round(
            full / len(t_mid) * (2.0 + 1.0) * camera.profile.fps * 4, 1
        ),
    }


def bench_detect(repeats: int = 3) -> dict:
    from edge.detect.bench import run_bench

    return run_bench(repeats=repeats)


def bench_solve(repeats: int = 3) -> dict:
    from cloud_bridge.bench import bench_solve as run

    return run(repeats=repeats)


def bench_ingest(repeats: int = 3) -> dict:
    from cloud_bridge.bench import bench_ingest as run

    return run(repeats=repeats)


def bench_classify(repeats: int = 3) -> dict:
    from edge.classify.bench import run_bench as run

    return run(repeats=repeats)


def bench_station(repeats: int = 1) -> dict:
    from edge.station.bench import run_bench as run

    return run(repeats=repeats)


# name -> (function, title, what the baseline is)
BENCHMARKS: dict[str, tuple[Callable[..., dict], str, str]] = {
    "sim": (bench_sim, "Simulator rendering", "Baseline: the sensor read-out alone (noise and 8 bits)."),
    "detect": (
        bench_detect,
        "C detector, one core, 1920x1080",
        "Baselines: a C pass that reads every pixel and updates a running mean (the memory-bound "
        "floor), and numpy doing the detector's first stages (background, threshold). The detector "
        "thresholds every pixel and updates its background on one row in eight per frame.",
    ),
    "solve": (
        bench_solve,
        "Trajectory, orbit and shower per event",
        "Baseline: the same solve without Monte Carlo, on the same simulated reports.",
    ),
    "ingest": (
        bench_ingest,
        "Bridge ingest: reports stored per second, and a report's arrival to its event's stored orbit",
        "Baselines: decoding and checking the same reports alone (the wire contract's floor) for the "
        "storing rate; the solve alone plus the settle window for the arrival-to-orbit time (embedded "
        "broker, SQLite, three stations per event).",
    ),
    "classify": (
        bench_classify,
        "Meteor classifier per detector event, one core",
        "Baseline: making the event's crop alone (edge.classify.preprocess), which any classifier of "
        "these events needs; the station's whole path (crop, int8 inference, closed-form Grad-CAM and "
        "its fusion with the first conv) and the int8 inference alone, on the candidates of a short "
        "simulated 480x270 night.",
    ),
    "station": (
        bench_station,
        "Station: CPU per camera at 1080p 30 frames/s, and a meteor's last frame to its report at the broker",
        "Source: a pre-rendered simulated 1920x1080 recording replayed paced at 30 frames/s by the real "
        "camera process (capture, C detector, star stack); baseline: a process that only reads the same "
        "replay (the simulated source's own cost). Latency: a real station with one replayed 480x270 "
        "camera and the embedded amqtt broker; CPU shares are of one core.",
    ),
}


def register(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("which", choices=["all", *BENCHMARKS], help="which benchmark (all: every one)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md (implied by 'all')")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.getLogger().setLevel(logging.WARNING)  # per-event logs would drown the figures
    names = list(BENCHMARKS) if args.which == "all" else [args.which]
    results = {}
    for name in names:
        fn, title, baseline = BENCHMARKS[name]
        results[name] = fn(repeats=args.repeats)
        if args.write or args.which == "all":
            write_section(name, title, results[name], baseline=baseline)
    if args.json:
        print(json.dumps(results[names[0]] if len(names) == 1 else results, indent=2))
    else:
        for name, figures in results.items():
            print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


def write_section(
    name: str, title: str, figures: dict, path: Path = BENCHMARKS_MD, baseline: str = ""
) -> None:
    """Replace (or add) this benchmark's section of the benchmarks page."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
    rows = "\n".join(
        f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in figures.items()
    )
    section = (
        f"<!-- bench:{name} -->\n## {title}\n"
        f"`skytrail bench {name}`, measured {when} ({machine}). {baseline}\n\n"
        f"| figure | value |\n|---|---|\n{rows}\n<!-- /bench:{name} -->"
    )
    text = (
        path.read_text()
        if path.exists()
        else (
            "# Benchmarks\n\nWritten by `./build.sh bench`; every figure is a ratio against a baseline "
            "timed in the same run, or comes with one.\n"
        )
    )
    pattern = re.compile(rf"<!-- bench:{name} -->.*?<!-- /bench:{name} -->", re.S)
    text = pattern.sub(section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
