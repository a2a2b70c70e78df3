"""A station data directory as the supervisor leaves it (edge/station/snapshot.py): a snapshot, the
cameras' latest frames, and the products of two events made with the real product writers from
simulated reports: a meteor, and an aircraft the classifier and the ADS-B receiver both recognise."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from edge.products.json_report import write_report
from edge.products.png import render_overview, write_png
from edge.protocol.models import AircraftMatch, Classification, TimeQuality
from edge.sim.config import Scenario, default_network
from edge.sim.event import plan_event
from edge.sim.reports import reports_from_plan
from edge.station.snapshot import CameraSnapshot, ComponentSnapshot, StationSnapshot, write_snapshot


def _load_browser_helpers():
    """tests/browser.py, loaded by path: putting tests/ on sys.path would shadow the real packages
    with the tests' own `edge` and `cloud_bridge` folders."""
    name = "skytrail_tests_browser"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).resolve().parents[2] / "browser.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


BROWSER = _load_browser_helpers()
web_helpers = BROWSER.web_helpers  # fixtures defined in tests/browser.py
browser = BROWSER.browser


FRAME_W, FRAME_H = 640, 360


def _frame(seed: int) -> np.ndarray:
    """An 8-bit night-sky frame: dark gradient, noise, a few stars."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, FRAME_H)[:, None]
    img = 20 + 25 * y + rng.normal(0, 3, (FRAME_H, FRAME_W))
    for x, yy in rng.integers([0, 0], [FRAME_W, FRAME_H], (40, 2)):
        img[max(0, yy - 1) : yy + 2, max(0, x - 1) : x + 2] = 230
    return np.clip(img, 0, 255).astype(np.uint8)


def make_station_dir(root: Path, *, now: datetime | None = None) -> SimpleNamespace:
    """Fill `root` like a running station: returns ids and paths the tests check."""
    now = now or datetime.now(UTC)
    plan = plan_event(Scenario(seed=7, stations=default_network(3, 4), meteor={"shower": "PER"}))
    reports = reports_from_plan(plan, fps_phase_rng=np.random.default_rng(1), noise_arcmin=1.0)
    station_id = reports[0].station_id
    meteor = reports[0].model_copy(
        update={"classification": Classification(label="meteor", score=0.97, model_version="resnet18-int8")}
    )
    plane = reports[1].model_copy(
        update={
            "station_id": station_id,
            "observation_id": f"{station_id}-{reports[1].camera_id}-20260812T201000.000Z-3",
            "classification": Classification(label="aircraft", score=0.91),
            "aircraft": AircraftMatch(
                icao24="4ca7b3", callsign="EZY85MH", distance_m=23450.0, residual_deg=0.21
            ),
        }
    )
    events = []
    for report in (meteor, plane):
        folder = root / "products" / station_id / report.camera_id
        xs = [f.x_px for f in report.frames]
        ys = [f.y_px for f in report.frames]
        picture = render_overview(
            _frame(3), [], [], np.array(xs) / 3, np.array(ys) / 3, title=report.observation_id
        )
        write_png(folder / f"{report.observation_id}.png", picture)
        write_report(folder / f"{report.observation_id}.json", report)
        events.append(
            {
                "observation_id": report.observation_id,
                "camera_id": report.camera_id,
                "utc": report.frames[0].utc.isoformat(),
                "label": report.classification.label.value,
                "score": report.classification.score,
                "aircraft": report.aircraft.callsign if report.aircraft else None,
                "peak_mag": report.detector.peak_mag if report.detector else None,
                "n_frames": len(report.frames),
            }
        )
    cameras = ["cam1", "cam2"]
    for i, cam in enumerate(cameras):
        path = root / "state" / "cameras" / cam / "latest.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(_frame(i), "L").save(path)
    snapshot = StationSnapshot(
        station_id=station_id,
        software_version="0.4.0",
        utc=now,
        state="degraded",
        message="camera cam2 restarting",
        detecting=True,
        night_start_utc=now - timedelta(hours=2),
        night_end_utc=now + timedelta(hours=6),
        time_quality=TimeQuality(source="gps-nmea", estimated_error_s=0.02, pps_locked=False, pps_lost=True),
        cameras=[
            CameraSnapshot(
                camera_id="cam1",
                state="capturing",
                fps=29.97,
                dropped_frames=12,
                frames_total=108000,
                events_total=31,
                last_frame_utc=now,
                restarts=0,
                width_px=FRAME_W,
                height_px=FRAME_H,
            ),
            CameraSnapshot(
                camera_id="cam2",
                state="error",
                message="v4l2: device disconnected",
                fps=0.0,
                dropped_frames=0,
                restarts=3,
                width_px=FRAME_W,
                height_px=FRAME_H,
            ),
        ],
        queue_depth=4,
        queue_spilled=2,
        outbox_depth=7,
        uplink_connected=True,
        uplink_broker="bridge.example.org:8883",
        disk_free_bytes=52_000_000_000,
        disk_budget_bytes=20_000_000_000,
        disk_used_bytes=4_500_000_000,
        adsb=ComponentSnapshot(state="degraded", message="feed dropped 3 times in the last hour"),
        classifier=ComponentSnapshot(state="ok"),
        extractor=ComponentSnapshot(state="ok"),
        recent_events=events[::-1],
    )
    write_snapshot(root, snapshot)
    return SimpleNamespace(
        root=root, station_id=station_id, snapshot=snapshot, meteor=meteor, plane=plane, cameras=cameras
    )


@pytest.fixture
def station_dir(tmp_path) -> SimpleNamespace:
    return make_station_dir(tmp_path / "data")
