"""A whole station end to end: four simulated cameras (a replayed simulated night with one meteor,
480x270), the real supervisor, camera, extractor and uplink processes, and a real broker (the
embedded amqtt and Mosquitto): every camera's meteor report reaches the broker and validates against
the wire contract; the fleet commands capture_test_frame and restart are answered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import Subscriber, make_broker, wait_for

from edge.protocol import Command, CommandResult, ObservationReport, decode_message, encode_message
from edge.protocol.topics import topic_for

CAMERAS = ["cam1", "cam2", "cam3", "cam4"]


@pytest.mark.parametrize("broker_kind", ["amqtt", pytest.param("mosquitto", marks=pytest.mark.slow)])
def test_four_cameras_publish_reports_to_a_real_broker(
    broker_kind, tmp_path, meteor_recording, station_factory
):
    workdir = tmp_path / broker_kind
    workdir.mkdir()
    broker = make_broker(broker_kind, workdir)
    broker.start()
    sub = Subscriber(broker.host, broker.port, ["skytrail/v1/st1/#"], client_id=f"e2e-{broker_kind}")
    try:
        station = station_factory({c: meteor_recording for c in CAMERAS}, broker=broker)
        station.start()
        started = wait_for(lambda: station.capturing(4), 180, "four capturing cameras")
        # a fleet command while capturing: capture_test_frame on cam3
        now = datetime.now(UTC)
        cmd = Command(
            station_id="st1",
            request_id="testframe-0001",
            kind="capture_test_frame",
            args={"camera_id": "cam3"},
            issued_utc=now,
            expires_utc=now + timedelta(minutes=5),
        )
        sub.client.publish(topic_for(cmd), encode_message(cmd), qos=1)
        wait_for(lambda: len(sub.on_topic("skytrail/v1/st1/obs")) >= 4, 180, "four observation reports")
        reports = [decode_message("skytrail/v1/st1/obs", p) for p in sub.on_topic("skytrail/v1/st1/obs")]
        assert all(isinstance(r, ObservationReport) for r in reports)
        assert sorted({r.camera_id for r in reports}) == CAMERAS
        for r in reports:
            assert r.detector.n_frames >= 8
            assert r.classification is not None and r.time_quality.source.value == "simulated"
            assert {p.kind.value for p in r.products} == {"fits", "png", "mp4", "ecsv"}
            on_disk = station.data_dir / "products" / "st1" / r.camera_id / f"{r.observation_id}.json"
            assert json.loads(on_disk.read_text())["observation_id"] == r.observation_id
        wait_for(lambda: sub.on_topic("skytrail/v1/st1/cmd/result"), 60, "the command result")
        result = decode_message("skytrail/v1/st1/cmd/result", sub.on_topic("skytrail/v1/st1/cmd/result")[0])
        assert isinstance(result, CommandResult) and result.ok, result
        assert (station.data_dir / "state" / "cameras" / "cam3" / "latest.png").is_file()
        assert result.data["path"].endswith("cam3/latest.png")
        snap = station.snapshot()
        assert snap.uplink_connected and snap.station_id == "st1" and len(snap.cameras) == 4
        statuses = sub.on_topic("skytrail/v1/st1/status")
        assert statuses, "no retained status"
        print(f"FIGURE broker={broker_kind} cameras_capturing_after_s={started:.1f} reports={len(reports)}")
    finally:
        sub.close()
        broker.stop()
