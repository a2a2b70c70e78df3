"""`skytrail demo`: the main job, the whole network on one machine.

It simulates a batch of meteors (a real shower's, and a sporadic one) seen by three stations of
four cameras each, with a satellite and an aircraft crossing the fields; starts the bridge
(`skytrail bridge serve`: embedded MQTT broker, SQLite, REST API and web pages) and one station
supervisor per station (`skytrail station run`), whose cameras replay the simulated frames
through the real station pipeline (C detector, calibration, measurement, classification,
products) and the real uplink (outbox, MQTT); the bridge ingests the reports, correlates and
solves them. The demo prints each solved event beside the simulator's truth and the address of
the web pages, and keeps everything running until stopped (`--once`: stop after the batch).
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

METEOR_COLOUR = (255, 60, 60)
STAR_COLOUR = (80, 200, 255)
DISTRACTOR_COLOUR = (255, 200, 0)
EVENT_SPACING_S = 90.0  # simulated time between the meteors of a batch
MATCH_TOLERANCE_S = 5.0  # a solved orbit belongs to the simulated meteor that began this close


def register(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("demo-out"), help="output directory (default demo-out)"
    )
    parser.add_argument("--stations", type=int, default=3)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--events", type=int, default=3, help="meteors in the batch (the last is sporadic)")
    parser.add_argument("--shower", default="PER")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--binning", type=int, default=2, help="sensor binning (1 = full 1920x1080)")
    parser.add_argument(
        "--settle", type=float, default=8.0, help="bridge: seconds without reports before solving"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="give up waiting for orbits after this")
    parser.add_argument("--once", action="store_true", help="stop after the batch is solved")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from skytrail.network import Network

    started = time.perf_counter()
    print(
        f"Simulating {args.events} meteors ({args.shower} and sporadic) over "
        f"{args.stations} stations x {args.cameras} cameras ..."
    )
    truths = simulate_batch(args)
    overview = montage([draw_camera(args.out / "e01", c) for c in truths[0]["cameras"]], columns=args.cameras)
    overview.save(args.out / "overview.png")
    for k, truth in enumerate(truths, 1):
        print(f"Meteor {k}:\n" + summary_text(truth))
    print(
        f"Simulated in {time.perf_counter() - started:.0f} s. Truth: {args.out}/eNN/truth.json; "
        f"first meteor's cameras: {args.out / 'overview.png'}"
    )
    net = Network(args.out / "network", station_specs(truths, args.out), settle_s=args.settle)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        print("\nStarting the bridge (embedded MQTT broker, SQLite, REST API, web pages) ...")
        net.start_bridge()
        print(f"  web pages: {net.web_url}   MQTT: 127.0.0.1:{net.mqtt_port}   database: {net.db_url}")
        print(f"Starting {len(net.stations)} stations (their cameras replay the simulated frames) ...")
        net.start_stations()
        print(f"  logs: {net.workdir / 'logs'}; station data: {net.workdir / 'stations'}/<station>/")
        for sid, port in net.station_web_ports.items():
            print(f"  {sid}'s local page: http://127.0.0.1:{port}/")
        orbits = wait_for_orbits(net, truths, args.timeout, stop)
        print(solution_text(truths, orbits))
        print(
            f"\nWeb pages: {net.web_url} (network); stations' own pages: "
            + ", ".join(f"http://127.0.0.1:{p}/" for p in net.station_web_ports.values())
        )
        if not args.once:
            print("The network keeps running; Ctrl-C stops it.")
            stop.wait()
    finally:
        print("Stopping the stations and the bridge ...")
        net.stop()
    return 0 if orbits else 1


def simulate_batch(args: argparse.Namespace) -> list[dict]:
    """Render the batch's meteors into OUT/eNN/ (one simulated event each); their truths in order."""
    from edge.sim.config import Scenario, default_network
    from edge.sim.event import simulate_event

    stations = default_network(args.stations, args.cameras, binning=args.binning)
    truths: list[dict] = []
    t0 = None
    for k in range(args.events):
        sporadic = args.events > 1 and k == args.events - 1
        utc = None if t0 is None else datetime.fromtimestamp(t0 + k * EVENT_SPACING_S, UTC).isoformat()
        scenario = Scenario(
            seed=args.seed * 100 + k,
            utc=utc,
            stations=stations,
            meteor={"shower": None} if sporadic else {"shower": args.shower},
            distractors={"satellites": 1, "aircraft": 1},
        )
        truth = simulate_event(scenario, args.out / f"e{k + 1:02d}")
        if t0 is None:
            t0 = float(truth["t_start_unix"]) + scenario.margin_s
        truths.append(truth)
    return truths


def station_specs(truths: list[dict], out: Path) -> list:
    """Per station, its place and each camera's recordings over the batch, in time order."""
    from skytrail.network import StationSpec

    specs: dict[str, StationSpec] = {}
    for k, truth in enumerate(truths, 1):
        sites = {s["station_id"]: s for s in truth["scenario"]["stations"]}
        for cam in truth["cameras"]:
            sid = cam["station_id"]
            site = sites[sid]
            spec = specs.setdefault(
                sid, StationSpec(sid, site["lat_deg"], site["lon_deg"], site["height_m"], {})
            )
            spec.recordings.setdefault(cam["camera_id"], []).append(out / f"e{k:02d}" / cam["file"])
    return list(specs.values())


def wait_for_orbits(net, truths: list[dict], timeout_s: float, stop: threading.Event) -> list:
    """Poll the bridge's database until every simulated meteor has a stored orbit (or time is up)."""
    from cloud_bridge.store import Store
    from cloud_bridge.store.models import Observation

    store = Store(net.db_url)
    wanted = len(truths)
    deadline = time.monotonic() + timeout_s
    last_print = 0.0
    orbits: list = []
    try:
        while time.monotonic() < deadline and not stop.is_set():
            orbits = store.orbits()
            n_obs = store.count(Observation)
            if len(orbits) >= wanted:
                break
            dead = net.check_alive()
            if dead:
                raise RuntimeError(f"stopped unexpectedly: {', '.join(dead)} (see {net.workdir / 'logs'})")
            if time.monotonic() - last_print > 15:
                last_print = time.monotonic()
                print(f"  ... {n_obs} observations stored, {len(orbits)} of {wanted} orbits solved so far")
            stop.wait(2.0)
    finally:
        store.close()
    return orbits


def solution_text(truths: list[dict], orbits: list) -> str:
    """Each simulated meteor against the orbit the bridge stored for it (matched by begin time)."""
    from astropy.coordinates import angular_separation

    if not orbits:
        return "No event was solved."
    lines = ["\nSolved events against the truth:"]
    for k, truth in enumerate(truths, 1):
        m = truth["meteor"]
        t_true = datetime.fromisoformat(m["begin"]["utc"].replace("Z", "+00:00"))
        found = [o for o in orbits if abs((o.begin_utc - t_true).total_seconds()) < MATCH_TOLERANCE_S]
        if not found:
            lines.append(f"Meteor {k} ({m['shower'] or 'sporadic'}, {t_true:%H:%M:%S}): not solved")
            continue
        o = found[0]
        asked = m["radiant_geocentric"]
        a = np.radians([o.ra_g_deg, o.dec_g_deg])
        b = np.radians([asked["ra_deg"], asked["dec_deg"]])
        error = float(np.degrees(angular_separation(a[0], a[1], b[0], b[1])))
        sigma = f"{o.sigma_radiant_deg:.3f}" if o.sigma_radiant_deg is not None else "?"
        lines += [
            f"Meteor {k} ({m['shower'] or 'sporadic'}, began {t_true:%H:%M:%S} UTC):",
            radiant_line(
                "geocentric radiant solved",
                {"ra_deg": o.ra_g_deg, "dec_deg": o.dec_g_deg, "v_g_kms": o.v_g_kms},
            ),
            radiant_line("truth", asked),
            f"  radiant error {error:.3f} deg (1-sigma {sigma}), "
            f"v_g error {o.v_g_kms - asked['v_g_kms']:+.2f} km/s; "
            f"orbit a {_num(o.a_au)} AU, e {_num(o.e, 3)}, i {_num(o.i_deg)} deg",
            f"  shower: {o.shower_code or 'sporadic'} (simulated: {m['shower'] or 'sporadic'})",
        ]
    return "\n".join(lines)


def _num(v: float | None, decimals: int = 2) -> str:
    return "?" if v is None else f"{v:.{decimals}f}"


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


def summary_text(truth: dict) -> str:
    m = truth["meteor"]
    back = m["radiant_from_state"]
    lines = [
        f"  {m['shower'] or 'sporadic'} at {m['begin']['utc']}, "
        f"solar longitude {m['solar_longitude_deg']:.2f} deg",
        radiant_line("geocentric radiant asked", m["radiant_geocentric"]),
        radiant_line("recomputed from the track", back)
        + f"  (zenith attraction {back['zenith_attraction_deg']:.3f} deg)",
        f"  begin {m['begin']['height_m'] / 1e3:.1f} km, end {m['end']['height_m'] / 1e3:.1f} km, "
        f"{m['duration_s']:.2f} s, v_init {m['v_init_ecef_kms']:.2f} km/s (Earth-fixed)",
    ]
    for cam in truth["cameras"]:
        seen = [f["meteor"] for f in cam["frames"] if f["meteor"] and f["meteor"]["in_frame"]]
        if seen:
            peak = min(f["apparent_mag"] for f in seen)
            lines.append(
                f"  {cam['station_id']}/{cam['camera_id']}: meteor in {len(seen)} of {len(cam['frames'])} "
                f"frames, peak apparent mag {peak:+.1f}, "
                f"{len(cam['stars_mid_frame']['stars'])} catalogue stars"
            )
    return "\n".join(lines)
