"""`skytrail bench station`: what one camera costs the station, and how soon a meteor is reported.

1. CPU per camera at 1080p, 30 frames/s: a short simulated recording at 1920x1080 (`edge.sim`,
   binning 1, a quiet sky: events are rare, their cost is in figure 2) is rendered ahead once
   (rendering in real time is beyond the machine) and replayed paced at 30 frames/s, looping, by the
   real camera process (`edge.station.camera_process.run_camera`: replay backend, the C detector,
   the star stack, heartbeats; its events go to a socket that drops them). Its CPU time (user +
   system, psutil) over `measure_s` after a warm-up is given as a share of one core, and per frame:
   on a loaded machine the process may not reach 30 frames/s (a file replay then runs slow rather
   than dropping frames), so the share at 30 frames/s is the per-frame time x 30. The baseline is a
   process that only reads the same replay at the same pace (the simulated source's own cost:
   copying the recorded frames, which a real camera's driver does instead).
2. Time from a meteor's last frame to its report leaving the outbox: a real station
   (`skytrail station run`, one replayed 480x270 camera with a meteor every 12 s, frame times moved
   to now) reporting to the embedded amqtt broker (`cloud_bridge.broker.EmbeddedBroker`); each
   report's arrival at a subscriber minus the UTC of its last frame, median and p95 over `events`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
NIGHT_1080P = {
    "seed": 5,
    "binning": 1,
    "duration_s": 2.0,
    "meteor_rate_per_hour": 0.0,
    "satellites_per_hour": 0.0,
    "aircraft_per_hour": 0.0,
    "moon": False,
    "meteors": [],  # the steady state: events are rare; their cost is in the latency figure
}
NIGHT_LATENCY = {
    "seed": 2,
    "binning": 4,
    "duration_s": 12.0,
    "meteor_rate_per_hour": 0.0,
    "satellites_per_hour": 0.0,
    "aircraft_per_hour": 0.0,
    "hot_pixels": 5,
    "moon": False,
    "meteors": [{"peak_mag": 0.0, "frames": 12, "t_offset_s": 6.0}],
}


def _replay_only(path: str, warmup_s: float, measure_s: float, out: str) -> None:
    """The baseline: the replay camera read at its pace and nothing done with the frames; its own CPU
    time and frames over `measure_s` after `warmup_s` of reading, written to `out` as JSON."""
    from edge.camera.backend import simulated_time_quality
    from edge.camera.factory import open_camera

    spec = {"kind": "replay", "path": path, "loop": True, "shift_to_now": True, "speed": 1.0}
    cam = open_camera(spec, simulated_time_quality)
    cam.open()
    cam.read(timeout_s=5.0)
    end = time.monotonic() + warmup_s
    while time.monotonic() < end:
        cam.read(timeout_s=1.0)
    n, c0, w0 = 0, time.process_time(), time.monotonic()
    while time.monotonic() < w0 + measure_s:
        cam.read(timeout_s=1.0)
        n += 1
    c1, w1 = time.process_time(), time.monotonic()
    Path(out).write_text(json.dumps({"frames": n, "cpu_s": c1 - c0, "wall_s": w1 - w0}))


def _event_sink(address: Path, stop: threading.Event):
    """The extractor's socket, taking events and dropping them (the camera pays for sending them)."""
    from multiprocessing.connection import Listener

    address.parent.mkdir(parents=True, exist_ok=True)
    listener = Listener(str(address), family="AF_UNIX")

    def serve(conn) -> None:
        with conn:
            while not stop.is_set():
                try:
                    conn.recv()
                except (EOFError, OSError):
                    return

    def accept() -> None:
        while not stop.is_set():
            try:
                threading.Thread(target=serve, args=(listener.accept(),), daemon=True).start()
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return listener


def _cpu_s(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def _camera_cpu(config: Path, camera_id: str, warmup_s: float, measure_s: float) -> dict:
    """CPU share of the real camera process over `measure_s` (after `warmup_s`), and its frame rate."""
    import multiprocessing as mp

    from edge.station.camera_process import run_camera

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=True)
    proc = ctx.Process(target=run_camera, args=(str(config), camera_id, child, False), daemon=True)
    proc.start()
    child.close()
    stats: dict = {}

    def drain(until: float) -> None:
        while time.monotonic() < until:
            if parent.poll(0.2):
                msg = parent.recv()
                if msg[0] == "hb":
                    stats.update(msg[1])

    try:
        t0 = time.monotonic()
        while stats.get("state") != "capturing" and time.monotonic() - t0 < 300:
            drain(time.monotonic() + 0.5)
            if not proc.is_alive():
                raise RuntimeError(f"camera process ended: {stats.get('message')}")
        drain(time.monotonic() + warmup_s)
        c0, f0, w0 = _cpu_s(proc.pid), stats.get("frames_total", 0), time.monotonic()
        drain(w0 + measure_s)
        c1, f1, w1 = _cpu_s(proc.pid), stats.get("frames_total", 0), time.monotonic()
    finally:
        try:
            parent.send(("stop",))
        except OSError:
            pass
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    wall = w1 - w0
    return {
        "cpu_share": (c1 - c0) / wall,
        "fps": (f1 - f0) / wall,
        "dropped_frames": int(stats.get("dropped_frames", 0)),
        "events": int(stats.get("events_total", 0)),
    }


def _ping_pong(path: Path) -> int:
    """Rewrite a recording as its frames forward then back (times still increasing), so that a looped
    replay has no seam: at a plain loop's seam every star jumps by the sky's rotation over the
    recording, which the detector rightly reports as movers. Returns the frames in a loop."""
    from edge.camera.recording import Recording, read_recording, write_recording

    rec = read_recording(path)
    back = rec.frames[-2:0:-1]
    dt = 1.0 / float(rec.meta["fps"])
    times = np.concatenate([rec.utc_unix_s, rec.utc_unix_s[-1] + dt * np.arange(1, len(back) + 1)])
    write_recording(path, Recording(np.concatenate([rec.frames, back]), times, rec.meta))
    return len(times)


def bench_cpu(workdir: Path, warmup_s: float = 5.0, measure_s: float = 20.0) -> dict:
    from edge.station.simulated import render_night_recording, station_toml

    rec = workdir / "sim1080.npz"
    truth = render_night_recording(NIGHT_1080P, rec, "bench", "cam1")
    n_loop = _ping_pong(rec)
    cfg = station_toml(
        workdir / "station.toml", "bench", workdir / "data", {"cam1": rec}, loop=True, speed=1.0
    )
    from edge.station.camera_process import events_socket

    stop = threading.Event()
    sink = _event_sink(events_socket(workdir / "data"), stop)
    try:
        cam = _camera_cpu(cfg, "cam1", warmup_s, measure_s)
    finally:
        stop.set()
        sink.close()
    out = workdir / "baseline.json"
    code = (
        f"from edge.station.bench import _replay_only; "
        f"_replay_only({str(rec)!r}, {warmup_s}, {measure_s}, {str(out)!r})"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True)
    base = json.loads(out.read_text())
    cam_ms = 1000.0 * cam["cpu_share"] / max(cam["fps"], 1e-9)
    base_ms = 1000.0 * base["cpu_s"] / max(base["frames"], 1)
    return {
        "source": f"pre-rendered simulated recording (no meteor), 1920x1080, {truth['n_frames']} frames "
        f"played forward then back ({n_loop} frames a loop, so the sky never jumps), replayed paced at "
        "30 frames/s",
        "camera_events": cam["events"],
        "camera_cpu_share": round(cam["cpu_share"], 3),
        "camera_fps_reached": round(cam["fps"], 2),
        "camera_cpu_ms_per_frame": round(cam_ms, 2),
        "camera_cpu_share_at_30fps": round(cam_ms * 30.0 / 1000.0, 3),
        "replay_only_cpu_ms_per_frame": round(base_ms, 2),
        "replay_only_fps_reached": round(base["frames"] / base["wall_s"], 2),
        "camera_cpu_share_at_30fps_net_of_replay": round((cam_ms - base_ms) * 30.0 / 1000.0, 3),
        "machine_load_1min": round(os.getloadavg()[0], 1),
    }


def bench_latency(workdir: Path, events: int = 6, timeout_s: float = 600.0) -> dict:
    import paho.mqtt.client as mqtt

    from cloud_bridge.broker import EmbeddedBroker
    from edge.station.simulated import render_night_recording, station_toml

    rec = workdir / "sim480.npz"
    render_night_recording(NIGHT_LATENCY, rec, "bench", "cam1")
    broker = EmbeddedBroker(port=0).start()
    arrivals: list[tuple[float, bytes]] = []
    lock = threading.Lock()

    def on_message(_c, _u, msg) -> None:
        with lock:
            arrivals.append((time.time(), msg.payload))

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-station")
    sub.on_message = on_message
    sub.on_connect = lambda c, *_a, **_k: c.subscribe("skytrail/v1/bench/obs", qos=1)
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    cfg = station_toml(
        workdir / "station-lat.toml",
        "bench",
        workdir / "data-lat",
        {"cam1": rec},
        broker=(broker.host, broker.port),
        loop=True,
    )
    log = open(workdir / "station.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "skytrail.cli", "station", "run", "--config", str(cfg)],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with lock:
                if len(arrivals) >= events + 1:
                    break
            if proc.poll() is not None:
                raise RuntimeError(f"the station stopped (see {workdir / 'station.log'})")
            time.sleep(0.5)
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        sub.loop_stop()
        sub.disconnect()
        broker.stop()
    lat = []
    with lock:
        got = list(arrivals)
    # the first report also pays the extractor's start (imports, models, a calibration from scratch)
    for t_arrival, payload in got[1:]:
        lat.append(t_arrival - _last_frame_utc(payload))
    if not lat:
        raise RuntimeError(f"no reports within {timeout_s:.0f} s (see {workdir / 'station.log'})")
    return {
        "latency_setup": "one replayed 480x270 simulated camera, a meteor every 12 s, embedded amqtt",
        "latency_events": len(lat),
        "last_frame_to_broker_median_s": round(float(np.median(lat)), 2),
        "last_frame_to_broker_p95_s": round(float(np.percentile(lat, 95)), 2),
        "first_report_s": round(got[0][0] - _last_frame_utc(got[0][1]), 2),
    }


def _last_frame_utc(payload: bytes) -> float:
    from edge.protocol import decode_message

    return decode_message("skytrail/v1/bench/obs", payload).frames[-1].utc.timestamp()


def run_bench(repeats: int = 1, measure_s: float = 20.0, events: int = 6) -> dict:
    """Both figures (see the module docstring); `repeats` is unused: one run of each is long enough."""
    with tempfile.TemporaryDirectory(prefix="skytrail-bench-station-") as tmp:
        work = Path(tmp)
        figures = bench_cpu(work, measure_s=measure_s)
        figures.update(bench_latency(work, events=events))
    return figures
