"""Aircraft: straight level flight with navigation lights and anti-collision strobes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.geometry.earth import ecef_to_geodetic, enu_basis
from edge.photometry.extinction import extincted_mag
from edge.sim.distractors.common import (
    EXTINCTION_K_MAG,
    _electrons,
    _periodic_on_time,
    _project,
    _samples_needed,
    _sub_times,
)
from edge.sim.render import Canvas, SimCamera


@dataclass(frozen=True)
class Light:
    """One light on an aircraft: offset from its centre (right, forward, up; metres), brightness
    (above-atmosphere V magnitude at 10 km range while on), and blinking (period 0 = steady).

    A flashing light is on for `on_s` from `phase_s` every `period_s`; `double_gap_s` > 0 adds a
    second flash that starts that long after the first (the white double flash of many airliners).
    """

    name: str
    offset_m: tuple[float, float, float]
    mag_10km: float
    period_s: float = 0.0
    phase_s: float = 0.0
    on_s: float = 0.0
    double_gap_s: float = 0.0

    def on_time_s(self, t0, t1) -> np.ndarray:
        """Seconds the light is on within [t0, t1] (t1 - t0 for a steady light)."""
        t0, t1 = np.asarray(t0, float), np.asarray(t1, float)
        if self.period_s <= 0:
            return t1 - t0
        on = _periodic_on_time(t0, t1, self.period_s, self.phase_s, self.on_s)
        if self.double_gap_s > 0:
            on = on + _periodic_on_time(t0, t1, self.period_s, self.phase_s + self.double_gap_s, self.on_s)
        return on


@dataclass(frozen=True)
class Aircraft:
    """An aircraft flying straight and level (constant ENU velocity about `ref`, the site it was placed
    over), with navigation lights and anti-collision strobes.

    `position_ecef(t)` and `geodetic(t)` give where it is (for ADS-B encoding); altitude is geometric
    height above the WGS84 ellipsoid in metres (ADS-B reports barometric feet: convert there).
    """

    id: str
    icao24: str  # 24-bit ICAO address, 6 lowercase hex digits
    callsign: str
    r0_ecef_m: np.ndarray  # centre at t0_unix
    v_ecef_ms: np.ndarray
    t0_unix: float
    lights: tuple[Light, ...]

    def position_ecef(self, t_unix) -> np.ndarray:
        """ECEF position(s) of the aircraft's centre in metres, shape (..., 3), at POSIX time(s) t_unix."""
        dt = np.asarray(t_unix, float)[..., None] - self.t0_unix
        return np.asarray(self.r0_ecef_m, float) + dt * np.asarray(self.v_ecef_ms, float)

    def geodetic(self, t_unix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lat_deg, lon_deg, height_m) of the aircraft's centre at POSIX time(s) t_unix (WGS84)."""
        return ecef_to_geodetic(self.position_ecef(t_unix))

    @property
    def axes_ecef(self) -> np.ndarray:
        """Rows: the aircraft's right, forward and up unit vectors in ECEF (at t0)."""
        lat, lon, _ = ecef_to_geodetic(self.r0_ecef_m)
        up = enu_basis(lat, lon)[2]
        fwd = np.asarray(self.v_ecef_ms, float) - (np.asarray(self.v_ecef_ms, float) @ up) * up
        fwd /= np.linalg.norm(fwd)
        return np.stack([np.cross(fwd, up), fwd, up])

    @property
    def ground_speed_ms(self) -> float:
        return float(np.linalg.norm(self.v_ecef_ms))

    @property
    def heading_deg(self) -> float:
        """Track angle from north through east, degrees."""
        lat, lon, _ = ecef_to_geodetic(self.r0_ecef_m)
        e, n, _u = enu_basis(lat, lon) @ np.asarray(self.v_ecef_ms, float)
        return float(np.degrees(np.arctan2(e, n)) % 360.0)

    def light_positions_ecef(self, t_unix) -> np.ndarray:
        """ECEF positions, shape (..., lights, 3), of every light at time(s) t_unix."""
        offsets = np.array([lt.offset_m for lt in self.lights], float) @ self.axes_ecef  # (L, 3)
        return self.position_ecef(t_unix)[..., None, :] + offsets


def standard_lights(rng: np.random.Generator, wingspan_m: float = 30.0) -> tuple[Light, ...]:
    """Navigation lights (red left, green right wingtip, steady), white wingtip strobes flashing about
    once a second for ~0.1 s (sometimes as a double flash) and a red anti-collision beacon."""
    half = wingspan_m / 2.0
    nav = float(rng.uniform(2.0, 4.0))
    period = float(rng.uniform(0.9, 1.3))
    phase = float(rng.uniform(0.0, period))
    strobe_mag = float(rng.uniform(-1.0, 1.0))
    gap = 0.15 if rng.random() < 0.5 else 0.0
    beacon_period = float(rng.uniform(0.9, 1.5))
    return (
        Light("nav-red", (-half, 0.0, 0.0), nav),
        Light("nav-green", (half, 0.0, 0.0), nav),
        Light("strobe-left", (-half, 0.0, 0.0), strobe_mag, period, phase, 0.1, gap),
        Light("strobe-right", (half, 0.0, 0.0), strobe_mag, period, phase, 0.1, gap),
        Light(
            "beacon",
            (0.0, 5.0, -2.0),
            strobe_mag + 1.0,
            beacon_period,
            float(rng.uniform(0, beacon_period)),
            0.1,
        ),
    )


class AircraftLayer:
    """Aircraft, shared by all cameras: steady navigation lights and blinking strobes, smeared."""

    name = "aircraft"

    def __init__(self, aircraft: list[Aircraft], k_mag: float = EXTINCTION_K_MAG) -> None:
        self.k_mag = k_mag
        self.aircraft = list(aircraft)
        self._draws: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._truth: list[list[dict | None]] = []
        self._sigma_px = 1.0

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None:
        t_mid = np.asarray(t_mid_unix, float)
        self._sigma_px = camera.psf_sigma_px
        self._draws, self._truth = [], []
        for ac in self.aircraft:
            xa, ya, *_ = _project(camera, ac.position_ecef(t_mid - exposure_s / 2))
            xb, yb, *_ = _project(camera, ac.position_ecef(t_mid + exposure_s / 2))
            n = _samples_needed(xa, ya, xb, yb)
            ts = _sub_times(t_mid, exposure_s, n)  # (F, n)
            dt = exposure_s / n
            x, y, alt, _az, rng_m = _project(camera, ac.light_positions_ecef(ts))  # (F, n, L)
            e = np.zeros_like(x)
            for j, lt in enumerate(ac.lights):
                on = lt.on_time_s(ts - dt / 2, ts + dt / 2)
                mag = lt.mag_10km + 5.0 * np.log10(rng_m[..., j] / 1.0e4)
                e[..., j] = _electrons(camera, mag, 1.0, alt[..., j], self.k_mag) * on
            nf = len(t_mid)
            self._draws.append((x.reshape(nf, -1), y.reshape(nf, -1), e.reshape(nf, -1)))
            xm, ym, altm, azm, rm = _project(camera, ac.position_ecef(t_mid))
            lat, lon, h = ac.geodetic(t_mid)
            steady = [lt for lt in ac.lights if lt.period_s <= 0]
            nav_mag = min(lt.mag_10km for lt in steady) if steady else np.inf
            mag_nav = extincted_mag(nav_mag + 5.0 * np.log10(rm / 1.0e4), altm, self.k_mag)
            inside = camera.model.in_frame(xm, ym) & (altm > 0)
            e_frame = e.sum(axis=1)  # (F, L)
            steady_e = sum(e_frame[:, j] for j, lt in enumerate(ac.lights) if lt.period_s <= 0)
            strobe_on = (e_frame.sum(axis=1) - steady_e) > 0
            truth: list[dict | None] = []
            for k in range(len(t_mid)):
                if not inside[k]:
                    truth.append(None)
                    continue
                truth.append({
                    "kind": "aircraft", "id": ac.id, "icao24": ac.icao24, "callsign": ac.callsign,
                    "x_px": float(xm[k]), "y_px": float(ym[k]), "mag": float(mag_nav[k]),
                    "strobe_on": bool(strobe_on[k]), "alt_deg": float(altm[k]), "az_deg": float(azm[k]),
                    "range_m": float(rm[k]), "lat_deg": float(lat[k]), "lon_deg": float(lon[k]),
                    "height_m": float(h[k]),
                })  # fmt: skip
            self._truth.append(truth)

    def describe(self) -> dict:
        """JSON-safe description of every aircraft (identity, track, lights), for the truth file."""
        items = []
        for a in self.aircraft:
            lat, lon, h = (float(v) for v in a.geodetic(a.t0_unix))
            items.append({
                "id": a.id, "icao24": a.icao24, "callsign": a.callsign, "t0_unix": a.t0_unix,
                "r0_ecef_m": [float(v) for v in a.r0_ecef_m], "v_ecef_ms": [float(v) for v in a.v_ecef_ms],
                "lat_deg": lat, "lon_deg": lon, "height_m": h, "heading_deg": a.heading_deg,
                "ground_speed_ms": a.ground_speed_ms, "lights": [vars(lt) | {"offset_m": list(lt.offset_m)}
                                                                 for lt in a.lights],
            })  # fmt: skip
        return {"layer": self.name, "aircraft": items}

    def draw(self, k: int, canvas: Canvas, rng: np.random.Generator) -> list[dict]:
        out = []
        for (x, y, e), truth in zip(self._draws, self._truth, strict=True):
            canvas.add_points(x[k], y[k], e[k], self._sigma_px)
            if truth[k] is not None:
                out.append(truth[k])
        return out
