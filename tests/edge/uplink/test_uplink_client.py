"""The uplink against real brokers (embedded amqtt and Mosquitto): delivery that validates
against the wire contract, status and telemetry, broker restart without loss, the last will,
and commands answered with results."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import HERE, AmqttBroker, BrokerProcess, Subscriber, child_env, wait_until
from uplink_child import make_report

from edge.protocol import (
    Command,
    CommandResult,
    StationStatus,
    Telemetry,
    cmd_result_topic,
    cmd_topic,
    decode_message,
    encode_message,
    obs_topic,
    status_topic,
    telemetry_topic,
)
from edge.uplink import CommandFailed, Outbox, Uplink

STATION = "ams01"


def _uplink(b: BrokerProcess, tmp_path: Path, **kw: object) -> Uplink:
    outbox = Outbox(tmp_path / f"outbox-{b.name}.sqlite")
    return Uplink(
        STATION,
        b.host,
        b.port,
        outbox,
        reconnect_min_s=0.25,
        reconnect_max_s=1.0,
        software_version="test-1",
        **kw,
    )  # type: ignore[arg-type]


def _obs_ids(sub: Subscriber) -> list[str]:
    return [
        decode_message(obs_topic(STATION), p).observation_id  # type: ignore[attr-defined]
        for p in sub.on_topic(obs_topic(STATION))
    ]


def test_reports_status_and_telemetry_arrive_valid(broker: BrokerProcess, tmp_path: Path) -> None:
    sub = Subscriber(broker.host, broker.port, [f"skytrail/v1/{STATION}/#"], client_id=f"sub-{broker.name}")
    uplink = _uplink(broker, tmp_path)
    uplink.start()
    try:
        reports = [make_report(STATION, n) for n in range(10)]
        for r in reports:
            assert uplink.submit_report(r) is True
        assert uplink.publish_telemetry()
        assert uplink.wait_drained(30)
        assert wait_until(
            lambda: len(set(_obs_ids(sub))) == 10 and sub.on_topic(telemetry_topic(STATION)), 20
        )
        received = [decode_message(obs_topic(STATION), p) for p in sub.on_topic(obs_topic(STATION))]
        assert {r.observation_id for r in received} == {r.observation_id for r in reports}  # type: ignore[attr-defined]
        assert received[0] == reports[0]  # the same report, field for field, after the round trip
        telemetry = decode_message(telemetry_topic(STATION), sub.on_topic(telemetry_topic(STATION))[0])
        assert isinstance(telemetry, Telemetry) and 0 <= telemetry.cpu_percent <= 100
        assert telemetry.disk_free_bytes > 0
        status = decode_message(status_topic(STATION), sub.on_topic(status_topic(STATION))[0])
        assert isinstance(status, StationStatus) and status.state == "online"
    finally:
        uplink.stop()
        sub.close()
    # A clean stop leaves the retained status at offline (set by the station, not the will).
    late = Subscriber(broker.host, broker.port, [status_topic(STATION)], client_id=f"late-{broker.name}")
    assert wait_until(lambda: late.on_topic(status_topic(STATION)), 10)
    last = decode_message(status_topic(STATION), late.on_topic(status_topic(STATION))[-1])
    late.close()
    assert last.state == "offline" and last.message == "station stopped"  # type: ignore[attr-defined]


def _delivered_ids(broker: BrokerProcess, sub: Subscriber | None) -> list[str]:
    """Report ids that reached the broker: amqtt's ledger, or Mosquitto's persistent subscriber."""
    if isinstance(broker, AmqttBroker):
        if not broker.ledger.exists():
            return []
        out = []
        for line in broker.ledger.read_text().splitlines():
            entry = json.loads(line)
            if entry["topic"] == obs_topic(STATION):
                out.append(decode_message(entry["topic"], bytes.fromhex(entry["payload"])).observation_id)  # type: ignore[attr-defined]
        return out
    assert sub is not None
    return _obs_ids(sub)


def test_broker_restart_loses_nothing(broker: BrokerProcess, tmp_path: Path) -> None:
    """Stop the broker while reports are submitted, restart it: every report arrives."""
    sub = None
    if not isinstance(broker, AmqttBroker):  # Mosquitto keeps this subscriber's session across the restart
        sub = Subscriber(
            broker.host,
            broker.port,
            [obs_topic(STATION)],
            client_id=f"bridge-{broker.name}",
            clean_session=False,
        )
    uplink = _uplink(broker, tmp_path)
    uplink.start()
    ids = []
    try:
        assert uplink.wait_connected(20)
        for n in range(10):
            uplink.submit_report(r := make_report(STATION, n))
            ids.append(r.observation_id)
        broker.stop()  # may cut some of the first ten in flight
        assert wait_until(lambda: not uplink.connected, 20)
        for n in range(10, 30):  # submitted while the broker is down
            uplink.submit_report(r := make_report(STATION, n))
            ids.append(r.observation_id)
        assert uplink.outbox.depth() >= 20
        broker.start()
        for n in range(30, 40):
            uplink.submit_report(r := make_report(STATION, n))
            ids.append(r.observation_id)
        assert uplink.wait_drained(60), f"outbox still holds {uplink.outbox.depth()}"
        assert wait_until(lambda: set(_delivered_ids(broker, sub)) >= set(ids), 30)
    finally:
        uplink.stop()
        if sub is not None:
            sub.close()
    delivered = _delivered_ids(broker, sub)
    print(
        f"\nbroker restart ({broker.name}): submitted={len(ids)} delivered={len(set(delivered))} "
        f"duplicates={len(delivered) - len(set(delivered))} lost={len(set(ids) - set(delivered))} "
        f"reconnects={uplink.stats['connects'] - 1} resent={uplink.stats['resent']}"
    )
    assert set(ids) <= set(delivered)
    assert uplink.stats["connects"] >= 2


def test_last_will_marks_killed_station_offline(broker: BrokerProcess, tmp_path: Path) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "uplink_child.py"),
            "uplink",
            str(tmp_path / "o.sqlite"),
            STATION,
            broker.host,
            str(broker.port),
        ],
        stdout=subprocess.PIPE,
        env=child_env(),
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"READY"
        sub = Subscriber(
            broker.host, broker.port, [status_topic(STATION)], client_id=f"sub-will-{broker.name}"
        )
        assert wait_until(lambda: sub.on_topic(status_topic(STATION)), 10)
        assert (
            decode_message(status_topic(STATION), sub.on_topic(status_topic(STATION))[-1]).state == "online"
        )  # type: ignore[attr-defined]
        child.send_signal(signal.SIGKILL)
        child.wait(10)

        def offline() -> bool:
            msgs = sub.on_topic(status_topic(STATION))
            return bool(msgs) and decode_message(status_topic(STATION), msgs[-1]).state == "offline"  # type: ignore[attr-defined]

        assert wait_until(offline, 30)
        sub.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    late = Subscriber(broker.host, broker.port, [status_topic(STATION)], client_id=f"late-will-{broker.name}")
    assert wait_until(lambda: late.on_topic(status_topic(STATION)), 10)
    retained = decode_message(status_topic(STATION), late.on_topic(status_topic(STATION))[-1])
    late.close()
    assert retained.state == "offline" and "last will" in (retained.message or "")  # type: ignore[attr-defined]


def test_commands_are_answered(broker: BrokerProcess, tmp_path: Path) -> None:
    sub = Subscriber(
        broker.host, broker.port, [cmd_result_topic(STATION)], client_id=f"sub-cmd-{broker.name}"
    )
    uplink = _uplink(broker, tmp_path)
    calls: list[Command] = []

    def capture(command: Command) -> dict[str, object]:
        calls.append(command)
        return {"camera_id": command.args.get("camera_id"), "url": "http://station/test.png"}

    def restart(command: Command) -> None:
        raise CommandFailed("component 'warp-drive' does not exist")

    uplink.register_handler("capture_test_frame", capture)
    uplink.register_handler("restart", restart)
    uplink.start()
    now = datetime.now(UTC)

    def command(request_id: str, kind: str, **kw: object) -> Command:
        kw.setdefault("issued_utc", now)
        return Command(station_id=STATION, request_id=request_id, kind=kind, **kw)  # type: ignore[arg-type]

    try:
        assert uplink.wait_connected(20)
        assert wait_until(lambda: uplink.stats["connects"] >= 1, 5)
        publisher = sub.client
        sent = [
            command("req-capture-1", "capture_test_frame", args={"camera_id": "cam2"}),
            command("req-capture-1", "capture_test_frame", args={"camera_id": "cam2"}),  # redelivered
            command("req-restart-1", "restart", args={"component": "warp-drive"}),
            command("req-config-1", "config", args={"night": {"sun_alt_deg": -12}}),  # no handler
            command(
                "req-expired-1",
                "capture_test_frame",
                issued_utc=now - timedelta(hours=2),
                expires_utc=now - timedelta(hours=1),
            ),
        ]
        for c in sent:
            publisher.publish(cmd_topic(STATION), encode_message(c), qos=1)
        bad = json.dumps(
            {
                "schema_version": 1,
                "station_id": STATION,
                "request_id": "req-bad-1",
                "kind": "self_destruct",
                "issued_utc": "2024-01-01T00:00:00Z",
            }
        )
        publisher.publish(cmd_topic(STATION), bad.encode(), qos=1)

        def results() -> dict[str, CommandResult]:
            return {
                r.request_id: r
                for r in (
                    decode_message(cmd_result_topic(STATION), p)  # type: ignore[misc]
                    for p in sub.on_topic(cmd_result_topic(STATION))
                )
            }

        assert wait_until(lambda: len(results()) == 5, 30), results()
        got = results()
        assert got["req-capture-1"].ok and got["req-capture-1"].data == {
            "camera_id": "cam2",
            "url": "http://station/test.png",
        }
        assert len(calls) == 1  # the duplicate was not run twice
        assert not got["req-restart-1"].ok and "warp-drive" in got["req-restart-1"].message
        assert not got["req-config-1"].ok and "unknown command 'config'" in got["req-config-1"].message
        assert not got["req-expired-1"].ok and "expired" in got["req-expired-1"].message
        assert not got["req-bad-1"].ok and "kind" in got["req-bad-1"].message
        assert uplink.stats["commands_invalid"] == 1
    finally:
        uplink.stop()
        sub.close()
