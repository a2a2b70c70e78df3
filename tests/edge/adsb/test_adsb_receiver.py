"""Beast TCP receiver: absent without a feed, reconnects after a drop, records and replays; counter clock."""

import socket
import threading
import time

import pytest

from edge.adsb import encode
from edge.adsb.beast import encode_frame, timestamp_12mhz_of
from edge.adsb.receiver import BeastReceiver, CounterClock, RawRecorder, frames_from_chunks, read_recording
from edge.sim.adsb import BeastServer

MSG = encode.identification("abc123", "SIM0001")


def _wait(cond, timeout_s=10.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_no_feed_is_reported_absent_without_crashing():
    rx = BeastReceiver(lambda t, f: None, port=_free_port(), backoff_min_s=0.05, backoff_max_s=0.1).start()
    try:
        assert _wait(lambda: "cannot reach" in (rx.status().reason or ""))
        st = rx.status()
        assert st.state == "absent" and st.frames == 0 and st.connects == 0
    finally:
        rx.stop()


def test_feed_drop_gives_degraded_then_connected_again(tmp_path):
    data = b"".join(encode_frame(MSG, timestamp_12mhz_of(1.0 + k), 50) for k in range(100))
    server = BeastServer(data)
    got = []
    lock = threading.Lock()

    def on_frame(t, frame):
        with lock:
            got.append((t, frame.hex))

    rx = BeastReceiver(
        on_frame, port=server.port, record_path=tmp_path / "feed.beast", backoff_min_s=0.05, backoff_max_s=0.2
    ).start()
    try:
        assert _wait(lambda: rx.status().frames == 100)
        assert rx.status().state == "connected" and rx.status().reason is None
        assert all(h == MSG for _, h in got)
        # sent in one burst: every frame is stamped no later than its arrival
        assert all(t <= time.time() for t, _ in got) and got[-1][0] > time.time() - 30.0
        port = server.port
        server.stop()  # the feed goes away: degraded, with the reason
        assert _wait(lambda: rx.status().state == "degraded")
        assert "feed lost" in rx.status().reason
        server = BeastServer(data, port=port)  # ... and comes back on the same port
        assert _wait(lambda: rx.status().state == "connected" and rx.status().frames == 200)
        n = rx.status().connects
        assert n >= 2  # (a connect can slip into the closing port's backlog: counted, then lost)
        server.drop_clients()  # dropped by the server side: reconnects by itself
        assert _wait(lambda: rx.status().connects == n + 1 and rx.status().state == "connected")
    finally:
        rx.stop()
        server.stop()
    chunks = list(read_recording(tmp_path / "feed.beast"))
    replayed = [f.hex for _, f in frames_from_chunks(iter(chunks))]
    assert len(replayed) >= 200 and set(replayed) == {MSG}


def test_silent_feed_turns_degraded_after_stale_s():
    server = BeastServer(b"")
    rx = BeastReceiver(lambda t, f: None, port=server.port, stale_s=0.3).start()
    try:
        assert _wait(lambda: rx.status().connects == 1)
        assert _wait(lambda: rx.status().state == "degraded")
        assert "no frames" in rx.status().reason
    finally:
        rx.stop()
        server.stop()


def test_recording_rejects_foreign_files_and_drops_a_torn_tail(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"hello")
    with pytest.raises(ValueError, match="not a Skytrail Beast recording"):
        list(read_recording(bad))
    path = tmp_path / "r.beast"
    rec = RawRecorder(path)
    rec.write(10.0, b"abc")
    rec.write(11.0, b"defg")
    rec.close()
    path.write_bytes(path.read_bytes()[:-2])
    assert list(read_recording(path)) == [(10.0, b"abc")]


def test_counter_clock_keeps_counter_precision_and_resets_on_restart():
    clock = CounterClock(window_s=60.0)
    # arrivals jitter by up to 0.3 s after the true times; the smallest latency is 0.01 s
    lat = [0.2, 0.01, 0.3, 0.15, 0.05]
    times = [clock.to_unix(c, 1000.0 + c + d) for c, d in zip([1.0, 2.0, 3.0, 4.0, 5.0], lat, strict=True)]
    assert times[-1] - times[-2] == pytest.approx(1.0)
    assert times[-1] == pytest.approx(1005.01)
    assert clock.to_unix(0.5, 2000.0) == pytest.approx(2000.0)  # counter restarted: fresh offset
    assert clock.to_unix(0.0, 3000.0) == 3000.0  # no counter: arrival time
