"""The simulator's ADS-B side: simulated aircraft broadcast what a real transponder would.

Input: `edge.sim.distractors.Aircraft` (straight, level flight; `geodetic(t)` gives geometric
height above the WGS84 ellipsoid). Each aircraft sends, with `edge.adsb.encode`:
- airborne positions (TC 11) about twice a second, alternating even/odd CPR, with the
  barometric altitude (geometric height minus the aircraft's GNSS-baro difference, which stands
  for the weather and the geoid; 25 ft steps), horizontal position noise and a position latency
  (the avionics report where the aircraft was a little earlier);
- airborne velocity (TC 19) about twice a second, with the GNSS-baro difference (some aircraft
  leave it out);
- identification (TC 4, the callsign) every ~5 s.
Transmission times jitter (Mode-S squitters are randomised) and a fraction of messages is lost
(in bursts and singly). `beast_chunks` turns messages into the Beast byte stream dump1090
would serve (12 MHz counter, signal byte) in chunks with arrival times, and `BeastServer`
serves bytes on a local TCP port (127.0.0.1 only) for the receiver tests.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import numpy as np

from edge.adsb import encode
from edge.adsb.beast import encode_frame, timestamp_12mhz_of
from edge.geometry.earth import ecef_to_geodetic, enu_basis
from edge.sim.distractors import Aircraft

FT_M = 0.3048
KT_MS = 1852.0 / 3600.0


@dataclass(frozen=True)
class BroadcastConfig:
    """Rates, losses and errors of the simulated ADS-B broadcasts."""

    position_rate_hz: float = 2.0
    velocity_rate_hz: float = 2.0
    identification_period_s: float = 5.0
    loss_fraction: float = 0.2  # single messages lost (collisions, weak signal)
    burst_loss_per_min: float = 0.5  # outages (antenna shadowing) per minute
    burst_loss_s: tuple[float, float] = (1.0, 6.0)
    position_noise_m: float = 15.0  # 1-sigma horizontal, per fix
    position_latency_s: tuple[float, float] = (0.0, 0.4)  # reported position is this old
    geo_minus_baro_sigma_m: float = 120.0  # GNSS height minus barometric altitude, per aircraft
    no_gnss_diff_fraction: float = 0.2  # aircraft that do not broadcast that difference
    type_code: int = 11


def aircraft_messages(
    ac: Aircraft,
    t0_unix: float,
    t1_unix: float,
    rng: np.random.Generator,
    config: BroadcastConfig | None = None,
) -> list[tuple[float, str]]:
    """(transmission UTC, hex message) of one aircraft between t0 and t1, time-ordered."""
    cfg = config or BroadcastConfig()
    latency = float(rng.uniform(*cfg.position_latency_s))
    geo_minus_baro_m = float(rng.normal(0.0, cfg.geo_minus_baro_sigma_m))
    send_diff = rng.random() >= cfg.no_gnss_diff_fraction

    def times(rate_hz: float) -> np.ndarray:
        period = 1.0 / rate_hz
        base = np.arange(t0_unix + rng.uniform(0, period), t1_unix, period)
        return base + rng.uniform(-0.1, 0.1, base.size) * period

    out: list[tuple[float, str]] = []
    tp = times(cfg.position_rate_hz)
    lat, lon, h = ac.geodetic(tp - latency)
    if tp.size:
        noise = rng.normal(0.0, cfg.position_noise_m, (tp.size, 2))
        r_m = 6_371_000.0 + h
        lat = lat + np.degrees(noise[:, 1] / r_m)
        lon = lon + np.degrees(noise[:, 0] / (r_m * np.cos(np.radians(lat))))
        baro_ft = (h - geo_minus_baro_m) / FT_M
        odd = np.arange(tp.size) % 2 == 1
        for t, la, lo, alt, o in zip(tp, lat, lon, baro_ft, odd, strict=True):
            out.append((float(t), encode.airborne_position(ac.icao24, la, lo, alt, bool(o), cfg.type_code)))
    ve_kt, vn_kt = ground_velocity_kt(ac)
    diff_ft = geo_minus_baro_m / FT_M if send_diff else None
    for t in times(cfg.velocity_rate_hz):
        out.append((float(t), encode.airborne_velocity(ac.icao24, ve_kt, vn_kt, 0.0, diff_ft)))
    for t in times(1.0 / cfg.identification_period_s):
        out.append((float(t), encode.identification(ac.icao24, ac.callsign)))
    out.sort()
    keep = rng.random(len(out)) >= cfg.loss_fraction
    n_bursts = rng.poisson(cfg.burst_loss_per_min * (t1_unix - t0_unix) / 60.0)
    ts = np.array([t for t, _ in out])
    for _ in range(n_bursts):
        b0 = rng.uniform(t0_unix, t1_unix)
        keep &= ~((ts >= b0) & (ts < b0 + rng.uniform(*cfg.burst_loss_s)))
    return [m for m, k in zip(out, keep, strict=True) if k]


def beast_chunks(
    messages: list[tuple[float, str]],
    counter_origin_unix: float,
    rng: np.random.Generator,
    chunk_s: float = 0.1,
    latency_s: tuple[float, float] = (0.005, 0.2),
) -> list[tuple[float, bytes]]:
    """Messages as dump1090's Beast feed: (arrival UTC, bytes) chunks of `chunk_s` of messages,
    each arriving after its last message plus a random latency. The 12 MHz counter counts from
    counter_origin_unix; signal bytes are random."""
    chunks: list[tuple[float, bytes]] = []
    msgs = sorted(messages)
    i = 0
    while i < len(msgs):
        t_end = msgs[i][0] + chunk_s
        j = i
        parts = []
        while j < len(msgs) and msgs[j][0] < t_end:
            t, hexmsg = msgs[j]
            parts.append(
                encode_frame(hexmsg, timestamp_12mhz_of(t - counter_origin_unix), int(rng.integers(20, 255)))
            )
            j += 1
        chunks.append((msgs[j - 1][0] + float(rng.uniform(*latency_s)), b"".join(parts)))
        i = j
    return chunks


class BeastServer:
    """A local Beast feed (127.0.0.1 only) that sends `data` to each client that connects.

    `pace_bytes_per_s` None sends at once; `drop_clients()` cuts every open connection (to test
    reconnection); `stop()` closes the port."""

    def __init__(self, data: bytes = b"", port: int = 0, pace_bytes_per_s: float | None = None) -> None:
        self.data = data
        self.pace = pace_bytes_per_s
        self._srv = socket.create_server(("127.0.0.1", port))
        self._srv.settimeout(0.2)
        self.port = self._srv.getsockname()[1]
        self._clients: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="sim-beast", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._srv.accept()
            except (TimeoutError, OSError):
                continue
            self._clients.append(conn)
            threading.Thread(target=self._send, args=(conn,), daemon=True).start()

    def _send(self, conn: socket.socket) -> None:
        try:
            step = 4096
            for i in range(0, len(self.data), step):
                if self._stop.is_set():
                    return
                conn.sendall(self.data[i : i + step])
                if self.pace:
                    time.sleep(step / self.pace)
        except OSError:
            return

    def drop_clients(self) -> None:
        for c in self._clients:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass
        self._clients.clear()

    def stop(self) -> None:
        self._stop.set()
        self.drop_clients()
        self._srv.close()
        self._thread.join(2.0)


def ground_velocity_kt(ac: Aircraft) -> tuple[float, float]:
    """(east, north) ground velocity in knots at the aircraft's reference point."""
    lat0, lon0, _ = ecef_to_geodetic(ac.r0_ecef_m)
    e_ax, n_ax, _ = enu_basis(lat0, lon0)
    v = np.asarray(ac.v_ecef_ms, float)
    return float(e_ax @ v) / KT_MS, float(n_ax @ v) / KT_MS
