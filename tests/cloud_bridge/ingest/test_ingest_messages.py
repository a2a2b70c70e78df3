"""Ingestor on SQLite and PostgreSQL: reports stored once, hostile messages rejected with their
reason and counted with nothing stored, events solved after the settle window and solved again when
a late report comes; the stored orbit against the simulator's radiant."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cloud_bridge.ingest.ingestor import Ingestor
from cloud_bridge.store import Event, EventStatus, Observation, Orbit, RejectedMessage, Station, Store
from edge.protocol import (
    MAX_PAYLOAD_BYTES,
    StationState,
    StationStatus,
    encode_message,
    obs_topic,
    status_topic,
)

NOW = datetime(2026, 8, 12, 21, 0, 0, tzinfo=UTC)
SQLISH = "x'); DROP TABLE observations; --"


@pytest.fixture
def ingestor(db_url):
    store = Store(db_url)
    yield Ingestor(store, settle_s=0.0, mc_runs=10)
    store.close()


def test_reports_stored_once(ingestor, meteor):
    _, reports = meteor
    r = reports[0]
    first = ingestor.handle(obs_topic(r.station_id), encode_message(r), NOW)
    again = ingestor.handle(obs_topic(r.station_id), encode_message(r), NOW + timedelta(seconds=5))
    assert first.outcome == "stored" and again.outcome == "duplicate" and again.event_id == first.event_id
    store = ingestor.store
    assert store.count(Observation) == 1 and store.count(Event) == 1
    assert store.events()[0].revision == 1  # the redelivery did not touch the event either
    assert ingestor.stats() == {"received": 2, "stored": 1, "duplicate": 1}


def hostile_messages(reports):
    r = reports[0]
    good = json.loads(encode_message(r))
    other = reports[1].station_id
    assert other != r.station_id
    topic = obs_topic(r.station_id)
    tampered = {**good, "camera_id": "cam7"}
    return [
        ("invalid JSON", topic, b'{"schema_version": 1, "station_id": ', "payload", "not JSON"),
        (
            "wrong schema version",
            topic,
            json.dumps({**good, "schema_version": 99}).encode(),
            "schema_version",
            "99",
        ),
        ("oversized", topic, b'{"a": "' + b"x" * MAX_PAYLOAD_BYTES + b'"}', "payload", "exceeds the maximum"),
        ("another station's topic", obs_topic(other), encode_message(r), "station_id", "does not match"),
        (
            "replay with other content",
            topic,
            json.dumps(tampered).encode(),
            "observation_id",
            "different content",
        ),
        ("SQL in an id", topic, json.dumps({**good, "camera_id": SQLISH}).encode(), "camera_id", ""),
        ("not our topic", "skytrail/v1/ams01'--/obs", encode_message(r), "topic", "not a station id"),
        ("a command from a station", f"skytrail/v1/{r.station_id}/cmd", encode_message(r), "topic", ""),
        ("not UTF-8", topic, b"\xff\xfe{}", "payload", "UTF-8"),
    ]


def test_hostile_messages_rejected_and_counted(ingestor, meteor):
    _, reports = meteor
    r = reports[0]
    assert ingestor.handle(obs_topic(r.station_id), encode_message(r), NOW).outcome == "stored"
    cases = hostile_messages(reports)
    for what, topic, payload, field, reason in cases:
        result = ingestor.handle(topic, payload, NOW)
        assert result.outcome == "rejected", what
        assert result.field == field, (what, result)
        assert reason in result.reason, (what, result.reason)
    store = ingestor.store
    assert store.count(Observation) == 1 and store.count(Event) == 1  # nothing of them was stored
    assert store.count(RejectedMessage) == len(cases)
    stats = ingestor.stats()
    assert stats["rejected"] == len(cases) and stats["rejected.payload"] == 3
    counts = store.rejection_counts("field")
    assert counts["payload"] == 3 and counts["topic"] == 2 and counts["station_id"] == 1
    with store.transaction() as s:
        row = s.query(RejectedMessage).filter_by(field="schema_version").one()
        assert row.station_id == r.station_id and row.payload_bytes > 100 and len(row.payload_sha256) == 64
        assert s.query(Observation).one().camera_id == r.camera_id  # the replay changed nothing


def test_sql_text_is_stored_as_data(ingestor, meteor):
    _, reports = meteor
    r = reports[0]
    report = r.model_copy(update={"time_quality": r.time_quality.model_copy(update={"note": SQLISH})})
    status = StationStatus(
        station_id=r.station_id, state=StationState.ONLINE, software_version="0.1.0", utc=NOW, message=SQLISH
    )
    assert ingestor.handle(obs_topic(r.station_id), encode_message(report), NOW).outcome == "stored"
    assert ingestor.handle(status_topic(r.station_id), encode_message(status), NOW).outcome == "stored"
    store = ingestor.store
    with store.transaction() as s:
        row = s.query(Observation).one()
        assert row.report_json["time_quality"]["note"] == SQLISH
        assert s.get(Station, r.station_id).status_json["message"] == SQLISH
    assert store.count(Observation) == 1  # the table is still there


def test_event_solved_then_solved_again_with_a_late_report(ingestor, meteor, radiant_error_deg):
    plan, reports = meteor
    by_station = sorted(reports, key=lambda r: r.station_id)
    for r in by_station[:2]:
        assert ingestor.handle(obs_topic(r.station_id), encode_message(r), NOW).outcome == "stored"
    assert ingestor.solve_due(NOW - timedelta(seconds=1)) == []  # no event is due before its window ends
    [event_id] = ingestor.solve_due(NOW + timedelta(seconds=1))
    store = ingestor.store
    [orbit] = store.orbits()
    first_error = radiant_error_deg(orbit, plan)
    assert first_error < 0.5
    late = by_station[2]
    ingestor.handle(obs_topic(late.station_id), encode_message(late), NOW + timedelta(seconds=60))
    assert store.events()[0].status == EventStatus.PENDING
    assert ingestor.solve_due(NOW + timedelta(seconds=61)) == [event_id]
    [event] = store.events()
    [orbit] = store.orbits()  # replaced, not added
    assert event.status == EventStatus.SOLVED and event.n_solves == 2 and event.n_stations == 3
    assert radiant_error_deg(orbit, plan) < 0.2
    assert orbit.shower_code == "PER" and store.count(Orbit) == 1
    with store.transaction() as s:
        t = s.query(Event).one()
        assert t.solved_at is not None
    assert ingestor.stats()["events_solved"] == 2


def test_single_station_event_fails_with_reason(ingestor, meteor):
    _, reports = meteor
    r = reports[0]
    ingestor.handle(obs_topic(r.station_id), encode_message(r), NOW)
    ingestor.solve_due(NOW + timedelta(seconds=1))
    [event] = ingestor.store.events()
    assert event.status == EventStatus.FAILED and "one station" in event.failure_reason
