"""`skytrail demo`: the main job, on one machine. It simulates a multi-station meteor event
(stations, cameras, stars, the meteor, a satellite and an aircraft), runs each station's
processing on the frames (C detector, automatic calibration on the stars, positions,
photometry, data products and the wire-contract report), hands the reports to the bridge's
solver (correlation, trajectory with Monte Carlo, orbit, shower), and prints the solution
beside the simulator's truth, with a max-pixel image of every camera.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

METEOR_COLOUR = (255, 60, 60)
STAR_COLOUR = (80, 200, 255)
DISTRACTOR_COLOUR = (255, 200, 0)


def register(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("demo-out"), help="output directory (default demo-out)"
    )
    parser.add_argument("--stations", type=int, default=3)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--shower", default="PER")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--binning", type=int, default=2, help="sensor binning (1 = full 1920x1080)")
    parser.add_argument(
        "--once", action="store_true", help="stop after the first event (the default for now)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edge.sim.config import Scenario, default_network
    from edge.sim.event import simulate_event

    scenario = Scenario(
        seed=args.seed,
        stations=default_network(args.stations, args.cameras, binning=args.binning),
        meteor={"shower": args.shower},
        distractors={"satellites": 1, "aircraft": 1},
    )
    started = time.perf_counter()
    print(f"Simulating a {args.shower} meteor over {args.stations} stations x {args.cameras} cameras ...")
    truth = simulate_event(scenario, args.out)
    images = [draw_camera(args.out, camera) for camera in truth["cameras"]]
    overview = montage(images, columns=args.cameras)
    overview.save(args.out / "overview.png")
    print(summary_text(truth, time.perf_counter() - started))
    print(f"Truth: {args.out / 'truth.json'}; frames: {args.out}/<station>/<camera>.npz")
    print(f"Images: {args.out / 'overview.png'} and one PNG per camera in {args.out}/<station>/")
    print("\nEach station processes its frames (detect, calibrate, measure, products) ...")
    solutions = process_and_solve(args.out)
    print(solution_text(truth, solutions))
    return 0 if any(s.ok for s in solutions) else 1


def process_and_solve(out: Path) -> list:
    """Run the stations' processing on the simulated recordings, then the bridge's solver."""
    import numpy as np

    from cloud_bridge.solve import solve_reports
    from edge.process import process_directory
    from edge.protocol import decode_payload

    products = out / "products"
    results = process_directory(out, products)
    reports = []
    for result in results:
        if result.get("status") == "ok" and result.get("files", {}).get("json"):
            reports.append(decode_payload(Path(result["files"]["json"]).read_bytes(), "obs"))
        elif result.get("status") != "ok":
            print(f"  {result.get('file', '?')}: {result.get('status')} ({result.get('reason', '')})")
    print(f"  {len(reports)} observation reports in {products}/<station>/<camera>/")
    print("The bridge correlates the reports and solves the event ...")
    return solve_reports(reports, rng=np.random.default_rng(1))


def solution_text(truth: dict, solutions: list) -> str:
    """The solved events against the simulator's truth."""
    import numpy as np
    from astropy.coordinates import angular_separation

    if not solutions:
        return "No multi-station event was found among the reports."
    m = truth["meteor"]
    asked = m["radiant_geocentric"]
    lines = []
    for s in solutions:
        if not s.ok:
            lines.append(f"Event of {', '.join(s.station_ids)}: not solved ({s.failure_reason})")
            continue
        o, t = s.orbit, s.trajectory
        a, b = np.radians([o.ra_g_deg, o.dec_g_deg]), np.radians([asked["ra_deg"], asked["dec_deg"]])
        error = float(np.degrees(angular_separation(a[0], a[1], b[0], b[1])))
        sigma = s.orbit_sigma.get("radiant_deg", float("nan"))
        lines += [
            f"Solved from {', '.join(s.station_ids)} in {s.solve_s:.2f} s "
            f"(residual {t.residual_rms_arcmin:.2f} arcmin, {t.mc.n_runs if t.mc else 0} Monte Carlo runs):",
            radiant_line(
                "geocentric radiant solved",
                {"ra_deg": o.ra_g_deg, "dec_deg": o.dec_g_deg, "v_g_kms": o.v_g_kms},
            ),
            radiant_line("truth", asked),
            f"  radiant error {error:.3f} deg (1-sigma {sigma:.3f}), "
            f"v_g error {o.v_g_kms - asked['v_g_kms']:+.2f} km/s",
            f"  begin {t.begin['height_m'] / 1e3:.1f} km (truth {m['begin']['height_m'] / 1e3:.1f}), "
            f"end {t.end['height_m'] / 1e3:.1f} km; "
            f"orbit a {o.a_au:.2f} AU, e {o.e:.3f}, i {o.i_deg:.2f} deg, q {o.q_au:.4f} AU",
            f"  shower: {s.shower.code + ' (' + s.shower.name + ')' if s.shower else 'sporadic'} "
            f"(simulated: {m['shower'] or 'sporadic'})",
        ]
    return "\n".join(lines)


def draw_camera(out: Path, camera: dict) -> Image.Image:
    """The camera's max-pixel image with the meteor's true track, stars and distractors marked."""
    from edge.camera.recording import read_recording
    from edge.detect.aggregate import aggregate

    recording = read_recording(out / camera["file"])
    stack = aggregate(recording.frames)
    # stretch: the background a little above black, bright things saturate
    background = float(np.median(stack.max_pixel))
    scaled = np.clip((stack.max_pixel.astype(np.float32) - background + 10) * 4, 0, 255).astype(np.uint8)
    image = Image.fromarray(scaled).convert("RGB")
    pen = ImageDraw.Draw(image)
    for star in camera["stars_mid_frame"]["stars"]:
        if star["vmag"] < 3.0:
            x, y = star["x_px"], star["y_px"]
            pen.ellipse([x - 6, y - 6, x + 6, y + 6], outline=STAR_COLOUR)
    track = [
        (f["meteor"]["x_px"], f["meteor"]["y_px"])
        for f in camera["frames"]
        if f["meteor"] and f["meteor"]["in_frame"] and f["meteor"]["x_px"] is not None
    ]
    for x, y in track:
        pen.ellipse([x - 2, y - 2, x + 2, y + 2], outline=METEOR_COLOUR)
    if track:
        pen.text((track[0][0] + 8, track[0][1] - 14), "meteor (truth)", fill=METEOR_COLOUR)
    labelled = set()
    for frame in camera["frames"]:
        for item in frame["distractors"]:
            x, y = item.get("x_px"), item.get("y_px")
            if x is None or y is None or item.get("in_frame") is False:
                continue
            pen.point((x, y + 6), fill=DISTRACTOR_COLOUR)
            if item["id"] not in labelled:
                labelled.add(item["id"])
                pen.text(
                    (x + 8, y + 8), f"{item['kind']} {item.get('callsign') or ''}", fill=DISTRACTOR_COLOUR
                )
    label = f"{camera['station_id']}/{camera['camera_id']}  meteor frames: {camera['meteor_frames']}"
    pen.text((8, 8), label, fill=(255, 255, 255))
    path = out / camera["station_id"] / f"{camera['camera_id']}_max.png"
    image.save(path)
    return image


def montage(images: list[Image.Image], columns: int, width: int = 480) -> Image.Image:
    scale = width / images[0].width
    tiles = [im.resize((width, int(im.height * scale))) for im in images]
    rows = (len(tiles) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * width, rows * tiles[0].height))
    for i, tile in enumerate(tiles):
        sheet.paste(tile, ((i % columns) * width, (i // columns) * tile.height))
    return sheet


def radiant_line(label: str, r: dict) -> str:
    return f"  {label:<27} RA {r['ra_deg']:8.3f}  Dec {r['dec_deg']:+8.3f}  v_g {r['v_g_kms']:.2f} km/s"


def summary_text(truth: dict, seconds: float) -> str:
    m = truth["meteor"]
    back = m["radiant_from_state"]
    lines = [
        f"Meteor: {m['shower'] or 'sporadic'} at {m['begin']['utc']}, "
        f"solar longitude {m['solar_longitude_deg']:.2f} deg",
        radiant_line("geocentric radiant asked", m["radiant_geocentric"]),
        radiant_line("recomputed from the track", back)
        + f"  (zenith attraction {back['zenith_attraction_deg']:.3f} deg)",
        f"  begin {m['begin']['height_m'] / 1e3:.1f} km, end {m['end']['height_m'] / 1e3:.1f} km, "
        f"{m['duration_s']:.2f} s, v_init {m['v_init_ecef_kms']:.2f} km/s (Earth-fixed)",
        "Cameras:",
    ]
    for cam in truth["cameras"]:
        seen = [f["meteor"] for f in cam["frames"] if f["meteor"] and f["meteor"]["in_frame"]]
        where = ""
        if seen:
            first, last = seen[0], seen[-1]
            peak = min(f["apparent_mag"] for f in seen)
            where = (
                f" from ({first['x_px']:.0f},{first['y_px']:.0f})"
                f" to ({last['x_px']:.0f},{last['y_px']:.0f}) px, peak apparent mag {peak:+.1f}"
            )
        lines.append(
            f"  {cam['station_id']}/{cam['camera_id']}: {len(cam['frames'])} frames, "
            f"{len(cam['stars_mid_frame']['stars'])} catalogue stars, meteor in {len(seen)} frames{where}"
        )
    lines.append(f"Simulated in {seconds:.1f} s.")
    return "\n".join(lines)
