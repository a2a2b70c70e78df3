"""A whole Skytrail network on one machine, as separate processes: the bridge (`skytrail bridge
serve` with its embedded broker, SQLite and local file store) and one station supervisor per
simulated station (`skytrail station run`), whose cameras replay simulated recordings.

`skytrail demo` drives it; tests use it to check the real chain end to end. Every process is a
real child process talking over loopback TCP (MQTT and HTTP), as on a real network.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout_s: float, process: subprocess.Popen | None = None) -> bool:
    """True once something accepts on 127.0.0.1:port; False on timeout or if `process` exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


@dataclass
class StationSpec:
    """One simulated station: where it is and, per camera, the recordings its camera replays."""

    station_id: str
    lat_deg: float
    lon_deg: float
    height_m: float
    recordings: dict[str, list[Path]]  # camera id -> recordings in time order


@dataclass
class Network:
    """The bridge and the stations as child processes (see the module docstring)."""

    workdir: Path
    stations: list[StationSpec]
    settle_s: float = 8.0
    mc_runs: int = 50
    http_port: int = field(default_factory=free_port)
    mqtt_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    station_web_ports: dict[str, int] = field(default_factory=dict)
    loop: bool = False  # the cameras replay their recordings over and over (a station that stays up)

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.workdir / 'bridge' / 'bridge.db'}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        out = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            [sys.executable, "-m", "skytrail.cli", *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal reaches us, and we stop them in order
        )
        self.processes[name] = proc
        return proc

    def start_bridge(self, timeout_s: float = 60.0) -> None:
        (self.workdir / "bridge").mkdir(parents=True, exist_ok=True)
        proc = self._spawn(
            "bridge",
            [
                "bridge", "serve",
                "--db", self.db_url,
                "--port", str(self.mqtt_port),
                "--http-port", str(self.http_port),
                "--files", str(self.workdir / "bridge" / "files"),
                "--settle", str(self.settle_s),
                "--mc-runs", str(self.mc_runs),
            ],
        )  # fmt: skip
        if not (
            wait_for_port(self.mqtt_port, timeout_s, proc) and wait_for_port(self.http_port, timeout_s, proc)
        ):
            raise RuntimeError(f"the bridge did not start; see {self.workdir / 'logs' / 'bridge.log'}")

    def station_config(self, spec: StationSpec, enrol_token: str | None = None) -> Path:
        """Write the station's station.toml: its cameras replay their recordings as fast as they can;
        with `enrol_token` it fetches its credentials from the bridge at its first start."""
        from edge.station.config import dump_toml, validate_config

        data_dir = self.workdir / "stations" / spec.station_id
        data = {
            "station": {
                "id": spec.station_id,
                "latitude_deg": spec.lat_deg,
                "longitude_deg": spec.lon_deg,
                "height_m": spec.height_m,
                "data_dir": str(data_dir),
            },
            "night": {"always_on": True},
            "uplink": {
                "host": "127.0.0.1",
                "port": self.mqtt_port,
                "telemetry_interval_s": 10.0,
                "http_url": f"http://127.0.0.1:{self.http_port}",
                "enrol_token": enrol_token,
            },
            "time": {"source": "simulated"},
            "web": {
                "host": "127.0.0.1",
                "port": self.station_web_ports.setdefault(spec.station_id, free_port()),
            },
            "camera": [
                {"id": camera_id, "kind": "replay", "path": [str(p) for p in paths], "loop": self.loop}
                for camera_id, paths in spec.recordings.items()
            ],
        }
        data["uplink"] = {k: v for k, v in data["uplink"].items() if v is not None}
        validate_config(data, spec.station_id)
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / "station.toml"
        path.write_text(dump_toml(data))
        return path

    def start_stations(self) -> None:
        """Enrol every station with a one-time token (as an operator would), then start them."""
        from cloud_bridge.fleet.enrolment import create_enrolment_token
        from cloud_bridge.store import Store

        store = Store(self.db_url)
        try:
            tokens = {
                spec.station_id: create_enrolment_token(store, spec.station_id, created_by="demo")[0]
                for spec in self.stations
            }
        finally:
            store.close()
        for spec in self.stations:
            self._spawn(
                f"station-{spec.station_id}",
                ["station", "run", "--config", str(self.station_config(spec, tokens[spec.station_id]))],
            )

    def check_alive(self) -> list[str]:
        """Names of the children that have exited."""
        return [name for name, p in self.processes.items() if p.poll() is not None]

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM the stations, then the bridge; SIGKILL what is still running after `timeout_s`."""
        stations = [n for n in self.processes if n != "bridge"]
        for group in (stations, [n for n in self.processes if n == "bridge"]):
            for name in group:
                if self.processes[name].poll() is None:
                    self.processes[name].send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            for name in group:
                proc = self.processes[name]
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    log.warning("process=%s did not stop in %.0f s; killing it", name, timeout_s)
                    proc.kill()
                    proc.wait()
