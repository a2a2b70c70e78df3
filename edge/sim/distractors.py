"""Simulated distractors: what a meteor camera sees that is not a meteor.

Satellites, aircraft, clouds, insects on the lens, the Moon and its scattered light, and hot
pixels. Each (but hot pixels, which live in the sensor) is a `Layer` of `edge.sim.render`:
`prepare` is called once per camera with every frame's true mid-exposure time, `draw` adds one
frame's light to a `Canvas` and returns that frame's truth (a list of dicts, one per thing seen).

Objects that exist in the world (satellites, aircraft, clouds) are defined once in Earth-fixed
coordinates and projected by every camera from its own place, so two stations see one satellite
with the parallax of its height. Insects belong to one camera's lens.

Photometry: magnitudes are V; above-atmosphere magnitudes are dimmed by k = 0.25 mag per airmass
(Kasten & Young 1989 airmass) and turned into photo-electrons with `CameraProfile.electrons`.
Moving point sources are smeared over the exposure: their position is sampled at N sub-times,
consecutive samples under 0.5 px apart, each with 1/N of the light.
Moonlight on the sky follows Krisciunas & Schaefer (1991, PASP 103, 1033).

The factory `build_distractor_layers` turns a `DistractorsConfig` into layers for a clip and
places satellites and aircraft so that each crosses the field of at least one camera.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import ndimage

from edge.geometry.earth import ecef_to_geodetic, enu_basis, enu_to_altaz
from edge.photometry.extinction import DEFAULT_K_V_MAG, airmass, extincted_mag
from edge.sim.render import Canvas, SimCamera, add_gaussians

EXTINCTION_K_MAG = DEFAULT_K_V_MAG
GM_EARTH_M3_S2 = 3.986004418e14
EARTH_RADIUS_M = 6_371_008.8
ARCSEC2_PER_SR = (180.0 / math.pi * 3600.0) ** 2
LUX_OF_V0 = 2.54e-6  # illuminance of a V = 0 source above the atmosphere, lux
CD_M2_OF_V0_ARCSEC2 = 1.08e5  # luminance of a 0 V mag/arcsec^2 surface, cd/m^2 (lux/sr)
MOON_RADIUS_DEG = 0.259  # mean apparent angular radius
MAX_STEP_PX = 0.45  # largest spacing of the sub-exposure samples of a moving point source
_MAX_SAMPLES = 4000


# --------------------------------------------------------------------------------------------
# Shared helpers


def _electrons(camera: SimCamera, mag, duration_s: float, alt_deg, k_mag: float) -> np.ndarray:
    """Photo-electrons over duration_s of a source of above-atmosphere V `mag`; zero below the horizon."""
    m = extincted_mag(mag, alt_deg, k_mag)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.asarray(camera.profile.electrons(m, duration_s), float)
    return np.where(np.isfinite(e) & (np.asarray(alt_deg) > 0.0), e, 0.0)


def _sub_times(t_mid_unix: np.ndarray, exposure_s: float, n: int) -> np.ndarray:
    """(frames, n) sample times, centred in n equal slices of each exposure."""
    frac = (np.arange(n) + 0.5) / n - 0.5
    return np.asarray(t_mid_unix, float)[:, None] + exposure_s * frac[None, :]


def _samples_needed(x0, y0, x1, y1, max_step_px: float = MAX_STEP_PX) -> int:
    """Sub-samples per exposure so that consecutive positions are under max_step_px apart."""
    d = np.hypot(np.asarray(x1) - x0, np.asarray(y1) - y0)
    d = d[np.isfinite(d)]
    longest = float(d.max()) if d.size else 0.0
    return int(min(max(2, math.ceil(longest / max_step_px) + 1), _MAX_SAMPLES))


def _seed_for(seed: int, *names: str) -> np.random.Generator:
    """A generator that depends only on the layer seed and the given names (stable across runs)."""
    return np.random.default_rng([seed, *(zlib.crc32(n.encode()) for n in names)])


def _project(camera: SimCamera, ecef_m: np.ndarray):
    """(x_px, y_px, alt_deg, az_deg, range_m) of ECEF point(s) seen by a camera; NaN pixels off-camera."""
    enu = camera.site.ecef_to_enu(ecef_m)
    x, y = camera.model.enu_to_pixel(enu)
    alt, az = enu_to_altaz(enu)
    return x, y, alt, az, np.linalg.norm(enu, axis=-1)


def _periodic_on_time(t0, t1, period_s: float, phase_s: float, on_s: float) -> np.ndarray:
    """Seconds within [t0, t1] during which a light with the given period, phase and flash length is on."""

    def cumulative(t):
        u = np.asarray(t, float) - phase_s
        n = np.floor(u / period_s)
        return n * on_s + np.minimum(u - n * period_s, on_s)

    return cumulative(t1) - cumulative(t0)


class _CoarseGrid:
    """A camera's pixel directions on a coarse grid, for smooth per-pixel fields (sky, cloud).

    Fields computed on the grid are brought to full resolution by separable linear interpolation.
    """

    def __init__(self, camera: SimCamera, step_px: int) -> None:
        model = camera.model
        h, w = camera.shape
        self.shape = (h, w)
        self.xc = np.unique(np.r_[np.arange(0, w, step_px), w - 1]).astype(float)
        self.yc = np.unique(np.r_[np.arange(0, h, step_px), h - 1]).astype(float)
        x, y = np.meshgrid(self.xc, self.yc)
        self.enu = model.pixel_to_enu(x, y)
        self.alt_deg, self.az_deg = enu_to_altaz(self.enu)
        dx = model.pixel_to_enu(x + 0.5, y) - model.pixel_to_enu(x - 0.5, y)
        dy = model.pixel_to_enu(x, y + 0.5) - model.pixel_to_enu(x, y - 0.5)
        self.solid_angle_arcsec2 = np.linalg.norm(np.cross(dx, dy), axis=-1) * ARCSEC2_PER_SR
        self._rows = self._weights(np.arange(h, dtype=float), self.yc)
        self._cols = self._weights(np.arange(w, dtype=float), self.xc)

    @staticmethod
    def _weights(full: np.ndarray, coarse: np.ndarray):
        i = np.clip(np.searchsorted(coarse, full, side="right") - 1, 0, len(coarse) - 2)
        f = (full - coarse[i]) / (coarse[i + 1] - coarse[i])
        return i, f.astype(np.float32)

    def upsample(self, field_c: np.ndarray) -> np.ndarray:
        """Full-resolution float32 image of a field given on the coarse grid."""
        c = np.asarray(field_c, np.float32)
        (ri, rf), (ci, cf) = self._rows, self._cols
        rows = c[ri] * (1.0 - rf[:, None]) + c[ri + 1] * rf[:, None]
        return rows[:, ci] * (1.0 - cf[None, :]) + rows[:, ci + 1] * cf[None, :]


def _coarse_step(camera: SimCamera) -> int:
    return max(2, int(max(camera.shape) // 160))


# --------------------------------------------------------------------------------------------
# Satellites


@dataclass(frozen=True)
class Satellite:
    """A satellite on a straight Earth-fixed line (good for a few seconds), possibly glinting.

    Brightness: `mag_1000km` is its above-atmosphere V magnitude at 1,000 km range (scaled by
    the inverse square of the range, phase effects ignored); a glint brightens it by `flare_dmag`
    with a Gaussian time profile of full width `flare_fwhm_s` centred on `flare_t_unix`.
    """

    id: str
    r0_ecef_m: np.ndarray  # position at t0_unix
    v_ecef_ms: np.ndarray
    t0_unix: float
    mag_1000km: float
    flare_t_unix: float | None = None
    flare_dmag: float = 0.0
    flare_fwhm_s: float = 0.5
    train_id: str | None = None

    def position_ecef(self, t_unix) -> np.ndarray:
        """ECEF position(s) in metres, shape (..., 3), at POSIX time(s) t_unix."""
        dt = np.asarray(t_unix, float)[..., None] - self.t0_unix
        return np.asarray(self.r0_ecef_m, float) + dt * np.asarray(self.v_ecef_ms, float)

    def mag_at(self, t_unix, range_m) -> np.ndarray:
        """Above-atmosphere V magnitude at time(s) t_unix seen from range(s) range_m."""
        m = self.mag_1000km + 5.0 * np.log10(np.asarray(range_m, float) / 1.0e6)
        if self.flare_t_unix is not None and self.flare_dmag > 0:
            s = self.flare_fwhm_s / 2.3548
            dt = np.asarray(t_unix, float) - self.flare_t_unix
            m = m - self.flare_dmag * np.exp(-0.5 * (dt / s) ** 2)
        return m


@dataclass
class _Track:
    """One object's smeared image in one camera: per frame, per sub-sample pixels and electrons."""

    x: np.ndarray  # (frames, n)
    y: np.ndarray
    e: np.ndarray
    truth: list[dict | None]


class SatelliteLayer:
    """Satellites (single or in trains), shared by all cameras, smeared over each exposure."""

    name = "satellites"

    def __init__(self, satellites: list[Satellite], k_mag: float = EXTINCTION_K_MAG) -> None:
        self.k_mag = k_mag
        self.satellites = list(satellites)
        self._tracks: list[_Track] = []
        self._sigma_px = 1.0

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None:
        t_mid = np.asarray(t_mid_unix, float)
        self._sigma_px = camera.psf_sigma_px
        self._tracks = []
        for sat in self.satellites:
            xa, ya, *_ = _project(camera, sat.position_ecef(t_mid - exposure_s / 2))
            xb, yb, *_ = _project(camera, sat.position_ecef(t_mid + exposure_s / 2))
            n = _samples_needed(xa, ya, xb, yb)
            ts = _sub_times(t_mid, exposure_s, n)
            x, y, alt, _az, rng_m = _project(camera, sat.position_ecef(ts))
            e = _electrons(camera, sat.mag_at(ts, rng_m), exposure_s / n, alt, self.k_mag)
            xm, ym, altm, azm, rm = _project(camera, sat.position_ecef(t_mid))
            magm = extincted_mag(sat.mag_at(t_mid, rm), altm, self.k_mag)
            inside = camera.model.in_frame(xm, ym) & (altm > 0)
            truth: list[dict | None] = []
            for k in range(len(t_mid)):
                if not inside[k]:
                    truth.append(None)
                    continue
                truth.append({
                    "kind": "satellite", "id": sat.id, "train_id": sat.train_id,
                    "x_px": float(xm[k]), "y_px": float(ym[k]), "mag": float(magm[k]),
                    "alt_deg": float(altm[k]), "az_deg": float(azm[k]), "range_m": float(rm[k]),
                    "x_start_px": float(x[k, 0]), "y_start_px": float(y[k, 0]),
                    "x_end_px": float(x[k, -1]), "y_end_px": float(y[k, -1]),
                    "flaring": bool(sat.flare_t_unix is not None and sat.flare_dmag > 0
                                    and abs(t_mid[k] - sat.flare_t_unix) < sat.flare_fwhm_s),
                })  # fmt: skip
            self._tracks.append(_Track(x, y, e, truth))

    def describe(self) -> dict:
        """JSON-safe description of every satellite, for the truth file."""
        return {"layer": self.name, "satellites": [{
            "id": s.id, "train_id": s.train_id, "t0_unix": s.t0_unix,
            "r0_ecef_m": [float(v) for v in s.r0_ecef_m], "v_ecef_ms": [float(v) for v in s.v_ecef_ms],
            "height_m": float(ecef_to_geodetic(s.r0_ecef_m)[2]), "mag_1000km": s.mag_1000km,
            "flare_t_unix": s.flare_t_unix, "flare_dmag": s.flare_dmag, "flare_fwhm_s": s.flare_fwhm_s,
        } for s in self.satellites]}  # fmt: skip

    def draw(self, k: int, canvas: Canvas, rng: np.random.Generator) -> list[dict]:
        out = []
        for tr in self._tracks:
            canvas.add_points(tr.x[k], tr.y[k], tr.e[k], self._sigma_px)
            if tr.truth[k] is not None:
                out.append(tr.truth[k])
        return out


# --------------------------------------------------------------------------------------------
# Aircraft


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
        Light("beacon", (0.0, 5.0, -2.0), strobe_mag + 1.0, beacon_period,
              float(rng.uniform(0, beacon_period)), 0.1),
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


# --------------------------------------------------------------------------------------------
# Moon


def moon_vmag(phase_angle_deg) -> np.ndarray:
    """Above-atmosphere V magnitude of the Moon at mean distance (K&S 1991 eq. 9, Allen's fit)."""
    a = np.abs(np.asarray(phase_angle_deg, float))
    return -12.73 + 0.026 * a + 4e-9 * a**4


def ks_moon_sky_nl(phase_angle_deg, rho_deg, moon_zd_deg, sky_zd_deg, k_mag: float = EXTINCTION_K_MAG):
    """Krisciunas & Schaefer (1991) moonlight sky brightness in nanoLamberts (V).

    phase_angle_deg: Sun-Moon-observer angle (0 at full); rho_deg: angle between the sky point and the
    Moon; moon_zd_deg, sky_zd_deg: zenith distances. Eqs. 15-21: Rayleigh plus Mie scattering
    f(rho), the Moon's illuminance I*, their airmass
    X(Z) = (1 - 0.96 sin^2 Z)^-1/2. Zero where the Moon or the sky point is below the horizon.
    Inside 10 deg K&S replace the Mie term 10^(6.15 - rho/40) by 6.2e7/rho^2, which is 22 % lower
    at 10 deg; the larger of the two is used here so that the sky has no ring at 10 deg (the
    difference is confined to 9-10 deg from the Moon).
    """
    alpha = np.abs(np.asarray(phase_angle_deg, float))
    rho = np.maximum(np.asarray(rho_deg, float), MOON_RADIUS_DEG)
    zm = np.asarray(moon_zd_deg, float)
    z = np.asarray(sky_zd_deg, float)
    istar = 10.0 ** (-0.4 * (3.84 + 0.026 * alpha + 4e-9 * alpha**4))
    mie = 10.0 ** (6.15 - rho / 40.0)
    mie = np.where(rho >= 10.0, mie, np.maximum(mie, 6.2e7 / rho**2))
    f_rho = 10.0**5.36 * (1.06 + np.cos(np.radians(rho)) ** 2) + mie

    def x_ks(zd):
        return 1.0 / np.sqrt(1.0 - 0.96 * np.sin(np.radians(np.clip(zd, 0.0, 90.0))) ** 2)

    b = f_rho * istar * 10.0 ** (-0.4 * k_mag * x_ks(zm)) * (1.0 - 10.0 ** (-0.4 * k_mag * x_ks(z)))
    return np.where((zm < 90.0) & (z < 90.0), b, 0.0)


def nl_to_mag_arcsec2(b_nl) -> np.ndarray:
    """V mag/arcsec^2 of a surface brightness in nanoLamberts (K&S 1991 eq. 1); inf for zero."""
    b = np.asarray(b_nl, float)
    with np.errstate(divide="ignore"):
        return np.where(b > 0, (20.7233 - np.log(np.maximum(b, 1e-300) / 34.08)) / 0.92104, np.inf)


class MoonLayer:
    """The real Moon (astropy ephemeris): moonlit sky (K&S 1991) on the diffuse plane, and its
    saturating disc plus a lens-glare halo when it is in or near the frame."""

    name = "moon"

    def __init__(self, k_mag: float = EXTINCTION_K_MAG, glare_fraction: float = 0.02,
                 glare_radius_deg: float = 1.5) -> None:
        self.k_mag = k_mag
        self.glare_fraction = glare_fraction
        self.glare_radius_deg = glare_radius_deg
        self._sky_e: np.ndarray | None = None
        self._disc: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._truth: dict | None = None
        self._sigma_px = 1.0

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None:
        from edge.geometry.celestial import moon_altaz_and_phase  # astropy: imported when needed

        t_mid = np.asarray(t_mid_unix, float)
        t_c = float(t_mid[len(t_mid) // 2])  # the Moon moves 0.5 deg an hour: one epoch per clip
        alt_m, az_m, frac = (float(v) for v in moon_altaz_and_phase(t_c, camera.site))
        phase_deg = math.degrees(math.acos(min(1.0, max(-1.0, 2.0 * frac - 1.0))))
        self._sigma_px = camera.psf_sigma_px
        grid = _CoarseGrid(camera, _coarse_step(camera))
        moon_dir = np.array([math.cos(math.radians(alt_m)) * math.sin(math.radians(az_m)),
                             math.cos(math.radians(alt_m)) * math.cos(math.radians(az_m)),
                             math.sin(math.radians(alt_m))])  # fmt: skip
        rho = np.degrees(np.arccos(np.clip(grid.enu @ moon_dir, -1.0, 1.0)))
        b_nl = ks_moon_sky_nl(phase_deg, rho, 90.0 - alt_m, 90.0 - grid.alt_deg, self.k_mag)
        sb = nl_to_mag_arcsec2(b_nl)
        e_sky = camera.profile.electrons(sb, exposure_s) * grid.solid_angle_arcsec2  # sb = inf gives 0
        mag_moon = float(extincted_mag(moon_vmag(phase_deg), alt_m, self.k_mag))
        e_moon = float(camera.profile.electrons(mag_moon, exposure_s)) if alt_m > 0 else 0.0
        # Lens glare: a Moffat (beta = 2) halo holding glare_fraction of the Moon's light.
        r0 = math.radians(self.glare_radius_deg)
        moffat = (1.0 + (np.radians(rho) / r0) ** 2) ** -2
        halo_per_sr = self.glare_fraction * e_moon / (math.pi * r0**2) * moffat
        e_sky = e_sky + halo_per_sr * grid.solid_angle_arcsec2 / ARCSEC2_PER_SR
        self._sky_e = grid.upsample(e_sky) if alt_m > 0 else None
        xm, ym = (float(v) for v in camera.model.altaz_to_pixel(alt_m, az_m))
        r_px = MOON_RADIUS_DEG * 60.0 / camera.model.pixel_scale_arcmin
        in_frame = bool(alt_m > 0 and np.isfinite(xm) and camera.model.in_frame(xm, ym))
        self._disc = None
        if alt_m > 0 and np.isfinite(xm) and -r_px - 5 < xm < camera.shape[1] + r_px + 5 \
                and -r_px - 5 < ym < camera.shape[0] + r_px + 5:
            step = min(0.5, r_px / 3.0)
            g = np.arange(-r_px, r_px + step / 2, step)
            dx, dy = np.meshgrid(g, g)
            inside = np.hypot(dx, dy) <= r_px
            dx, dy = dx[inside], dy[inside]
            self._disc = (xm + dx, ym + dy, np.full(dx.shape, e_moon / dx.size))
        centre = camera.model.pixel_to_enu((camera.shape[1] - 1) / 2, (camera.shape[0] - 1) / 2)
        c_alt, _ = enu_to_altaz(centre)
        rho_c = math.degrees(math.acos(float(np.clip(centre @ moon_dir, -1, 1))))
        b_c = ks_moon_sky_nl(phase_deg, rho_c, 90 - alt_m, 90 - float(c_alt), self.k_mag)
        sb_c = float(nl_to_mag_arcsec2(b_c))
        self._truth = {
            "kind": "moon", "id": "moon", "alt_deg": alt_m, "az_deg": az_m, "illuminated_fraction": frac,
            "phase_angle_deg": phase_deg, "mag": mag_moon, "in_frame": in_frame,
            "x_px": xm if in_frame else None, "y_px": ym if in_frame else None,
            "moon_sky_mag_arcsec2_at_centre": sb_c if math.isfinite(sb_c) else None,
        }  # fmt: skip

    def describe(self) -> dict:
        return {"layer": self.name, "extinction_k_mag": self.k_mag, "glare_fraction": self.glare_fraction,
                "glare_radius_deg": self.glare_radius_deg}  # fmt: skip

    def draw(self, k: int, canvas: Canvas, rng: np.random.Generator) -> list[dict]:
        if self._sky_e is not None:
            canvas.add_image(self._sky_e, "diffuse")
        if self._disc is not None:
            canvas.add_points(*self._disc, self._sigma_px)
        return [dict(self._truth)] if self._truth is not None else []


# --------------------------------------------------------------------------------------------
# Clouds


@dataclass
class _CloudDeck:
    """One station's cloud deck: a smooth random field on a horizontal plane, in units of its std."""

    height_m: float
    radius_m: float
    octaves: list[tuple[np.ndarray, float, float]]  # (grid, cell_m, weight)
    wind_en_ms: np.ndarray
    t0_unix: float
    threshold: float = 0.0

    def value(self, e_m: np.ndarray, n_m: np.ndarray, t_unix: float) -> np.ndarray:
        """Field value (std units) at deck point(s) east e_m, north n_m of the station, at t_unix."""
        dt_s = t_unix - self.t0_unix
        e = e_m - self.wind_en_ms[0] * dt_s + self.radius_m
        n = n_m - self.wind_en_ms[1] * dt_s + self.radius_m
        out = np.zeros(np.shape(e_m))
        for grid, cell, weight in self.octaves:
            out += weight * ndimage.map_coordinates(grid, [n / cell, e / cell], order=1, mode="nearest")
        return out


class CloudLayer:
    """Clouds: per station a drifting random deck at `height_m` (a few octaves of Gaussian-filtered
    noise) seen through each camera's pixels. Sets `canvas.transmission` (0.05..1) and adds the
    cloud's own light (reflected skyglow, and moonlight when the Moon is up) to `canvas.diffuse_e`.

    `cover` is the fraction of the station's imaged sky that is covered at mid-clip: the deck's
    threshold is set on the pixels of the station's cameras (those passed as `cameras`, or the
    first camera of the station to be prepared). A pixel is covered when its opacity exceeds 0.5.
    """

    name = "clouds"

    def __init__(self, cover: float, seed: int, *, height_m: float = 3000.0, wind_ms: float = 10.0,
                 wind_dir_deg: float = 0.0, glow_mag_arcsec2: float = 20.5, moon_albedo: float = 0.5,
                 scales_m: tuple[float, ...] = (300.0, 900.0, 2500.0), edge_width: float = 0.6,
                 cameras: list[SimCamera] | None = None,
                 k_mag: float = EXTINCTION_K_MAG) -> None:  # fmt: skip
        if not 0.0 <= cover <= 1.0:
            raise ValueError(f"cover: {cover} is outside 0..1")
        if not height_m > 0:
            raise ValueError(f"height_m: {height_m} must be positive")
        self.cover = float(cover)
        self.seed = int(seed)
        self.height_m = float(height_m)
        w = math.radians(wind_dir_deg)  # direction the wind blows toward
        self.wind_en_ms = np.array([wind_ms * math.sin(w), wind_ms * math.cos(w)])
        self.glow_mag_arcsec2 = glow_mag_arcsec2
        self.k_mag = k_mag
        self.moon_albedo = moon_albedo
        self.scales_m = scales_m
        self.edge_width = edge_width
        self._calibration = list(cameras or [])
        self._decks: dict[str, _CloudDeck] = {}

    # -- geometry
    def _plane_en(self, camera: SimCamera, grid: _CoarseGrid) -> tuple[np.ndarray, np.ndarray]:
        """East/north (m) where each coarse pixel's ray meets the deck (rays kept above 3 deg altitude)."""
        up = np.maximum(grid.enu[..., 2], math.sin(math.radians(3.0)))
        horiz = np.hypot(grid.enu[..., 0], grid.enu[..., 1])
        dist = (self.height_m - camera.site.height_m) / up
        scale = np.where(horiz > 0, dist * np.sqrt(np.maximum(1 - up**2, 0)) / np.maximum(horiz, 1e-12), 0)
        return grid.enu[..., 0] * scale, grid.enu[..., 1] * scale

    def _deck(self, camera: SimCamera, t_c: float, duration_s: float) -> _CloudDeck:
        sid = camera.station_id
        if sid in self._decks:
            return self._decks[sid]
        rng = _seed_for(self.seed, "cloud", sid)
        radius = (self.height_m - camera.site.height_m) / math.tan(math.radians(3.0)) \
            + float(np.linalg.norm(self.wind_en_ms)) * (duration_s + 10.0)
        octaves = []
        weights = np.array([0.35, 0.6, 1.0][-len(self.scales_m):] if len(self.scales_m) <= 3
                           else np.ones(len(self.scales_m)))  # fmt: skip
        for scale, weight in zip(self.scales_m, weights, strict=True):
            cell = max(scale / 4.0, 2.0 * radius / 2048.0)
            n = int(math.ceil(2.0 * radius / cell)) + 2
            g = ndimage.gaussian_filter(rng.standard_normal((n, n)), scale / cell, mode="wrap")
            g /= g.std()
            octaves.append((g.astype(np.float32), cell, float(weight)))
        total = math.sqrt(sum(w * w for _, _, w in octaves))
        octaves = [(g, c, w / total) for g, c, w in octaves]
        deck = _CloudDeck(self.height_m, radius, octaves, self.wind_en_ms, t_c)
        # Threshold from the station's cameras at mid-clip.
        same = [c for c in self._calibration if c.station_id == sid] or [camera]
        values = []
        for cam in same:
            g = _CoarseGrid(cam, _coarse_step(cam))
            e, n_ = self._plane_en(cam, g)
            values.append(deck.value(e, n_, t_c).ravel())
        v = np.concatenate(values)
        if self.cover <= 0.0:
            deck.threshold = np.inf
        elif self.cover >= 1.0:
            deck.threshold = -np.inf
        else:
            deck.threshold = float(np.quantile(v, 1.0 - self.cover))
        self._decks[sid] = deck
        return deck

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None:
        from edge.geometry.celestial import moon_altaz_and_phase

        t_mid = np.asarray(t_mid_unix, float)
        t_c = float(t_mid[len(t_mid) // 2])
        deck = self._deck(camera, t_c, float(np.ptp(t_mid)))
        grid = _CoarseGrid(camera, _coarse_step(camera))
        e_m, n_m = self._plane_en(camera, grid)
        # The cloud's own light per pixel per exposure (electrons), where fully opaque.
        sb_lin = 10.0 ** (-0.4 * self.glow_mag_arcsec2)  # in units of a 0 mag/arcsec^2 surface
        alt_m, _az, frac = (float(v) for v in moon_altaz_and_phase(t_c, camera.site))
        if alt_m > 0:
            phase = math.degrees(math.acos(min(1.0, max(-1.0, 2 * frac - 1))))
            lux = LUX_OF_V0 * 10.0 ** (-0.4 * float(extincted_mag(moon_vmag(phase), alt_m, self.k_mag)))
            lum_cd_m2 = self.moon_albedo * lux * math.sin(math.radians(alt_m)) / math.pi
            sb_lin += lum_cd_m2 / CD_M2_OF_V0_ARCSEC2
        glow_e = float(camera.profile.electrons(0.0, exposure_s)) * sb_lin * grid.solid_angle_arcsec2
        glow_e = grid.upsample(np.where(grid.alt_deg > 0, glow_e, 0.0))
        self._state = (deck, grid, e_m, n_m, glow_e, t_mid, camera.station_id)

    def opacity(self, k: int) -> np.ndarray:
        """Full-resolution cloud opacity (0..1) of frame k of the camera last prepared."""
        deck, grid, e_m, n_m, _glow, t_mid, _sid = self._state
        f = deck.value(e_m, n_m, float(t_mid[k]))
        with np.errstate(invalid="ignore"):
            op = np.clip(0.5 + (f - deck.threshold) / self.edge_width, 0.0, 1.0)
        op = np.where(np.isnan(op), 0.0 if deck.threshold == np.inf else 1.0, op)
        op = np.where(grid.alt_deg > 0, op, 0.0)
        return np.clip(grid.upsample(op), 0.0, 1.0)

    def describe(self) -> dict:
        return {"layer": self.name, "cover": self.cover, "height_m": self.height_m, "seed": self.seed,
                "wind_en_ms": [float(v) for v in self.wind_en_ms], "glow_mag_arcsec2": self.glow_mag_arcsec2,
                "thresholds": {sid: d.threshold for sid, d in self._decks.items()}}  # fmt: skip

    def draw(self, k: int, canvas: Canvas, rng: np.random.Generator) -> list[dict]:
        deck, grid, _e, _n, glow_e, _t, sid = self._state
        op = self.opacity(k)
        trans = 1.0 - np.float32(0.95) * op
        canvas.transmission = canvas.transmission * trans
        canvas.add_image(op * glow_e, "diffuse")
        return [{
            "kind": "cloud", "id": f"cloud-{sid}", "cover_fraction": float(np.mean(op > 0.5)),
            "mean_transmission": float(trans.mean()), "height_m": deck.height_m,
        }]  # fmt: skip


# --------------------------------------------------------------------------------------------
# Insects


@dataclass
class _Insect:
    id: str
    t_c: float  # when it passes p_c
    p_c: np.ndarray  # (x, y) px
    speed_px_s: float
    heading0: float  # rad
    turn_rad_s: float
    wobble_amp: float
    wobble_hz: float
    wobble_phase: float
    sigma_px: float
    lit: bool
    mag: float  # lit: total V-equivalent magnitude of the blob
    depth: float  # dark: peak fraction of the light it blocks


class InsectLayer:
    """Insects (or anything) flying close to the lens: far out of focus, a wide blob (sigma 5-30 px)
    darting across the frame on a curving, wobbling path at tens to hundreds of px per frame.
    Lit ones add light on the `near` plane; dark ones block part of the light already on the canvas
    (they multiply `transmission` and `diffuse_e`), so draw this layer last.

    `count` insects per camera, each crossing during the clip; positions are sampled within each
    exposure at steps under a quarter of the blob's sigma (it is smooth, so finer steps change nothing).
    """

    name = "insects"

    def __init__(self, count: int, seed: int, lit_fraction: float = 0.5) -> None:
        if count < 0:
            raise ValueError(f"count: {count} must be >= 0")
        self.count = int(count)
        self.seed = int(seed)
        self.lit_fraction = lit_fraction
        self._items: list[tuple[_Insect, np.ndarray, np.ndarray, np.ndarray, list]] = []

    @staticmethod
    def _path(ins: _Insect, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) px at times t: the heading turns steadily and wobbles; integrated numerically."""
        t = np.asarray(t, float)
        lo, hi = min(float(t.min()), ins.t_c), max(float(t.max()), ins.t_c)
        grid = np.linspace(lo, hi, max(2, int((hi - lo) / 2e-4) + 2))
        s = grid - ins.t_c
        heading = ins.heading0 + ins.turn_rad_s * s + ins.wobble_amp * np.sin(
            2 * np.pi * ins.wobble_hz * s + ins.wobble_phase)
        vx, vy = ins.speed_px_s * np.cos(heading), ins.speed_px_s * np.sin(heading)
        dt = np.diff(grid)
        px = np.r_[0.0, np.cumsum(0.5 * (vx[1:] + vx[:-1]) * dt)]
        py = np.r_[0.0, np.cumsum(0.5 * (vy[1:] + vy[:-1]) * dt)]
        px -= np.interp(ins.t_c, grid, px)
        py -= np.interp(ins.t_c, grid, py)
        return ins.p_c[0] + np.interp(t, grid, px), ins.p_c[1] + np.interp(t, grid, py)

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None:
        t_mid = np.asarray(t_mid_unix, float)
        h, w = camera.shape
        rng = _seed_for(self.seed, "insects", camera.station_id, camera.camera_id)
        frame_s = 1.0 / camera.profile.fps
        self._items = []
        for i in range(self.count):
            lit = bool(rng.random() < self.lit_fraction)
            ins = _Insect(
                id=f"insect-{camera.station_id}-{camera.camera_id}-{i}",
                t_c=float(rng.uniform(t_mid[0], t_mid[-1])) if len(t_mid) > 1 else float(t_mid[0]),
                p_c=np.array([rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h]),
                speed_px_s=float(rng.uniform(20.0, 200.0)) / frame_s,
                heading0=float(rng.uniform(0, 2 * np.pi)), turn_rad_s=float(rng.uniform(-8.0, 8.0)),
                wobble_amp=float(rng.uniform(0.2, 1.0)), wobble_hz=float(rng.uniform(2.0, 8.0)),
                wobble_phase=float(rng.uniform(0, 2 * np.pi)), sigma_px=float(rng.uniform(5.0, 30.0)),
                lit=lit, mag=float(rng.uniform(-5.0, -2.0)), depth=float(rng.uniform(0.2, 0.7)),
            )  # fmt: skip
            n = int(min(max(2, math.ceil(ins.speed_px_s * exposure_s / (0.25 * ins.sigma_px)) + 1), 200))
            ts = _sub_times(t_mid, exposure_s, n)
            x, y = self._path(ins, ts)
            xm, ym = self._path(ins, t_mid)
            margin = 3.0 * ins.sigma_px
            near = (x > -margin) & (x < w + margin) & (y > -margin) & (y < h + margin)
            seen = camera.model.in_frame(xm, ym)
            e_each = float(camera.profile.electrons(ins.mag, exposure_s / n)) if lit else 0.0
            truth = [
                {"kind": "insect", "id": ins.id, "x_px": float(xm[k]), "y_px": float(ym[k]),
                 "sigma_px": ins.sigma_px, "lit": lit, "mag": ins.mag if lit else None,
                 "blocked_fraction": None if lit else ins.depth}
                if seen[k] else None
                for k in range(len(t_mid))
            ]  # fmt: skip
            x = np.where(near, x, np.nan)
            self._items.append((ins, x, y, np.full(x.shape, e_each), truth))

    def describe(self) -> dict:
        return {"layer": self.name, "per_camera": self.count, "seed": self.seed,
                "lit_fraction": self.lit_fraction}  # fmt: skip

    def draw(self, k: int, canvas: Canvas, rng: np.random.Generator) -> list[dict]:
        out = []
        for ins, x, y, e, truth in self._items:
            if np.isfinite(x[k]).any():
                if ins.lit:
                    canvas.add_points(x[k], y[k], e[k], ins.sigma_px, plane="near")
                else:
                    # Peak-normalised blurred silhouette: mean Gaussian profile over the samples.
                    prof = np.zeros(canvas.shape, np.float32)
                    peak = 1.0 / (2.0 * np.pi * ins.sigma_px**2)
                    ok = np.isfinite(x[k])
                    prof_n = ok.sum()
                    weight = np.full(prof_n, 1.0 / (prof_n * peak))
                    add_gaussians(prof, x[k][ok], y[k][ok], weight, ins.sigma_px)
                    keep = 1.0 - ins.depth * np.clip(prof, 0.0, 1.0)
                    canvas.transmission = canvas.transmission * keep
                    canvas.diffuse_e = canvas.diffuse_e * keep
            if truth[k] is not None:
                out.append(truth[k])
        return out


# --------------------------------------------------------------------------------------------
# Hot pixels


def hot_pixels_for(camera_shape: tuple[int, int], n: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Fixed hot pixels for `SimCamera.hot_pixels`: (x, y, extra_adu) at n distinct positions.

    camera_shape is (height_px, width_px). Most add 20-200 ADU; about one in ten (at least one
    when n >= 5) is stuck at full scale (extra 255, so it always reads 255 in 8 bits).
    """
    h, w = (int(v) for v in camera_shape)
    if n < 0:
        raise ValueError(f"n: {n} must be >= 0")
    if n > h * w:
        raise ValueError(f"n: {n} hot pixels do not fit in a {w}x{h} sensor")
    flat = rng.choice(h * w, size=n, replace=False)
    y, x = np.divmod(flat, w)
    extra = rng.uniform(20.0, 200.0, n)
    n_stuck = max(1, round(0.1 * n)) if n >= 5 else 0
    extra[:n_stuck] = 255.0
    return x.astype(np.int64), y.astype(np.int64), extra.astype(np.float32)


# --------------------------------------------------------------------------------------------
# Configuration and the factory


class DistractorsConfig(BaseModel):
    """What the simulator puts in the sky besides stars and meteors. Defaults are off or small."""

    model_config = ConfigDict(extra="forbid")

    satellites: int = Field(0, ge=0, le=100, description="independent satellite passes crossing a field")
    satellite_train: bool = Field(False, description="each pass is a train of satellites on one track")
    satellite_train_size: int = Field(4, ge=2, le=60)
    satellite_train_spacing_s: float = Field(0.6, gt=0.0, le=300.0, description="time between train members")
    satellite_flare_probability: float = Field(0.3, ge=0.0, le=1.0)
    aircraft: int = Field(0, ge=0, le=50, description="aircraft crossing a field")
    cloud_cover: float = Field(0.0, ge=0.0, le=1.0, description="covered fraction of each station's sky")
    cloud_height_m: float = Field(3000.0, ge=300.0, le=12000.0)
    cloud_wind_ms: float = Field(10.0, ge=0.0, le=80.0)
    insects: int = Field(0, ge=0, le=20, description="insects per camera during the clip")
    hot_pixels_per_camera: int = Field(20, ge=0, le=100_000)
    moon: bool = Field(True, description="the real Moon and its scattered light")


_AIRLINES = ("BAW", "DLH", "AFR", "KLM", "EZY", "RYR", "SAS", "IBE", "AUA", "SWR", "UAE", "WZZ")


def _pick_direction(cameras: list[SimCamera], rng: np.random.Generator, min_alt_deg: float):
    """A camera and a unit ENU direction inside the central part of its field above min_alt_deg."""
    for _ in range(200):
        cam = cameras[int(rng.integers(len(cameras)))]
        h, w = cam.shape
        x, y = rng.uniform(0.15, 0.85) * (w - 1), rng.uniform(0.15, 0.85) * (h - 1)
        d = cam.model.pixel_to_enu(x, y)
        if np.all(np.isfinite(d)) and d[2] > math.sin(math.radians(min_alt_deg)):
            return cam, d
    raise ValueError(f"cameras: no camera sees the sky above {min_alt_deg} deg altitude")


def _range_to_height(site_ecef: np.ndarray, d_ecef: np.ndarray, height_m: float) -> float:
    """Distance along a ray from a site to WGS84 geodetic height height_m (secant iteration)."""
    def h_at(r):
        return float(ecef_to_geodetic(site_ecef + r * d_ecef)[2]) - height_m

    r0, r1 = height_m * 0.5, height_m * 4.0
    f0, f1 = h_at(r0), h_at(r1)
    for _ in range(60):
        r2 = r1 - f1 * (r1 - r0) / (f1 - f0)
        r0, f0, r1, f1 = r1, f1, r2, h_at(r2)
        if abs(f1) < 1e-3:
            break
    return r1


def _make_satellites(j: int, cfg: DistractorsConfig, cameras, t_start: float, duration_s: float,
                     rng: np.random.Generator) -> list[Satellite]:  # fmt: skip
    cam, d_enu = _pick_direction(cameras, rng, 15.0)
    site_ecef = cam.site.ecef_m
    d_ecef = d_enu @ cam.site.enu_basis
    h = float(rng.uniform(400e3, 1200e3))
    r = _range_to_height(site_ecef, d_ecef, h)
    p = site_ecef + r * d_ecef
    lat, lon, _ = ecef_to_geodetic(p)
    east, north, _up = enu_basis(lat, lon)
    az = rng.uniform(0, 2 * np.pi)
    speed = math.sqrt(GM_EARTH_M3_S2 / (EARTH_RADIUS_M + h))  # circular orbit, ~7.3-7.7 km/s
    v = speed * (math.sin(az) * east + math.cos(az) * north)
    t_c = t_start + float(rng.uniform(0.3, 0.7)) * duration_s
    mag_app = float(rng.uniform(2.0, 6.0))
    mag_1000 = mag_app - 5.0 * math.log10(r / 1.0e6)
    flare = rng.random() < cfg.satellite_flare_probability
    members = cfg.satellite_train_size if cfg.satellite_train else 1
    sats = []
    for i in range(members):
        offset = (i - (members - 1) / 2.0) * cfg.satellite_train_spacing_s if members > 1 else 0.0
        flare_t = t_c + float(rng.uniform(-0.4, 0.4)) * duration_s if flare else None
        sats.append(Satellite(
            id=f"sat-{j}" if members == 1 else f"sat-{j}.{i}",
            r0_ecef_m=p, v_ecef_ms=v, t0_unix=t_c + offset,
            mag_1000km=mag_1000 + (float(rng.normal(0, 0.3)) if members > 1 else 0.0),
            flare_t_unix=flare_t, flare_dmag=float(rng.uniform(2.0, 5.0)) if flare else 0.0,
            flare_fwhm_s=float(rng.uniform(0.2, 1.0)), train_id=f"train-{j}" if members > 1 else None,
        ))  # fmt: skip
        flare = flare and rng.random() < 0.5  # a glint reaches the next train member only sometimes
    return sats


def _make_aircraft(j: int, cameras, t_start: float, duration_s: float, rng: np.random.Generator) -> Aircraft:
    cam, d_enu = _pick_direction(cameras, rng, 12.0)
    height = float(rng.uniform(9000.0, 12000.0))
    d_ecef = d_enu @ cam.site.enu_basis
    r = _range_to_height(cam.site.ecef_m, d_ecef, height)
    p = cam.site.ecef_m + r * d_ecef
    lat, lon, _ = ecef_to_geodetic(p)
    east, north, _up = enu_basis(lat, lon)
    hdg = rng.uniform(0, 2 * np.pi)
    v = float(rng.uniform(200.0, 260.0)) * (math.sin(hdg) * east + math.cos(hdg) * north)
    return Aircraft(
        id=f"aircraft-{j}", icao24=f"{int(rng.integers(0x000001, 0xFFFFFF)):06x}",
        callsign=f"{_AIRLINES[int(rng.integers(len(_AIRLINES)))]}{int(rng.integers(10, 9999))}",
        r0_ecef_m=p, v_ecef_ms=v, t0_unix=t_start + float(rng.uniform(0.3, 0.7)) * duration_s,
        lights=standard_lights(rng),
    )  # fmt: skip


def build_distractor_layers(config: DistractorsConfig, cameras: list[SimCamera], t_start_unix: float,
                            duration_s: float, rng: np.random.Generator, *, k_mag: float = EXTINCTION_K_MAG,
                            sky_mag_arcsec2: float = 20.5) -> list:  # fmt: skip
    """The distractor layers of one clip, drawn in the returned order (insects last).

    Satellites and aircraft are placed so that each crosses the field of at least one camera near
    mid-clip (a random camera and a point inside its field, then a 3-D track through it). Side
    effect: cameras without hot pixels get `config.hot_pixels_per_camera` of them. `k_mag` (V
    extinction per airmass) and `sky_mag_arcsec2` (zenith sky brightness) are the scenario's sky.
    """
    if not isinstance(config, DistractorsConfig):
        config = DistractorsConfig.model_validate(config)
    if not cameras:
        raise ValueError("cameras: at least one camera is needed")
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration_s: {duration_s} must be a positive number of seconds")
    if not math.isfinite(t_start_unix):
        raise ValueError(f"t_start_unix: {t_start_unix} is not finite")
    for cam in cameras:
        if cam.hot_pixels is None and config.hot_pixels_per_camera > 0:
            cam.hot_pixels = hot_pixels_for(cam.shape, config.hot_pixels_per_camera, rng)
    layers: list = []
    if config.moon:
        layers.append(MoonLayer(k_mag=k_mag))
    if config.cloud_cover > 0:
        layers.append(CloudLayer(
            config.cloud_cover, int(rng.integers(2**31)), height_m=config.cloud_height_m,
            wind_ms=config.cloud_wind_ms, wind_dir_deg=float(rng.uniform(0, 360)), cameras=cameras,
            glow_mag_arcsec2=sky_mag_arcsec2, k_mag=k_mag,
        ))  # fmt: skip
    if config.satellites:
        sats = [s for j in range(config.satellites)
                for s in _make_satellites(j, config, cameras, t_start_unix, duration_s, rng)]  # fmt: skip
        layers.append(SatelliteLayer(sats, k_mag=k_mag))
    if config.aircraft:
        layers.append(AircraftLayer([_make_aircraft(j, cameras, t_start_unix, duration_s, rng)
                                     for j in range(config.aircraft)], k_mag=k_mag))  # fmt: skip
    if config.insects:
        layers.append(InsectLayer(config.insects, int(rng.integers(2**31))))
    return layers


__all__ = [
    "Aircraft", "AircraftLayer", "CloudLayer", "DistractorsConfig", "InsectLayer", "Light", "MoonLayer",
    "Satellite", "SatelliteLayer", "airmass", "build_distractor_layers", "extincted_mag", "hot_pixels_for",
    "ks_moon_sky_nl", "moon_vmag", "nl_to_mag_arcsec2", "standard_lights",
]  # fmt: skip
