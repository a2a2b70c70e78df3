"""A bridge filled through the real ingest, solver and upload paths, for the web-page tests.

One Perseid and one Geminid seen by three simulated stations each (solved: trajectories, orbits,
showers), an aircraft seen by one station (the classifier says aircraft, ADS-B names the flight),
the stations' status and telemetry (one has lost its GPS PPS), and max-frame PNGs uploaded for
some observations through the bridge's resumable upload service into a local file store.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from cloud_bridge.api import ApiSettings, create_app
from cloud_bridge.files import LocalFileStore
from cloud_bridge.ingest.ingestor import Ingestor
from cloud_bridge.store import Store
from edge.products.png import render_overview, write_png
from edge.protocol import encode_message, obs_topic, status_topic, telemetry_topic
from edge.protocol.models import (
    AircraftMatch,
    CameraStatus,
    CameraTelemetry,
    Classification,
    Product,
    StationStatus,
    Telemetry,
    TimeQuality,
)
from edge.sim.config import Scenario, default_network
from edge.sim.event import plan_event
from edge.sim.reports import reports_from_plan


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


RECEIVED = datetime(2026, 12, 14, 0, 0, tzinfo=UTC)


def _png_bytes(report, folder: Path) -> bytes:
    """The event's overview PNG as `edge.process` draws it (max frame, track), from the report."""
    rng = np.random.default_rng(5)
    frame = np.clip(rng.normal(25, 4, (270, 480)), 0, 255)
    xs = np.array([f.x_px for f in report.frames]) / 4
    ys = np.array([f.y_px for f in report.frames]) / 4
    path = write_png(
        folder / f"{report.observation_id}.png",
        render_overview(frame, [], [], xs, ys, title=report.observation_id),
    )
    return path.read_bytes()


def _with_png(report, folder: Path) -> tuple:
    data = _png_bytes(report, folder)
    product = Product(
        kind="png",
        name=f"{report.observation_id}.png",
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
    )
    return report.model_copy(update={"products": [product]}), data


@pytest.fixture(scope="package")
def bridge(tmp_path_factory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("bridge-web")
    store = Store(f"sqlite:///{root / 'bridge.db'}")
    app = create_app(store, ApiSettings(), files=LocalFileStore(root / "files"))
    ingestor = Ingestor(store, settle_s=0.0, mc_runs=5)
    stations = default_network(3, 4)
    per = reports_from_plan(
        plan_event(Scenario(seed=7, stations=stations, meteor={"shower": "PER"})),
        fps_phase_rng=np.random.default_rng(1),
        noise_arcmin=1.0,
    )
    gem = reports_from_plan(
        plan_event(Scenario(seed=8, stations=stations, meteor={"shower": "GEM"})),
        fps_phase_rng=np.random.default_rng(2),
        noise_arcmin=1.0,
    )
    pngs = {}
    per[0], pngs[per[0].observation_id] = _with_png(per[0], root)
    per[1], pngs[per[1].observation_id] = _with_png(per[1], root)
    # an aircraft an hour after the Perseid, seen by one camera: classifier and ADS-B agree
    base = per[2]
    shift = timedelta(hours=1)
    plane = base.model_copy(
        update={
            "observation_id": base.observation_id.replace("T20", "T21") + "a",
            "frames": [f.model_copy(update={"utc": f.utc + shift}) for f in base.frames],
            "created_utc": base.created_utc + shift,
            "classification": Classification(label="aircraft", score=0.93, model_version="resnet18-int8"),
            "aircraft": AircraftMatch(
                icao24="4ca7b3", callsign="EZY85MH", distance_m=23450.0, residual_deg=0.21
            ),
        }
    )
    plane, pngs[plane.observation_id] = _with_png(plane, root)
    for report in [*per, *gem, plane]:
        outcome = ingestor.handle(obs_topic(report.station_id), encode_message(report), RECEIVED).outcome
        assert outcome == "stored", outcome
    solved = ingestor.solve_due(RECEIVED)
    assert len(solved) == 2, solved  # the aircraft is stored but screened out of events
    for obs_id, data in pngs.items():
        station_id = obs_id.split("-")[0]
        state = app.state.uploads.put_chunk(
            station_id, obs_id, f"{obs_id}.png", start=0, end=len(data) - 1, total=len(data),
            sha256=hashlib.sha256(data).hexdigest(), data=data,
        )  # fmt: skip
        assert state.complete
    station_ids = sorted({r.station_id for r in per})
    now = datetime.now(UTC)
    lost = TimeQuality(source="gps-nmea", estimated_error_s=0.02, pps_locked=False, pps_lost=True)
    for i, sid in enumerate(station_ids):
        status = StationStatus(
            station_id=sid,
            state=["online", "degraded", "offline"][i],
            software_version="0.4.0",
            utc=now,
            message="camera cam2 restarting" if i == 1 else None,
            cameras=[CameraStatus(camera_id="cam1", state="capturing")],
        )
        telemetry = Telemetry(
            station_id=sid,
            utc=now,
            cpu_percent=37.5,
            mem_percent=41.0,
            disk_free_bytes=52_000_000_000,
            temperature_c=48.5,
            cameras=[CameraTelemetry(camera_id="cam1", fps=29.97, dropped_frames=12)],
            time_quality=lost
            if i == 0
            else TimeQuality(source="ntp", estimated_error_s=0.004, pps_locked=False),
            queue_depth=1,
            outbox_depth=0,
        )
        for topic, message in ((status_topic(sid), status), (telemetry_topic(sid), telemetry)):
            assert ingestor.handle(topic, encode_message(message), now).outcome == "stored"
    yield SimpleNamespace(
        store=store, app=app, per=per, gem=gem, plane=plane, pngs=pngs, stations=station_ids, root=root
    )
    store.close()
