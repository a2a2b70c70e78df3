"""Per-station credentials at a real Mosquitto: the bridge writes the password and ACL files from the
enrolled stations and makes the broker reload them (SIGHUP); a station then logs in with its own
credentials, publishes under its own topics, and is refused by the broker itself when it publishes
under another station's topic or logs in with a wrong password."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cloud_bridge.fleet.enrolment import create_enrolment_token, enrol
from cloud_bridge.fleet.mosquitto import MosquittoAuth, hash_password
from cloud_bridge.ingest.ingestor import Ingestor
from cloud_bridge.ingest.mqtt import MqttIngest
from cloud_bridge.store import Store
from edge.protocol import StationState, StationStatus, encode_message, status_topic

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
)
pytestmark = pytest.mark.skipif(
    MOSQUITTO is None, reason="mosquitto not installed (Debian package 'mosquitto')"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what: str, limit_s: float = 30.0):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def connect(port: int, user: str, password: str) -> tuple[mqtt.Client, object]:
    """A station client; returns (client, reason code of the CONNACK)."""
    result = {}
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{user}", protocol=mqtt.MQTTv311)
    client.username_pw_set(user, password)
    client.on_connect = lambda c, u, f, rc, p: result.setdefault("rc", rc)
    client.connect("127.0.0.1", port)
    client.loop_start()
    wait_for(lambda: "rc" in result, f"CONNACK for {user}")
    return client, result["rc"]


def status(station_id: str, message: str) -> StationStatus:
    return StationStatus(
        station_id=station_id,
        state=StationState.ONLINE,
        software_version="1",
        utc=datetime.now(UTC),
        message=message,
    )


def test_station_credentials_and_acl_at_mosquitto(tmp_path, sqlite_url):
    store = Store(sqlite_url)
    port = free_port()
    auth = MosquittoAuth(
        tmp_path / "skytrail.passwd",
        tmp_path / "skytrail.acl",
        bridge_username="bridge",
        bridge_password_hash=hash_password("bridge-secret", "bridge"),
        pid_file=tmp_path / "mosquitto.pid",
    )
    assert auth.write(store) == 0
    user = "user root\n" if os.geteuid() == 0 else ""
    (tmp_path / "mosquitto.conf").write_text(
        f"{user}pid_file {tmp_path / 'mosquitto.pid'}\nlog_dest stdout\nlog_type all\n"
        f"listener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {auth.passwd_file}\nacl_file {auth.acl_file}\nmessage_size_limit 1048576\n"
    )
    log = tmp_path / "mosquitto.log"
    broker = subprocess.Popen(
        [MOSQUITTO, "-c", str(tmp_path / "mosquitto.conf")], stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    ingestor = Ingestor(store, settle_s=60.0)
    try:
        wait_for(lambda: (tmp_path / "mosquitto.pid").exists(), "mosquitto's pid file")
        bridge = MqttIngest(
            ingestor, "127.0.0.1", port, client_id="bridge-1", username="bridge", password="bridge-secret"
        ).start()
        creds = {}
        for sid in ("st-a", "st-b"):
            token, _ = create_enrolment_token(store, sid, created_by="test")
            creds[sid] = enrol(store, sid, token)
        assert auth.sync(store) == 2  # files rewritten, SIGHUP sent
        assert "st-a:$7$" in auth.passwd_file.read_text()

        def logged_in():
            client, rc = connect(port, "st-a", creds["st-a"].mqtt_password)
            if rc.is_failure:
                client.loop_stop()
                return None
            return client

        station = wait_for(logged_in, "st-a to log in after the reload")
        station.publish(
            status_topic("st-b"), encode_message(status("st-b", "forged")), qos=1
        ).wait_for_publish(10)
        station.publish(status_topic("st-a"), encode_message(status("st-a", "mine")), qos=1).wait_for_publish(
            10
        )
        wait_for(lambda: store.station("st-a").status_json is not None, "st-a's own status at the bridge")
        assert store.station("st-a").status_json["message"] == "mine"
        assert store.station("st-b").status_json is None  # the forged one never reached the bridge
        assert ingestor.stats()["received"] == 1
        station.disconnect()
        station.loop_stop()

        client, rc = connect(port, "st-b", "wrong-password")
        client.loop_stop()
        assert rc.is_failure and "authori" in str(rc).lower()
        bridge.stop()
    finally:
        broker.terminate()
        broker.wait(10)
        store.close()
    # the broker acknowledged the forged publish (MQTT 3.1.1 cannot refuse one), logged and dropped it
    assert "Denied PUBLISH from test-st-a (d0, q1, r0, m1, 'skytrail/v1/st-b/status'" in log.read_text()
