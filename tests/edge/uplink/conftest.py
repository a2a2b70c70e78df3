"""Real brokers for the uplink tests: the embedded amqtt broker and Mosquitto, each started on a
free loopback port in a subprocess (so it can be stopped, killed and restarted), plus a test
subscriber that records what the broker delivers.

Mosquitto comes from Debian (`apt-get install mosquitto`); its tests are skipped, saying so,
when the binary is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)
NO_MOSQUITTO = "mosquitto binary not found (Debian package 'mosquitto'; build.sh installs it)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout_s: float, step_s: float = 0.05) -> bool:
    """Poll `predicate` until true or `timeout_s` passes (generous: the machine is shared)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(HERE), env.get("PYTHONPATH", "")])
    return env


class BrokerProcess:
    """A broker in a subprocess on 127.0.0.1:`port`; start/stop/restart keep the same port."""

    name = "broker"

    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = workdir
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        log = open(self.workdir / f"{self.name}-{self.starts}.log", "wb")
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, env=child_env(), cwd=self.workdir
        )
        self.starts += 1
        if not wait_until(self._accepting, 30):
            self.stop()
            raise RuntimeError(f"{self.name} did not listen on port {self.port}; see {log.name}")

    def _accepting(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see logs in {self.workdir}")
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM (clean shutdown), then SIGKILL if it hangs."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None


class AmqttBroker(BrokerProcess):
    """amqtt 0.12 (MQTT 3.1.1) with a ledger of every PUBLISH it received (survives restarts)."""

    name = "amqtt"

    def __init__(self, workdir: Path, port: int | None = None):
        super().__init__(workdir, port)
        self.ledger = workdir / "amqtt-ledger.jsonl"

    def command(self) -> list[str]:
        return [sys.executable, str(HERE / "uplink_amqtt_broker.py"), str(self.port), str(self.ledger)]


class MosquittoBroker(BrokerProcess):
    """Mosquitto 2 with persistence (sessions of clean_session=False clients survive a restart)."""

    name = "mosquitto"

    def __init__(self, workdir: Path, port: int | None = None, extra_config: str = ""):
        super().__init__(workdir, port)
        self.extra_config = extra_config
        self.config = workdir / "mosquitto.conf"

    def command(self) -> list[str]:
        (self.workdir / "data").mkdir(exist_ok=True)
        user = "user root\n" if os.geteuid() == 0 else ""
        listener = self.extra_config or f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
        self.config.write_text(
            f"{user}persistence true\npersistence_location {self.workdir / 'data'}/\n"
            f"log_dest stdout\n{listener}"
        )
        return [str(MOSQUITTO), "-c", str(self.config)]


def make_broker(kind: str, workdir: Path) -> BrokerProcess:
    if kind == "mosquitto":
        if MOSQUITTO is None:
            pytest.skip(NO_MOSQUITTO)
        return MosquittoBroker(workdir)
    return AmqttBroker(workdir)


@pytest.fixture(params=["amqtt", "mosquitto"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerProcess]:
    """A running broker of each kind (the test runs once per kind)."""
    workdir = tmp_path / request.param
    workdir.mkdir()
    b = make_broker(request.param, workdir)
    b.start()
    yield b
    b.stop()


@pytest.fixture
def amqtt_broker(tmp_path: Path) -> Iterator[AmqttBroker]:
    b = AmqttBroker(tmp_path)
    b.start()
    yield b
    b.stop()


class Subscriber:
    """A paho client that records (topic, payload, retain) of everything it receives."""

    def __init__(
        self,
        host: str,
        port: int,
        topics: list[str],
        *,
        client_id: str = "test-subscriber",
        clean_session: bool = True,
        username: str | None = None,
        password: str | None = None,
        tls: tuple[str, str, str] | None = None,
    ):
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.topics = topics
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean_session,
            protocol=mqtt.MQTTv311,
        )
        if username:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set(ca_certs=tls[0], certfile=tls[1], keyfile=tls[2])
        self.client.reconnect_delay_set(0.25, 1)  # type: ignore[arg-type]
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect_async(host, port, keepalive=10)
        self.client.loop_start()
        if not self.subscribed.wait(20):
            raise RuntimeError(f"test subscriber could not subscribe at {host}:{port}")

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if not rc.is_failure:
            client.subscribe([(t, 1) for t in self.topics])

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def on_topic(self, topic: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
