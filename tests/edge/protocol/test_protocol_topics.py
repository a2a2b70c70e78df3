"""Topic names: builders, parser, the QoS/retain table, subscriptions and the last will."""

from __future__ import annotations

import re

import pytest

from edge.protocol import (
    BRIDGE_SUBSCRIPTIONS,
    TOPICS,
    ProtocolError,
    StationState,
    StationStatus,
    TopicKind,
    cmd_result_topic,
    cmd_topic,
    decode_message,
    last_will,
    obs_topic,
    parse_topic,
    shared_subscription,
    station_subscriptions,
    status_topic,
    subscription,
    telemetry_topic,
    topic,
)
from edge.protocol.models import MESSAGE_MODELS


def _mqtt_match(topic_filter: str, name: str) -> bool:
    """Independent MQTT 3.1.1 filter matcher (section 4.7): '+' one level, '#' the rest."""
    levels = topic_filter.split("/")
    pattern = "/".join("[^/]+" if lv == "+" else ".*" if lv == "#" else re.escape(lv) for lv in levels)
    return re.fullmatch(pattern, name) is not None


def test_builders():
    assert status_topic("ams01") == "skytrail/v1/ams01/status"
    assert telemetry_topic("ams01") == "skytrail/v1/ams01/telemetry"
    assert obs_topic("ams01") == "skytrail/v1/ams01/obs"
    assert cmd_topic("ams01") == "skytrail/v1/ams01/cmd"
    assert cmd_result_topic("ams01") == "skytrail/v1/ams01/cmd/result"
    for bad in ("AMS01", "a", "ams/01", "+", "#", "-x1", ""):
        with pytest.raises(ProtocolError) as err:
            obs_topic(bad)
        assert err.value.field == "station_id"
    with pytest.raises(ProtocolError) as err:
        topic("ams01", "video")
    assert err.value.field == "kind"


@pytest.mark.parametrize("station", ["ab", "ams01", "de-bonn-3", "0" * 32])
def test_parse_inverts_build(station):
    for kind in TopicKind:
        assert parse_topic(topic(station, kind)) == (station, kind)


@pytest.mark.parametrize("name", [
    "skytrail/v1/ams01", "skytrail/v1/ams01/", "skytrail/v1//obs", "skytrail/v2/ams01/obs",
    "Skytrail/v1/ams01/obs", "/skytrail/v1/ams01/obs", "skytrail/v1/AMS01/obs", "skytrail/v1/a/obs",
    "skytrail/v1/ams01/obs/", "skytrail/v1/ams01/cmd/result/x", "skytrail/v1/ams01/result",
    "skytrail/v1/+/obs", "skytrail/v1/ams01/#", "other/v1/ams01/obs", "", "skytrail/v1/ams01/ obs",
])
def test_parse_rejects_malformed(name):
    with pytest.raises(ProtocolError) as err:
        parse_topic(name)
    assert err.value.field == "topic"


def test_table():
    assert set(TOPICS) == set(TopicKind)
    assert {spec.model for spec in TOPICS.values()} == set(MESSAGE_MODELS)
    status = TOPICS[TopicKind.STATUS]
    assert status.retain and status.qos == 1 and status.model is StationStatus
    assert TOPICS[TopicKind.OBS].qos == 1 and not TOPICS[TopicKind.OBS].retain
    assert not TOPICS[TopicKind.CMD].retain and TOPICS[TopicKind.CMD].publisher == "bridge"
    assert sum(spec.retain for spec in TOPICS.values()) == 1


def test_bridge_subscriptions_match_station_topics_only():
    filters = [f for f, _ in BRIDGE_SUBSCRIPTIONS]
    for station in ("ams01", "de-bonn-3"):
        for kind in TopicKind:
            hits = [f for f in filters if _mqtt_match(f, topic(station, kind))]
            assert len(hits) == (0 if kind == TopicKind.CMD else 1), (station, kind, hits)
    assert dict(BRIDGE_SUBSCRIPTIONS)["skytrail/v1/+/obs"] == 1
    assert subscription("obs") == "skytrail/v1/+/obs"
    assert subscription("cmd/result", "ams01") == "skytrail/v1/ams01/cmd/result"
    assert shared_subscription(subscription("obs"), "ingest") == "$share/ingest/skytrail/v1/+/obs"
    with pytest.raises(ProtocolError):
        shared_subscription("x", "bad/group")


def test_station_subscribes_to_its_commands_only():
    (flt, qos), = station_subscriptions("ams01")
    assert _mqtt_match(flt, cmd_topic("ams01")) and qos == 1
    assert not _mqtt_match(flt, cmd_topic("ams02")) and not _mqtt_match(flt, cmd_result_topic("ams01"))


def test_last_will_is_a_retained_offline_status():
    will = last_will("ams01", "0.1.0")
    assert will.topic == "skytrail/v1/ams01/status" and will.retain and will.qos == 1
    status = decode_message(will.topic, will.payload)
    assert isinstance(status, StationStatus) and status.state == StationState.OFFLINE
