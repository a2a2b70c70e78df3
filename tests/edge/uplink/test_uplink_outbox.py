"""The SQLite outbox: idempotent puts, oldest-first order, ack-only removal, budget policy,
schema version, and survival of `kill -9` mid-write (then drained through a real broker)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HERE, AmqttBroker, Subscriber, child_env, wait_until
from uplink_child import make_report

from edge.protocol import ObservationReport, decode_message, encode_message, obs_topic
from edge.uplink import OUTBOX_SCHEMA_VERSION, Outbox, OutboxError, Uplink


def _put_report(outbox: Outbox, n: int) -> bool:
    report = make_report("ams01", n)
    return outbox.put(obs_topic("ams01"), encode_message(report), 1, False, "report", report.observation_id)


def test_put_is_idempotent_and_oldest_first(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite") as outbox:
        assert [_put_report(outbox, n) for n in (3, 1, 2)] == [True, True, True]
        assert _put_report(outbox, 1) is False  # same observation id: stored once
        assert outbox.depth() == 3
        keys = [m.key for m in outbox.pending(10)]
        assert keys == [make_report("ams01", n).observation_id for n in (3, 1, 2)]  # order of arrival
        assert [m.key for m in outbox.pending(2)] == keys[:2]


def test_message_leaves_only_on_ack_and_comes_back_after_restart(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    with Outbox(path) as outbox:
        for n in range(3):
            _put_report(outbox, n)
        first = outbox.pending(1)[0]
        outbox.mark_sent(first.key, 17)
        assert first.key not in [m.key for m in outbox.pending(10)]  # in flight, not offered twice
        assert outbox.depth() == 3  # sent is not delivered
        assert outbox.ack(first.key) is True
        assert outbox.ack(first.key) is False
        second = outbox.pending(1)[0]
        outbox.mark_sent(second.key, 18)
    with Outbox(path) as outbox:  # a new process: paho's in-flight memory is gone
        assert outbox.depth() == 2
        assert outbox.reset_sent() == 1
        rows = outbox.pending(10)
        assert [m.key for m in rows] == [second.key, make_report("ams01", 2).observation_id]
        assert rows[0].attempts == 1 and rows[0].mid is None
        assert isinstance(decode_message(rows[0].topic, rows[0].payload), ObservationReport)


def test_budget_drops_telemetry_never_reports(tmp_path: Path) -> None:
    report_size = len(encode_message(make_report("ams01", 0)))
    budget = 3 * report_size
    with Outbox(tmp_path / "o.sqlite", max_bytes=budget, max_telemetry=5, min_free_disk_bytes=0) as outbox:
        topic = "skytrail/v1/ams01/telemetry"
        for i in range(8):
            assert outbox.put(topic, b"x" * 100, 0, False, "telemetry", f"t{i}")
        assert outbox.depth("telemetry") == 5  # count cap: oldest evicted
        assert [m.key for m in outbox.all()] == [f"t{i}" for i in range(3, 8)]
        for n in range(5):  # 5 reports into a budget of 3: telemetry goes first, reports stay
            assert _put_report(outbox, n)
        assert outbox.depth("report") == 5 and outbox.depth("telemetry") == 0
        assert outbox.over_budget_puts >= 2
        assert outbox.put(topic, b"x" * 100, 0, False, "telemetry", "late") is False  # no room: refused
        assert outbox.dropped_telemetry == 3 + 5 + 1
    with Outbox(tmp_path / "o2.sqlite", min_free_disk_bytes=2**62) as outbox:  # "disk full" for telemetry
        assert outbox.put("skytrail/v1/ams01/telemetry", b"{}", 0, False, "telemetry", "t") is False
        assert _put_report(outbox, 0) is True


def test_schema_version_and_foreign_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    Outbox(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == OUTBOX_SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute("PRAGMA user_version=99")
    db.commit()
    db.close()
    with pytest.raises(OutboxError, match="schema version 99"):
        Outbox(path)
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(OutboxError, match="other tables"):
        Outbox(other)
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(OutboxError, match="not a usable outbox"):
        Outbox(tmp_path / "junk.sqlite")
    with Outbox(tmp_path / "ok.sqlite") as outbox, pytest.raises(OutboxError, match="key"):
        outbox.put("t", b"", 1, False, "report", "")


def test_kill_9_mid_write_then_drain(tmp_path: Path, amqtt_broker: AmqttBroker) -> None:
    """A child writes reports through submit_report; SIGKILL mid-way; restart and drain."""
    path = tmp_path / "station" / "outbox.sqlite"
    child = subprocess.Popen(
        [sys.executable, str(HERE / "uplink_child.py"), "write", str(path), "ams01", "400"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
    )
    assert child.stdout is not None
    confirmed: list[str] = []
    for line in child.stdout:
        confirmed.append(line.decode().split()[1])
        if len(confirmed) == 40:
            child.kill()  # SIGKILL while it is writing the next ones
            break
    child.wait(30)
    assert child.returncode == -9, child.stderr.read().decode() if child.stderr else ""

    with Outbox(path) as outbox:
        assert outbox.integrity_ok()
        in_outbox = [m.key for m in outbox.all()]
        assert set(confirmed) <= set(in_outbox)  # every put that returned is on disk
        assert len(in_outbox) in (len(confirmed), len(confirmed) + 1)  # at most one committed, unprinted

        sub = Subscriber(amqtt_broker.host, amqtt_broker.port, [obs_topic("ams01")], client_id="sub-kill9")
        uplink = Uplink(
            "ams01", amqtt_broker.host, amqtt_broker.port, outbox, reconnect_min_s=0.25, reconnect_max_s=1.0
        )
        uplink.start()
        try:
            assert uplink.wait_drained(60), f"outbox still holds {outbox.depth()} messages"
            assert wait_until(
                lambda: (
                    {
                        decode_message(obs_topic("ams01"), p).observation_id  # type: ignore[attr-defined]
                        for p in sub.on_topic(obs_topic("ams01"))
                    }
                    >= set(in_outbox)
                ),
                30,
            )
        finally:
            uplink.stop()
            sub.close()
        received = [
            decode_message(obs_topic("ams01"), p).observation_id  # type: ignore[attr-defined]
            for p in sub.on_topic(obs_topic("ams01"))
        ]
        print(
            f"\nkill -9 mid-write: submitted(confirmed)={len(confirmed)} in_outbox={len(in_outbox)} "
            f"delivered={len(set(received))} duplicates={len(received) - len(set(received))} "
            f"lost={len(set(confirmed) - set(received))}"
        )
        assert set(confirmed) <= set(received)
