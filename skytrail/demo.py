"""`skytrail demo`: the main job. For now: simulate a multi-station meteor event and show what
was simulated (each camera's max-pixel image with the truth marked, and a summary).
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
    return 0


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
