"""Shared pieces of the station tests: a simulated recording with a meteor (rendered once per run),
a station started as `skytrail station run` in its own process group (so it can be killed whole),
and the uplink tests' real brokers (amqtt, Mosquitto)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def _uplink_fixtures():
    """The uplink tests' broker helpers, loaded under their own module name."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("uplink_brokers", REPO / "tests/edge/uplink/conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["uplink_brokers"] = module
    spec.loader.exec_module(module)
    return module


_up = _uplink_fixtures()
AmqttBroker, MosquittoBroker, Subscriber = _up.AmqttBroker, _up.MosquittoBroker, _up.Subscriber
free_port, make_broker, wait_until = _up.free_port, _up.make_broker, _up.wait_until

from edge.station.snapshot import read_snapshot  # noqa: E402

__all__ = ["AmqttBroker", "MosquittoBroker", "Subscriber", "free_port", "make_broker", "wait_until"]

METEOR_AT_S = 6.0  # the meteor's first frame, seconds into the 12 s recording
NIGHT = {
    "seed": 2,
    "binning": 4,
    "duration_s": 12.0,
    "meteor_rate_per_hour": 0.0,
    "satellites_per_hour": 0.0,
    "aircraft_per_hour": 0.0,
    "hot_pixels": 5,
    "moon": False,
    "meteors": [{"peak_mag": 0.0, "frames": 12, "t_offset_s": METEOR_AT_S}],
}


@pytest.fixture(scope="session")
def meteor_recording(tmp_path_factory) -> Path:
    """12 s of a simulated 480x270 camera (M3 8 mm binned 4x) with one meteor at 6 s."""
    from edge.station.simulated import render_night_recording

    path = tmp_path_factory.mktemp("rec") / "sim.npz"
    truth = render_night_recording(NIGHT, path, "st1", "cam1")
    assert [o["kind"] for o in truth["objects"]] == ["meteor"]
    return path


class StationProcess:
    """`skytrail station run --config PATH` in a new session (process group)."""

    def __init__(self, config: Path, data_dir: Path, log_path: Path) -> None:
        self.config, self.data_dir, self.log_path = config, data_dir, log_path
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        log = open(self.log_path.with_name(f"{self.log_path.stem}-{self.starts}.log"), "wb")
        self.starts += 1
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "skytrail.cli", "station", "run", "--config", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    def snapshot(self):
        try:
            return read_snapshot(self.data_dir)
        except ValueError:
            return None

    def camera(self, camera_id: str):
        snap = self.snapshot()
        return next((c for c in snap.cameras if c.camera_id == camera_id), None) if snap else None

    def child_pid(self, name: str) -> int | None:
        snap = self.snapshot()
        return next((p["pid"] for p in snap.processes if p["name"] == name), None) if snap else None

    def capturing(self, n: int) -> bool:
        snap = self.snapshot()
        return bool(snap) and sum(c.state == "capturing" for c in snap.cameras) >= n

    def reports(self) -> list[Path]:
        return sorted((self.data_dir / "products").glob("*/*/*.json"))

    def kill_all(self) -> None:
        """SIGKILL the supervisor and every child at once (power cut)."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(40)
        except subprocess.TimeoutExpired:
            self.kill_all()
        self.proc = None


@pytest.fixture
def station_factory(tmp_path):
    made: list[StationProcess] = []

    def make(recordings: dict[str, Path], broker=None, extra=None, loop=False) -> StationProcess:
        from edge.station.simulated import station_toml

        data = tmp_path / "data"
        cfg = station_toml(
            tmp_path / "station.toml",
            "st1",
            data,
            recordings,
            broker=(broker.host, broker.port) if broker else None,
            extra=extra,
            loop=loop,
        )
        st = StationProcess(cfg, data, tmp_path / "station.log")
        made.append(st)
        return st

    yield make
    for st in made:
        st.stop()


def wait_for(predicate, timeout_s: float, what: str) -> float:
    """Seconds until `predicate` holds; fails the test with `what` after `timeout_s`."""
    t0 = time.monotonic()
    assert wait_until(predicate, timeout_s, 0.2), f"timed out after {timeout_s} s waiting for {what}"
    return time.monotonic() - t0
