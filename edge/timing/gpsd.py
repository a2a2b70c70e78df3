"""The GPS receiver as gpsd reports it: fix mode, GPS time and PPS pulses, over gpsd's JSON.

Read with `gpsdclient` (maintained, pure Python). Its stock WATCH does not ask for PPS reports,
so the client here sends `?WATCH={"enable":true,"json":true,"pps":true}`. gpsd then streams
`VERSION`, `DEVICES`, `WATCH`, one `TPV` per fix (`mode`: 0 unknown, 1 no fix, 2 2-D, 3 3-D;
`time` ISO UTC; `ept` estimated time error, s) and one `PPS` per pulse (`real_sec`/`real_nsec`:
the GPS second the pulse marks; `clock_sec`/`clock_nsec`: the system clock at the pulse).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

WATCH_WITH_PPS = b'?WATCH={"enable":true,"json":true,"pps":true}\n'


@dataclass(frozen=True)
class GpsState:
    """What gpsd said during one short read. Times are POSIX seconds (UTC)."""

    connected: bool
    mode: int = 0
    time_unix_s: float | None = None
    ept_s: float | None = None
    pps_count: int = 0
    last_pps_offset_s: float | None = None  # GPS second minus system clock at the pulse
    device: str | None = None
    note: str | None = None

    @property
    def has_fix(self) -> bool:
        return self.mode >= 2


def _iso_to_unix(text) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def parse_gpsd_messages(messages: Iterable[dict]) -> GpsState:
    """Summarise gpsd JSON reports (dicts): latest TPV fix and time, PPS pulses seen."""
    mode, t, ept, device = 0, None, None, None
    pps_count, pps_offset = 0, None
    for msg in messages:
        cls = msg.get("class") if isinstance(msg, dict) else None
        if cls == "TPV":
            mode = int(msg.get("mode", 0) or 0)
            t = _iso_to_unix(msg.get("time")) if mode >= 2 else None
            ept = float(msg["ept"]) if isinstance(msg.get("ept"), int | float) else None
            device = msg.get("device", device)
        elif cls == "PPS":
            try:  # seconds and nanoseconds apart, so that the microsecond offset keeps its digits
                d_s = int(msg["real_sec"]) - int(msg["clock_sec"])
                d_ns = int(msg["real_nsec"]) - int(msg["clock_nsec"])
            except (KeyError, TypeError, ValueError):
                continue
            pps_count += 1
            pps_offset = d_s + d_ns * 1e-9
    return GpsState(True, mode, t, ept, pps_count, pps_offset, device)


def read_gpsd(
    host: str = "127.0.0.1", port: int = 2947, duration_s: float = 1.5, max_messages: int = 100
) -> GpsState:
    """Listen to gpsd for about `duration_s` seconds and summarise; never raises (a missing
    gpsd gives `connected=False` with a note)."""
    try:
        from gpsdclient import GPSDClient
    except ImportError:
        return GpsState(False, note="gpsdclient is not installed")

    class _Client(GPSDClient):
        def gpsd_lines(self):  # gpsdclient's own, with PPS reports switched on
            self.close()
            self.sock = socket.create_connection((self.host, int(self.port)), timeout=self.timeout)
            self.sock.send(WATCH_WITH_PPS)
            yield from self.sock.makefile("r", encoding="utf-8")

    messages: list[dict] = []
    deadline = time.monotonic() + duration_s
    try:
        with _Client(host=host, port=port, timeout=duration_s) as client:
            for msg in client.dict_stream(convert_datetime=False, filter=["TPV", "PPS"]):
                messages.append(msg)
                if len(messages) >= max_messages or time.monotonic() >= deadline:
                    break
    except (OSError, ValueError) as exc:  # refused, timed out, not gpsd, bad JSON
        if isinstance(exc, TimeoutError | socket.timeout) and messages:
            pass
        elif isinstance(exc, TimeoutError | socket.timeout):
            return GpsState(True, note=f"gpsd at {host}:{port} sent no fix or PPS in {duration_s} s")
        else:
            return GpsState(False, note=f"gpsd at {host}:{port} unavailable: {exc}")
    return parse_gpsd_messages(messages)
