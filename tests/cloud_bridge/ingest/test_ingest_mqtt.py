"""End to end over a real broker: the embedded amqtt broker (`cloud_bridge.broker`), the bridge's
paho subscriber (`cloud_bridge.ingest.mqtt`) feeding an Ingestor with its solver thread, and three
simulated stations publishing one meteor's reports with paho at QoS 1 (one of them twice, plus a
forged one); the orbit stored in SQLite against the simulator's radiant."""

from __future__ import annotations

import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cloud_bridge.broker import EmbeddedBroker
from cloud_bridge.ingest.ingestor import Ingestor
from cloud_bridge.ingest.mqtt import MqttIngest
from cloud_bridge.store import EventStatus, Observation, RejectedMessage, Store
from edge.protocol import encode_message, obs_topic


def wait_for(condition, what: str, limit_s: float = 120.0):
    """Poll until condition() is truthy; a bound only so that a broken pipeline fails instead of hanging."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def publish_all(host: str, port: int, station_id: str, messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"station-{station_id}", protocol=mqtt.MQTTv311
    )
    client.connect(host, port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()


def test_reports_over_mqtt_are_stored_and_solved(sqlite_url, meteor, radiant_error_deg):
    plan, reports = meteor
    store = Store(sqlite_url)
    ingestor = Ingestor(store, settle_s=0.5, mc_runs=10, poll_s=0.1)
    with (
        EmbeddedBroker(port=0) as broker,
        MqttIngest(ingestor, broker.host, broker.port, client_id="bridge-test"),
    ):
        ingestor.start()
        try:
            for r in reports:
                messages = [(obs_topic(r.station_id), encode_message(r))]
                if r is reports[0]:
                    messages.append(messages[0])  # redelivered
                    messages.append((obs_topic(reports[1].station_id), encode_message(r)))  # forged topic
                publish_all(broker.host, broker.port, r.station_id, messages)

            def solved_from_all_stations():
                events = store.events()
                done = (
                    len(events) == 1 and events[0].status == EventStatus.SOLVED and events[0].n_stations == 3
                )
                return store.orbits() if done else None

            orbits = wait_for(solved_from_all_stations, "the event's orbit from all three stations")
        finally:
            ingestor.stop()
    [orbit] = orbits
    [event] = store.events()
    assert event.status == EventStatus.SOLVED and event.n_stations == 3
    assert radiant_error_deg(orbit, plan) < 0.2
    assert orbit.shower_code == "PER"
    assert store.count(Observation) == len(reports) and store.count(RejectedMessage) == 1
    stats = ingestor.stats()
    assert stats["duplicate"] == 1 and stats["rejected.station_id"] == 1
    assert stats["received"] == len(reports) + 2
    store.close()
