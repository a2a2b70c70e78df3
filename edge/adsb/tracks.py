"""Per-aircraft tracks: time-stamped ADS-B positions kept for a bounded window, and interpolation.

Input: `PositionFix` records from `edge.adsb.decode.AdsbDecoder`. In memory the store keeps the
last `window_s` seconds (15 minutes by default) of every aircraft; with `db_path` every fix is
also written to SQLite (table `adsb_positions`, callsigns in `adsb_aircraft`) so that a night's
tracks can be reloaded (`TrackStore.load`) for events processed late or replayed.

Interpolation (`TrackStore.positions_ecef`): a local straight-line least-squares fit in ECEF of
the fixes within `fit_half_window_s` of each asked time (tricube weights). It smooths the
position noise, gives the velocity with the position, and bridges short dropouts; times with
fewer than two fixes within the window are NaN.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.adsb.decode import PositionFix
from edge.geometry.earth import geodetic_to_ecef

_SCHEMA = """
CREATE TABLE IF NOT EXISTS adsb_positions (
    icao24 TEXT NOT NULL, t_unix REAL NOT NULL, lat_deg REAL NOT NULL, lon_deg REAL NOT NULL,
    baro_alt_m REAL NOT NULL, height_m REAL NOT NULL, height_sigma_m REAL NOT NULL,
    horizontal_sigma_m REAL NOT NULL, source TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS adsb_positions_t ON adsb_positions (t_unix);
CREATE TABLE IF NOT EXISTS adsb_aircraft (icao24 TEXT PRIMARY KEY, callsign TEXT, t_last_unix REAL);
"""


@dataclass
class Interpolated:
    """Positions (N, 3) and velocities (N, 3) in ECEF m and m/s at the asked times (NaN where
    unknown), with the typical horizontal and vertical 1-sigma errors (m) of the fixes used."""

    ecef_m: np.ndarray
    vel_ecef_ms: np.ndarray
    horizontal_sigma_m: float
    height_sigma_m: float

    @property
    def valid(self) -> np.ndarray:
        return np.all(np.isfinite(self.ecef_m), axis=-1)


class TrackStore:
    """Time-stamped positions per aircraft (ICAO address), bounded in time, optionally on disk.

    Not thread-safe: a station that adds from the receiver's thread and matches from another
    guards the store with a lock."""

    def __init__(
        self, window_s: float = 900.0, db_path: str | Path | None = None, fit_half_window_s: float = 6.0
    ) -> None:
        if window_s <= 0 or fit_half_window_s <= 0:
            raise ValueError("window_s and fit_half_window_s must be positive")
        self.window_s = float(window_s)
        self.fit_half_window_s = float(fit_half_window_s)
        self._fixes: dict[str, deque[tuple]] = {}
        self.callsigns: dict[str, str] = {}
        self._latest = -np.inf
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple] = []
        if db_path is not None:
            self._db = sqlite3.connect(str(db_path))
            self._db.executescript(_SCHEMA)

    # ---- writing
    def add(self, fix: PositionFix) -> None:
        """Add one fix (fixes of one aircraft may arrive slightly out of order)."""
        xyz = geodetic_to_ecef(fix.lat_deg, fix.lon_deg, fix.height_m)
        row = (fix.t_unix, *xyz, fix.horizontal_sigma_m, fix.height_sigma_m)
        self._fixes.setdefault(fix.icao24, deque()).append(row)
        if fix.t_unix > self._latest:
            self._latest = fix.t_unix
            self.prune(fix.t_unix - self.window_s)
        if self._db is not None:
            self._pending.append(
                (
                    fix.icao24,
                    fix.t_unix,
                    fix.lat_deg,
                    fix.lon_deg,
                    fix.baro_alt_m,
                    fix.height_m,
                    fix.height_sigma_m,
                    fix.horizontal_sigma_m,
                    fix.source,
                )
            )
            if len(self._pending) >= 500:
                self.flush()

    def set_callsign(self, icao24: str, callsign: str | None, t_unix: float) -> None:
        if not callsign or self.callsigns.get(icao24) == callsign:
            return
        self.callsigns[icao24] = callsign
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO adsb_aircraft VALUES (?, ?, ?)", (icao24, callsign, t_unix)
            )

    def flush(self) -> None:
        """Write pending fixes to SQLite (no-op without a database)."""
        if self._db is None:
            return
        if self._pending:
            self._db.executemany("INSERT INTO adsb_positions VALUES (?,?,?,?,?,?,?,?,?)", self._pending)
            self._pending.clear()
        self._db.commit()

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None

    def prune(self, before_unix: float) -> None:
        """Drop in-memory fixes older than before_unix (the database keeps them)."""
        for icao in list(self._fixes):
            q = self._fixes[icao]
            while q and q[0][0] < before_unix:
                q.popleft()
            if not q:
                del self._fixes[icao]

    @classmethod
    def load(
        cls, db_path: str | Path, t0_unix: float, t1_unix: float, fit_half_window_s: float = 6.0
    ) -> TrackStore:
        """An in-memory store holding the database's fixes between t0 and t1 (for late or replayed events)."""
        store = cls(window_s=max(t1_unix - t0_unix, 1.0) + 3600.0, fit_half_window_s=fit_half_window_s)
        con = sqlite3.connect(str(db_path))
        try:
            rows = con.execute(
                "SELECT * FROM adsb_positions WHERE t_unix BETWEEN ? AND ? ORDER BY t_unix",
                (t0_unix, t1_unix),
            ).fetchall()
            for row in rows:
                store.add(PositionFix(*row))
            for icao, callsign, _t in con.execute("SELECT * FROM adsb_aircraft"):
                store.callsigns[icao] = callsign
        finally:
            con.close()
        return store

    # ---- reading
    def aircraft(self) -> list[str]:
        return sorted(self._fixes)

    def aircraft_between(self, t0_unix: float, t1_unix: float) -> list[str]:
        """Aircraft with at least one fix between t0 and t1."""
        out = []
        for icao, q in self._fixes.items():
            t = np.fromiter((r[0] for r in q), float, len(q))
            if np.any((t >= t0_unix) & (t <= t1_unix)):
                out.append(icao)
        return sorted(out)

    def fixes(self, icao24: str) -> np.ndarray:
        """(M, 6) array, sorted by time: t_unix, x, y, z (ECEF m), horizontal and height sigma (m)."""
        q = self._fixes.get(icao24)
        if not q:
            return np.empty((0, 6))
        a = np.array(q, float)
        return a[np.argsort(a[:, 0], kind="stable")]

    def positions_ecef(self, icao24: str, t_unix, grid_step_s: float = 0.2) -> Interpolated:
        """Smoothed ECEF positions and velocities of an aircraft at time(s) t_unix (see module doc).

        For many closely spaced times the fit is made every grid_step_s and interpolated linearly
        (an aircraft's path bends by millimetres over 0.2 s); NaN propagates to neighbouring times."""
        t = np.atleast_1d(np.asarray(t_unix, float))
        if t.size > 64 and np.all(np.isfinite(t)) and np.ptp(t) / t.size < grid_step_s / 2:
            # many closely spaced times (video frames): fit on a grid, interpolate linearly between
            grid = np.arange(t.min(), t.max() + grid_step_s, grid_step_s)
            g = self.positions_ecef(icao24, grid, grid_step_s)
            pos = np.stack([np.interp(t, grid, g.ecef_m[:, k]) for k in range(3)], -1)
            vel = np.stack([np.interp(t, grid, g.vel_ecef_ms[:, k]) for k in range(3)], -1)
            return Interpolated(pos, vel, g.horizontal_sigma_m, g.height_sigma_m)
        nan = np.full((t.size, 3), np.nan)
        f = self.fixes(icao24)
        h = self.fit_half_window_s
        if len(f) < 2:
            return Interpolated(nan, nan.copy(), np.nan, np.nan)
        f = f[(f[:, 0] >= t.min() - h) & (f[:, 0] <= t.max() + h)]
        if len(f) < 2:
            return Interpolated(nan, nan.copy(), np.nan, np.nan)
        origin = f[0, 1:4]
        y = f[:, 1:4] - origin
        dt = f[None, :, 0] - t[:, None]  # (N, M)
        u = np.clip(np.abs(dt) / h, 0.0, 1.0)
        w = (1.0 - u**3) ** 3
        s0, s1, s2 = w.sum(1), (w * dt).sum(1), (w * dt * dt).sum(1)
        sy, sty = w @ y, (w * dt) @ y
        det = s0 * s2 - s1 * s1
        ok = (np.count_nonzero(w > 0, axis=1) >= 2) & (det > 1e-9 * np.maximum(s0, 1e-12) ** 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            pos = (s2[:, None] * sy - s1[:, None] * sty) / det[:, None] + origin
            vel = (s0[:, None] * sty - s1[:, None] * sy) / det[:, None]
        pos[~ok] = np.nan
        vel[~ok] = np.nan
        return Interpolated(pos, vel, float(np.median(f[:, 4])), float(np.median(f[:, 5])))
