"""A running station with parts missing or failing (real processes): a corrupt classifier model, an
ADS-B receiver that is absent and then a feed that drops and returns, a pushed config under which the
station cannot come up (rolled back). The station keeps detecting and reporting throughout, and its
status says why it is degraded."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import AmqttBroker, Subscriber, free_port, wait_for

from edge.protocol import Command, CommandResult, decode_message, encode_message
from edge.protocol.topics import topic_for


def _reports(station) -> list[dict]:
    return [json.loads(p.read_text()) for p in station.reports()]


def _component(station, name: str):
    snap = station.snapshot()
    return getattr(snap, name) if snap else None


def test_corrupt_classifier_and_absent_then_flapping_adsb_keep_the_station_reporting(
    tmp_path, meteor_recording, station_factory
):
    from edge.adsb import encode
    from edge.adsb.beast import encode_frame, timestamp_12mhz_of
    from edge.sim.adsb import BeastServer

    bad_model = tmp_path / "broken.tflite"
    bad_model.write_bytes(b"this is not a TFLite flatbuffer")
    port = free_port()
    station = station_factory(
        {"cam1": meteor_recording},
        extra={
            "classifier": {"model": str(bad_model)},
            "adsb": {"enabled": True, "host": "127.0.0.1", "port": port, "stale_s": 3.0},
        },
        loop=True,
    )
    station.start()
    wait_for(lambda: station.reports(), 240, "a first report")
    first = _reports(station)[0]
    assert first["classification"]["label"] == "unclassified"
    assert "model unusable" in first["classification"]["reason"]
    wait_for(lambda: _component(station, "adsb") is not None, 30, "the ADS-B status")
    snap = station.snapshot()
    assert snap.classifier.state == "error" and "unclassified" in snap.classifier.message
    assert snap.adsb.state == "absent", snap.adsb
    assert snap.state == "degraded" and "classifier" in snap.message and "ADS-B absent" in snap.message
    assert snap.cameras[0].state == "capturing"
    # a feed appears (paced, so it keeps sending), drops, and comes back on the same port
    msg = encode.identification("abc123", "SIM0001")
    data = b"".join(encode_frame(msg, timestamp_12mhz_of(1.0 + 0.01 * k), 50) for k in range(20000))
    server = BeastServer(data, port=port, pace_bytes_per_s=2000.0)
    try:
        t_ok = wait_for(lambda: _component(station, "adsb").state == "ok", 90, "the ADS-B feed connected")
        server.stop()
        t_lost = wait_for(
            lambda: _component(station, "adsb").state in ("degraded", "absent"), 60, "the feed lost"
        )
        assert "ADS-B" in station.snapshot().message
        n_before = len(station.reports())
        server = BeastServer(data, port=port, pace_bytes_per_s=2000.0)
        t_back = wait_for(lambda: _component(station, "adsb").state == "ok", 90, "the ADS-B feed back")
        wait_for(lambda: len(station.reports()) > n_before, 120, "reports go on")
    finally:
        server.stop()
    labels = {r["classification"]["label"] for r in _reports(station)}
    assert labels == {"unclassified"}
    print(
        f"FIGURE adsb_connected_after_s={t_ok:.1f} degraded_after_drop_s={t_lost:.1f} "
        f"connected_again_after_s={t_back:.1f} reports={len(station.reports())} all_unclassified=True"
    )


@pytest.mark.slow
def test_pushed_config_is_rolled_back_when_the_station_does_not_come_up(
    tmp_path, meteor_recording, station_factory
):
    broker = AmqttBroker(tmp_path)
    broker.start()
    sub = Subscriber(broker.host, broker.port, ["skytrail/v1/st1/cmd/result"], client_id="cfg-test")
    try:
        station = station_factory(
            {"cam1": meteor_recording},
            broker=broker,
            extra={"supervisor": {"healthy_within_s": 25.0}},
            loop=True,
        )
        station.start()
        wait_for(lambda: station.capturing(1), 240, "a capturing camera")
        original = station.config.read_text()

        def push(request_id: str, args: dict) -> CommandResult:
            now = datetime.now(UTC)
            cmd = Command(
                station_id="st1",
                request_id=request_id,
                kind="config",
                args=args,
                issued_utc=now,
                expires_utc=now + timedelta(minutes=10),
            )
            sub.client.publish(topic_for(cmd), encode_message(cmd), qos=1)

            def answered():
                for p in sub.on_topic("skytrail/v1/st1/cmd/result"):
                    r = decode_message("skytrail/v1/st1/cmd/result", p)
                    if r.request_id == request_id:
                        return r
                return None

            wait_for(answered, 180, f"the answer to {request_id}")
            return answered()

        # a camera that cannot open: valid config, unhealthy station -> rolled back
        cams = [
            {"id": "cam1", "kind": "v4l2", "device": "/dev/video-none", "profile": "m3-8mm", "az_deg": 0.0,
             "alt_deg": 45.0},
        ]  # fmt: skip
        t0 = time.monotonic()
        bad = push("cfg-bad-0001", {"camera": cams})
        rollback_s = time.monotonic() - t0
        assert not bad.ok and "rolled back" in bad.message and "cam1" in bad.message, bad
        assert station.config.read_text() == original
        wait_for(lambda: station.capturing(1), 120, "the camera capturing again after the rollback")
        # a good change is applied (atomically: the old file kept as .prev)
        good = push("cfg-good-0001", {"capture": {"hold_frames": 30}})
        assert good.ok, good
        assert "hold_frames = 30" in station.config.read_text()
        assert station.config.with_name("station.toml.prev").read_text() == original
        wait_for(lambda: station.capturing(1), 120, "capturing with the new config")
        print(f"FIGURE config_rolled_back_after_s={rollback_s:.1f} good_config_applied=True")
    finally:
        sub.close()
        broker.stop()
