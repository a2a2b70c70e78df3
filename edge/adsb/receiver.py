"""Read dump1090's Beast feed (TCP port 30005) in a background thread: frames with UTC times.

The receiver connects, parses the byte stream with `BeastParser`, stamps each frame with a UTC
time and hands `(t_unix, BeastFrame)` to a callback. It reconnects with exponential back-off
when the feed cannot be reached or drops, optionally records the raw bytes (`RawRecorder`,
replayable with `read_recording`), and keeps a status the station reports:
- `absent`: no feed has been reached since start (no receiver, dump1090 not running);
- `connected`: the feed is up (and, if `stale_s` is set, frames arrived within stale_s);
- `degraded`: the feed was up and was lost (reconnecting), or it is silent past `stale_s`;
  the reason says which.

Times. The Beast timestamp is the receiver's free-running 12 MHz sample counter. `CounterClock`
maps it to UTC: offset = the smallest (arrival UTC - counter) seen over the last `window_s`,
i.e. the counter's time plus the least network/buffer latency, so that message times keep the
counter's precision instead of the jitter of TCP arrival. A counter that jumps backwards
(receiver restart) resets the mapping. Frames with a zero counter get their arrival time.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from edge.adsb.beast import BeastFrame, BeastParser

log = logging.getLogger(__name__)

RECORDING_MAGIC = b"SKYTRAIL-BEAST-1\n"
_CHUNK_HEADER = struct.Struct("<dI")  # arrival UTC (POSIX s), byte count


@dataclass(frozen=True)
class AdsbStatus:
    """What the station reports about its ADS-B feed."""

    state: str  # 'absent' | 'connected' | 'degraded'
    reason: str | None
    endpoint: str
    frames: int
    connects: int
    last_frame_unix: float | None


class CounterClock:
    """Maps the Beast 12 MHz counter (seconds) to UTC using arrival times (see module doc)."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()  # (arrival, arrival - counter)
        self._last_counter = -1.0

    def to_unix(self, counter_s: float, arrival_unix: float) -> float:
        if counter_s <= 0.0:
            return arrival_unix
        if counter_s < self._last_counter - 1.0:
            self._samples.clear()
        self._last_counter = counter_s
        off = arrival_unix - counter_s
        while self._samples and self._samples[-1][1] >= off:
            self._samples.pop()  # monotone deque: running minimum of the offset
        self._samples.append((arrival_unix, off))
        while self._samples[0][0] < arrival_unix - self.window_s:
            self._samples.popleft()
        return counter_s + self._samples[0][1]


class RawRecorder:
    """Append-only recording of the raw feed: chunks of (arrival UTC, bytes)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._f = open(self.path, "ab")  # noqa: SIM115 (kept open for the recorder's life)
        if new:
            self._f.write(RECORDING_MAGIC)

    def write(self, t_unix: float, data: bytes) -> None:
        self._f.write(_CHUNK_HEADER.pack(t_unix, len(data)) + data)
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def read_recording(path: str | Path) -> Iterator[tuple[float, bytes]]:
    """The (arrival UTC, bytes) chunks of a recording; a truncated last chunk is dropped."""
    with open(path, "rb") as f:
        if f.read(len(RECORDING_MAGIC)) != RECORDING_MAGIC:
            raise ValueError(f"{path}: not a Skytrail Beast recording (bad header)")
        while True:
            head = f.read(_CHUNK_HEADER.size)
            if len(head) < _CHUNK_HEADER.size:
                return
            t, n = _CHUNK_HEADER.unpack(head)
            data = f.read(n)
            if len(data) < n:
                return
            yield t, data


def frames_from_chunks(
    chunks: Iterator[tuple[float, bytes]], clock: CounterClock | None = None
) -> Iterator[tuple[float, BeastFrame]]:
    """(UTC, frame) of every frame in a sequence of (arrival UTC, bytes) chunks (replay / simulation)."""
    parser = BeastParser()
    clock = clock or CounterClock()
    for t_arrival, data in chunks:
        for frame in parser.feed(data):
            yield clock.to_unix(frame.timestamp_s, t_arrival), frame


class BeastReceiver:
    """Background reader of a Beast TCP feed; `on_frame(t_unix, frame)` is called from its thread."""

    def __init__(
        self,
        on_frame: Callable[[float, BeastFrame], None],
        host: str = "127.0.0.1",
        port: int = 30005,
        record_path: str | Path | None = None,
        backoff_min_s: float = 1.0,
        backoff_max_s: float = 60.0,
        stale_s: float | None = None,
        connect_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.on_frame = on_frame
        self.host, self.port = host, int(port)
        self.record_path = record_path
        self.backoff_min_s, self.backoff_max_s = backoff_min_s, backoff_max_s
        self.stale_s = stale_s
        self.connect_timeout_s = connect_timeout_s
        self._now = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._state, self._reason = "absent", "not started"
        self._frames = 0
        self._connects = 0
        self._last_frame: float | None = None
        self._connected_at = 0.0
        self._sock: socket.socket | None = None
        self.counter_clock = CounterClock()

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> BeastReceiver:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._set("absent", f"connecting to {self.endpoint}")
            self._thread = threading.Thread(target=self._run, name="adsb-beast", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout_s)

    def status(self) -> AdsbStatus:
        with self._lock:
            state, reason = self._state, self._reason
            if (
                state == "connected"
                and self.stale_s is not None
                and (self._now() - (self._last_frame or self._connected_at)) > self.stale_s
            ):
                state, reason = "degraded", f"no frames from {self.endpoint} for over {self.stale_s:.0f} s"
            return AdsbStatus(state, reason, self.endpoint, self._frames, self._connects, self._last_frame)

    def _set(self, state: str, reason: str | None) -> None:
        with self._lock:
            if (state, reason) != (self._state, self._reason):
                log.info("adsb status=%s endpoint=%s reason=%s", state, self.endpoint, reason)
            self._state, self._reason = state, reason

    def _run(self) -> None:
        recorder = RawRecorder(self.record_path) if self.record_path else None
        backoff = self.backoff_min_s
        try:
            while not self._stop.is_set():
                try:
                    sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout_s)
                except OSError as exc:
                    why = f"cannot reach Beast feed at {self.endpoint}: {exc.strerror or exc}"
                    if self._connects == 0:
                        self._set("absent", why + f"; retrying in {backoff:.0f} s")
                    else:
                        self._set("degraded", f"feed lost ({why}); retrying in {backoff:.0f} s")
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2.0, self.backoff_max_s)
                    continue
                backoff = self.backoff_min_s
                with self._lock:
                    self._connects += 1
                    self._connected_at = self._now()
                self._set("connected", None)
                why = self._read(sock, recorder)
                if not self._stop.is_set():
                    self._set("degraded", f"feed lost: {why}; reconnecting")
        finally:
            if recorder is not None:
                recorder.close()

    def _read(self, sock: socket.socket, recorder: RawRecorder | None) -> str:
        parser = BeastParser()
        self._sock = sock
        sock.settimeout(1.0)
        try:
            while not self._stop.is_set():
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError as exc:
                    return f"read error {exc}"
                if not data:
                    return "connection closed by the server"
                now = self._now()
                if recorder is not None:
                    recorder.write(now, data)
                for frame in parser.feed(data):
                    t = self.counter_clock.to_unix(frame.timestamp_s, now)
                    with self._lock:
                        self._frames += 1
                        self._last_frame = now
                    try:
                        self.on_frame(t, frame)
                    except Exception:  # a consumer's bug must not kill the feed
                        log.exception("adsb on_frame callback failed endpoint=%s", self.endpoint)
            return "stopped"
        finally:
            self._sock = None
            sock.close()
