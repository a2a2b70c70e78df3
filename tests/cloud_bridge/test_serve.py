"""`skytrail bridge serve` as a person runs it: a separate process with its embedded broker and
SQLite; simulated stations publish their reports over MQTT; the solved orbit appears in the
database."""

import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import paho.mqtt.client as mqtt
from astropy.coordinates import angular_separation

from cloud_bridge.store.store import Store
from edge.protocol import encode_message
from edge.protocol.topics import obs_topic
from edge.sim.config import Scenario, default_network
from edge.sim.event import plan_event
from edge.sim.reports import reports_from_plan


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_ingests_published_reports_and_stores_the_orbit(tmp_path):
    port, api_port, db = free_port(), free_port(), f"sqlite:///{tmp_path / 'bridge.db'}"
    log = tmp_path / "bridge.log"
    command = [
        "bridge",
        "serve",
        "--port",
        str(port),
        "--db",
        db,
        "--settle",
        "0.5",
        "--mc-runs",
        "10",
        "--api-port",
        str(api_port),
    ]
    bridge = subprocess.Popen(
        [sys.executable, "-m", "skytrail.cli", *command, "--duration", "120"],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while "listening for stations" not in log.read_text():
            assert bridge.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        plan = plan_event(Scenario(seed=7, stations=default_network(3, 4), meteor={"shower": "PER"}))
        reports = reports_from_plan(plan, fps_phase_rng=np.random.default_rng(1), noise_arcmin=1.0)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-station")
        client.connect("127.0.0.1", port)
        client.loop_start()
        for report in reports:
            client.publish(obs_topic(report.station_id), encode_message(report), qos=1).wait_for_publish(10)
        client.loop_stop()
        client.disconnect()

        store = Store(db, migrate=False)
        deadline = time.monotonic() + 90
        while not store.orbits() and time.monotonic() < deadline:
            time.sleep(0.5)
        orbits = store.orbits()
        assert len(orbits) == 1, log.read_text()[-3000:]
        truth = plan.radiant
        a = np.radians([orbits[0].ra_g_deg, orbits[0].dec_g_deg])
        b = np.radians([truth.ra_g_deg, truth.dec_g_deg])
        sep = np.degrees(angular_separation(a[0], a[1], b[0], b[1]))
        print(f"radiant error {sep:.3f} deg, shower {orbits[0].shower_code}")
        assert sep < 0.3
        assert orbits[0].shower_code == "PER"
        # and the REST API of the running service serves it (anonymous reading allowed by default)
        events = httpx.get(f"http://127.0.0.1:{api_port}/events", timeout=10).json()
        assert events["total"] == 1 and events["items"][0]["orbits"][0]["shower_code"] == "PER"
    finally:
        bridge.terminate()
        bridge.wait(timeout=30)
    assert bridge.returncode == 0


def test_config_file_fills_options_not_given_on_the_command_line(tmp_path):
    import argparse

    import pytest

    from cloud_bridge.serve import add_arguments, apply_config_file

    (tmp_path / "bridge.toml").write_text(
        'broker = "mq.example.org:8883"\nmqtt_tls_ca = "/etc/skytrail/ca.crt"\nfiles = "s3://products/prod"\n'
        'db = "postgresql+psycopg://skytrail@db/skytrail"\n'
    )
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = apply_config_file(
        parser.parse_args(["--config", str(tmp_path / "bridge.toml"), "--db", "sqlite:///x.db"])
    )
    assert args.broker == "mq.example.org:8883" and str(args.mqtt_tls_ca) == "/etc/skytrail/ca.crt"
    assert args.files == "s3://products/prod" and args.db == "sqlite:///x.db"  # the command line wins
    (tmp_path / "bad.toml").write_text('brokr = "x:1"\n')
    with pytest.raises(ValueError, match="unknown option.*brokr"):
        apply_config_file(parser.parse_args(["--config", str(tmp_path / "bad.toml")]))
