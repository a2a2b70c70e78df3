"""Fleet over the HTTP API on SQLite and PostgreSQL: one-time enrolment tokens (spent once, for one
station, before they expire), the station's own token (role station), commands published on the
station's cmd topic with their results ingested, and refused calls counted with their reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from cloud_bridge.api import ApiSettings, TokenSpec, create_app
from cloud_bridge.fleet.enrolment import create_enrolment_token
from cloud_bridge.ingest.ingestor import Ingestor
from cloud_bridge.store import Store
from cloud_bridge.store.models import EnrolmentToken, StationCommand, StationCredential
from edge.protocol import Command, CommandResult, cmd_result_topic, cmd_topic, decode_message, encode_message

ADMIN, OWNER = "fleet-admin-token", "fleet-owner-token"
AUTH_ADMIN = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def bridge(db_url):
    store = Store(db_url)
    published: list[tuple[str, bytes]] = []
    ingestor = Ingestor(store, settle_s=0.0)
    settings = ApiSettings(
        tokens=[
            TokenSpec.from_plain("ops", "admin", ADMIN),
            TokenSpec.from_plain("club", "owner", OWNER, ["st-a"]),
        ]
    )
    app = create_app(store, settings, publisher=lambda t, p: published.append((t, p)), ingestor=ingestor)
    client = TestClient(app, raise_server_exceptions=True)
    yield client, store, ingestor, published
    store.close()


def enrol_station(client, station_id: str) -> dict:
    made = client.post("/fleet/enrolment-tokens", json={"station_id": station_id}, headers=AUTH_ADMIN)
    assert made.status_code == 201, made.text
    got = client.post("/fleet/enrol", json={"station_id": station_id, "token": made.json()["token"]})
    assert got.status_code == 200, got.text
    return got.json()


def test_enrolment_token_is_spent_once_and_only_by_its_station(bridge):
    client, store, _, _ = bridge
    assert client.post("/fleet/enrolment-tokens", json={"station_id": "st-a"}).status_code == 403  # anonymous
    owner = {"Authorization": f"Bearer {OWNER}"}
    assert (
        client.post("/fleet/enrolment-tokens", json={"station_id": "st-a"}, headers=owner).status_code == 403
    )
    token = client.post("/fleet/enrolment-tokens", json={"station_id": "st-a"}, headers=AUTH_ADMIN).json()[
        "token"
    ]

    wrong_station = client.post("/fleet/enrol", json={"station_id": "st-b", "token": token})
    assert wrong_station.status_code == 403 and "not for station 'st-b'" in wrong_station.json()["detail"]
    creds = client.post("/fleet/enrol", json={"station_id": "st-a", "token": token})
    assert creds.status_code == 200
    body = creds.json()
    assert (
        body["mqtt_username"] == "st-a" and len(body["mqtt_password"]) >= 24 and len(body["http_token"]) >= 32
    )
    again = client.post("/fleet/enrol", json={"station_id": "st-a", "token": token})
    assert again.status_code == 403 and "already used" in again.json()["detail"]
    bogus = client.post("/fleet/enrol", json={"station_id": "st-a", "token": "x' OR '1'='1"})
    assert bogus.status_code == 403 and bogus.json()["detail"] == "the enrolment token is not valid"

    # only hashes are kept
    with store.transaction() as s:
        cred = s.get(StationCredential, "st-a")
        assert (
            cred.mqtt_password_hash.startswith("$7$") and body["mqtt_password"] not in cred.mqtt_password_hash
        )
        assert cred.http_token_sha256 != body["http_token"]
        assert all(row.token_sha256 != token for row in s.query(EnrolmentToken))

    # the station's own token works (role station: public reading) and the station shows as enrolled
    station_auth = {"Authorization": f"Bearer {body['http_token']}"}
    listed = client.get("/stations", headers=station_auth)
    assert listed.status_code == 200 and listed.json()["items"][0]["enrolled"] is True
    assert client.get("/rejected", headers=station_auth).status_code == 403  # not an owner

    stats = client.get("/stats", headers=AUTH_ADMIN).json()["api_rejected"]
    assert stats["403 POST /fleet/enrol"] == 3 and stats["403 POST /fleet/enrolment-tokens"] == 2


def test_expired_token_is_refused(bridge):
    client, store, _, _ = bridge
    token, _ = create_enrolment_token(
        store, "st-c", created_by="test", valid_s=60, now_utc=datetime.now(UTC) - timedelta(hours=1)
    )
    refused = client.post("/fleet/enrol", json={"station_id": "st-c", "token": token})
    assert refused.status_code == 403 and "expired" in refused.json()["detail"]
    assert store.station("st-c") is None  # nothing stored half-way


def test_commands_are_published_and_results_stored(bridge):
    client, store, ingestor, published = bridge
    enrol_station(client, "st-a")
    sent = client.post(
        "/stations/st-a/commands",
        json={
            "kind": "capture_test_frame",
            "args": {"camera_id": "cam1", "exposure_s": 2.5},
            "expires_s": 600,
        },
        headers=AUTH_ADMIN,
    )
    assert sent.status_code == 201, sent.text
    cmd = sent.json()
    assert cmd["published_utc"] is not None and cmd["publish_error"] is None
    [(topic, payload)] = published
    command = decode_message(topic, payload)
    assert topic == cmd_topic("st-a") and isinstance(command, Command)
    assert command.request_id == cmd["request_id"] and command.args == {
        "camera_id": "cam1",
        "exposure_s": 2.5,
    }

    bad = client.post(
        "/stations/st-a/commands",
        json={"kind": "firmware_update", "args": {"url": "http://x"}},
        headers=AUTH_ADMIN,
    )
    assert bad.status_code == 422 and "sha256" in bad.json()["detail"]
    assert (
        client.post("/stations/nope/commands", json={"kind": "restart"}, headers=AUTH_ADMIN).status_code
        == 404
    )
    assert client.post("/stations/st-a/commands", json={"kind": "restart"}).status_code == 403
    wrong = {"Authorization": "Bearer not-a-token"}
    assert client.post("/stations/st-a/commands", json={"kind": "restart"}, headers=wrong).status_code == 401

    result = CommandResult(
        station_id="st-a",
        request_id=command.request_id,
        ok=True,
        message="test frame taken",
        data={"url": "http://station/test.png"},
        utc=datetime.now(UTC),
    )
    assert ingestor.handle(cmd_result_topic("st-a"), encode_message(result)).outcome == "stored"
    assert ingestor.handle(cmd_result_topic("st-a"), encode_message(result)).outcome == "duplicate"
    forged = result.model_copy(update={"message": "something else"})
    refused = ingestor.handle(cmd_result_topic("st-a"), encode_message(forged))
    assert (
        refused.outcome == "rejected"
        and refused.field == "request_id"
        and "already answered" in refused.reason
    )
    other = result.model_copy(update={"request_id": "0123456789abcdef"})
    refused = ingestor.handle(cmd_result_topic("st-a"), encode_message(other))
    assert refused.outcome == "rejected" and "no command" in refused.reason

    listed = client.get("/stations/st-a/commands", headers={"Authorization": f"Bearer {OWNER}"})
    assert listed.status_code == 200 and listed.json()["total"] == 1
    item = listed.json()["items"][0]
    assert item["result_ok"] is True and item["result_data"] == {"url": "http://station/test.png"}
    assert client.get(f"/commands/{command.request_id}", headers=AUTH_ADMIN).json()["result_message"] == (
        "test frame taken"
    )
    assert client.get("/stations/st-a/commands").status_code == 403
    stats = client.get("/stats", headers=AUTH_ADMIN).json()
    assert (
        stats["ingest"]["rejected.request_id"] == 2 and stats["rejected_messages_by_field"]["request_id"] == 2
    )


def test_command_without_broker_is_stored_with_the_reason(db_url):
    store = Store(db_url)
    client = TestClient(create_app(store, ApiSettings(tokens=[TokenSpec.from_plain("ops", "admin", ADMIN)])))
    enrol_station(client, "st-d")
    sent = client.post("/stations/st-d/commands", json={"kind": "restart"}, headers=AUTH_ADMIN).json()
    assert sent["published_utc"] is None and "no MQTT connection" in sent["publish_error"]
    with store.transaction() as s:
        assert s.query(StationCommand).count() == 1
    store.close()
    assert json.loads(json.dumps(sent))["kind"] == "restart"
