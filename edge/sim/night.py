"""A simulated night for one camera: a long stream of frames with many meteors and distractors,
and per-frame truth, for testing and scoring the detector (`edge.detect.evaluate`).

`edge.sim.event` renders one meteor over a network; this module renders hours of one camera.
It reuses the same machinery: the camera comes from `plan_camera` (true model with mounting
errors), the frame from `Canvas` and `read_out`, the sky from `SkyBackgroundLayer`, `StarLayer`
and `MoonLayer`, the meteors from `MeteorLayer` (a `MeteorTrajectory` per meteor), and the
distractors from `SatelliteLayer`, `AircraftLayer`, `CloudLayer`, `InsectLayer` and
`hot_pixels_for`.

How a night is built (`plan_night`): meteors arrive as a Poisson process (or from an explicit
list). Each gets a wanted peak apparent magnitude, a number of frames and a speed; its track is
a straight 3-D line at 70-120 km whose midpoint lies on the ray of a random pixel and whose
direction is random (any azimuth, entry angle limited so the ends stay in 70-120 km), retried
until both ends project into the field. The duration is chosen so that the meteor lights
exactly the wanted number of exposures, and the absolute magnitude is then shifted so that the
brightest in-field frame has exactly the wanted apparent magnitude (range, extinction and smear
included, as `MeteorLayer` renders it). Satellites (400-1200 km, circular speed, 0.3-2 deg/s),
aircraft (9-12 km, 200-260 m/s, blinking lights) and insects arrive at given rates per hour.

Rendering (`render_night`) is streamed: stars, Moon and clouds are prepared per chunk of a few
seconds (their geometry is vectorised over a chunk's times), each transient object is prepared
once over its own frame window and dropped when it ends, and frames are yielded one by one, so
memory does not grow with the length of the night.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, field_validator, model_validator

from edge.camera.profiles import ProfileName
from edge.geometry.celestial import Atmosphere, sun_altaz, to_time
from edge.geometry.earth import ecef_to_geodetic, enu_basis, enu_to_altaz
from edge.sim.config import CameraConfig, StationConfig
from edge.sim.distractors import (
    Aircraft,
    AircraftLayer,
    CloudLayer,
    InsectLayer,
    MoonLayer,
    Satellite,
    SatelliteLayer,
    hot_pixels_for,
    standard_lights,
)
from edge.sim.event import plan_camera
from edge.sim.layers import MeteorLayer, SkyBackgroundLayer, StarLayer
from edge.sim.meteor import ATMOSPHERE_SCALE_HEIGHT_M, Flare, MeteorTrajectory, along_track_to_height
from edge.sim.render import Canvas, SimCamera, read_out

GM_EARTH_M3_S2 = 3.986004418e14
EARTH_RADIUS_M = 6_371_008.8
METEOR_HEIGHT_RANGE_M = (70e3, 120e3)
SATELLITE_DEG_PER_S = (0.3, 2.0)
MAX_NIGHT_SUN_ALT_DEG = -12.0
KINDS = ("meteor", "satellite", "aircraft", "insect")


class MeteorSpec(BaseModel):
    """One meteor asked for explicitly: peak apparent magnitude, frames lit, speed and start."""

    model_config = ConfigDict(extra="forbid")

    peak_mag: float = Field(ge=-10.0, le=8.0, description="peak apparent magnitude in this camera")
    frames: int = Field(ge=2, le=600, description="number of exposures the meteor lights")
    speed_kms: float | None = Field(None, ge=11.0, le=72.8)
    t_offset_s: float | None = Field(None, ge=0.0, description="begin, seconds after the night's start")


class NightConfig(BaseModel):
    """One camera's simulated night. Defaults: an M3 camera binned 3x (640x360) looking north at
    45 deg from the M3 network centre on a moonless January night, 300 meteors per hour."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 1
    profile: ProfileName = "m3-8mm"
    binning: int = Field(3, ge=1, le=8)
    az_deg: float = Field(0.0, ge=0.0, lt=360.0)
    alt_deg: float = Field(45.0, ge=5.0, le=90.0)
    roll_deg: float = Field(0.0, ge=-180.0, le=180.0)
    lat_deg: float = Field(40.45, ge=-90.0, le=90.0)
    lon_deg: float = Field(116.6, ge=-180.0, le=360.0)
    height_m: float = Field(100.0, ge=-450.0, le=9000.0)
    start_utc: str = Field("2026-01-18T15:00:00Z", description="ISO time of the first frame; must be dark")
    duration_s: PositiveFloat = Field(60.0, le=12 * 3600.0)
    lead_in_s: float = Field(0.0, ge=0.0, description="no meteor or insect begins this early")
    chunk_s: PositiveFloat = Field(5.0, le=60.0, description="seconds of frames prepared together")
    # meteors
    meteor_rate_per_hour: float = Field(300.0, ge=0.0, le=100_000.0)
    meteor_peak_mag_range: tuple[float, float] = (-2.0, 4.0)
    meteor_frames_range: tuple[int, int] = (3, 60)
    meteor_speed_kms_range: tuple[float, float] = (11.0, 72.0)
    meteor_flare_probability: float = Field(0.3, ge=0.0, le=1.0)
    meteors: list[MeteorSpec] | None = Field(None, description="explicit meteors; replaces the rate")
    # distractors
    satellites_per_hour: float = Field(20.0, ge=0.0, le=10_000.0)
    satellite_flare_probability: float = Field(0.2, ge=0.0, le=1.0)
    aircraft_per_hour: float = Field(4.0, ge=0.0, le=10_000.0)
    insects_per_hour: float = Field(0.0, ge=0.0, le=100_000.0)
    cloud_cover: float = Field(0.0, ge=0.0, le=1.0)
    cloud_wind_ms: float = Field(10.0, ge=0.0, le=80.0)
    cloud_height_m: float = Field(3000.0, ge=300.0, le=12000.0)
    hot_pixels: int = Field(20, ge=0, le=100_000)
    moon: bool = True
    # sky
    sky_mag_arcsec2: float = Field(20.5, ge=14.0, le=23.0)
    extinction_mag_per_airmass: float = Field(0.25, ge=0.0, le=2.0)
    scintillation_zenith: float = Field(0.05, ge=0.0, le=1.0)
    star_limit_vmag: float = Field(6.5, ge=0.0, le=7.5)
    pressure_hpa: float = Field(1000.0, ge=0.0, le=1100.0, description="0 switches refraction off")

    @field_validator("start_utc")
    @classmethod
    def _parses(cls, value: str) -> str:
        to_time(value)  # raises ValueError naming the problem
        return value

    @model_validator(mode="after")
    def _ranges_in_order(self) -> NightConfig:
        for name, lo_limit, hi_limit in (
            ("meteor_peak_mag_range", -10.0, 8.0),
            ("meteor_frames_range", 2, 600),
            ("meteor_speed_kms_range", 11.0, 72.8),
        ):
            lo, hi = getattr(self, name)
            if not lo_limit <= lo <= hi <= hi_limit:
                raise ValueError(f"{name}: ({lo}, {hi}) must be ordered and within {lo_limit}..{hi_limit}")
        if self.lead_in_s >= self.duration_s:
            raise ValueError(f"lead_in_s ({self.lead_in_s}) must be shorter than duration_s")
        return self

    @property
    def t_start_unix(self) -> float:
        return float(to_time(self.start_utc).unix)


class Sighting(NamedTuple):
    """One object seen in one frame: its light-weighted centre (px) and apparent magnitude; for a
    meteor also the magnitude of the light that reaches the camera through the clouds."""

    kind: str
    id: str
    x_px: float
    y_px: float
    mag: float
    mag_at_camera: float = math.nan


class NightFrame(NamedTuple):
    frame: np.ndarray  # (H, W) uint8
    t_unix: float  # mid-exposure, true UTC
    frame_index: int
    truth: tuple[Sighting, ...]  # objects in the field in this frame


@dataclass
class TruthObject:
    """Everything drawn in a night that is not a star: a meteor, satellite, aircraft or insect.

    Per-frame arrays cover the frames in which the object is drawn (for meteors: the exposures it
    lights); `in_field` says whether it is on the sensor. Positions are the light-weighted centre
    over the exposure (meteors) or the mid-exposure position (others); `seg_*` are the ends of the
    smear during the exposure (NaN where not known). `mag` is the apparent magnitude in that
    frame (extinction included; inf for an unlit insect or a dark aircraft).
    """

    id: str
    kind: str
    frame_index: np.ndarray  # (N,) int64
    x_px: np.ndarray
    y_px: np.ndarray
    mag: np.ndarray
    in_field: np.ndarray  # (N,) bool
    seg_x0_px: np.ndarray
    seg_y0_px: np.ndarray
    seg_x1_px: np.ndarray
    seg_y1_px: np.ndarray
    info: dict = field(default_factory=dict)  # what was asked for, speeds, ...

    @property
    def n_frames_in_field(self) -> int:
        return int(np.count_nonzero(self.in_field))

    @property
    def first_frame(self) -> int:
        """First frame in the field (-1 if never)."""
        f = self.frame_index[self.in_field]
        return int(f[0]) if f.size else -1

    @property
    def last_frame(self) -> int:
        f = self.frame_index[self.in_field]
        return int(f[-1]) if f.size else -1

    @property
    def peak_mag(self) -> float:
        """Brightest apparent magnitude over the in-field frames."""
        m = self.mag[self.in_field]
        return float(np.min(m)) if m.size else math.inf

    def at(self, frame_index: int) -> int | None:
        """Position in the per-frame arrays of a frame index, or None."""
        i = int(np.searchsorted(self.frame_index, frame_index))
        return i if i < len(self.frame_index) and self.frame_index[i] == frame_index else None


@dataclass
class _Planned:
    """A truth object plus how to rebuild its layer for rendering (frames k0..k1 inclusive)."""

    truth: TruthObject
    k0: int
    k1: int
    make_layer: object  # () -> Layer


@dataclass
class NightPlan:
    config: NightConfig
    camera: SimCamera
    n_frames: int
    t_start_unix: float
    atmosphere: Atmosphere | None
    objects: list[_Planned]

    @property
    def fps(self) -> float:
        return self.camera.profile.fps

    def frame_times(self, k0: int, k1: int) -> np.ndarray:
        """True mid-exposure times (POSIX s) of frames k0..k1-1."""
        return self.t_start_unix + (np.arange(k0, k1) + 0.5) / self.fps

    @property
    def truth(self) -> list[TruthObject]:
        return [o.truth for o in self.objects]


# --------------------------------------------------------------------------------------------
# Planning


def _rng(config: NightConfig, *names: str) -> np.random.Generator:
    return np.random.default_rng([config.seed, *(zlib.crc32(n.encode()) for n in names)])


def plan_night(config: NightConfig) -> NightPlan:
    """The night's camera and every object in it, with its truth (no frames are rendered)."""
    t0 = config.t_start_unix
    site_cfg = StationConfig(
        station_id="night",
        lat_deg=config.lat_deg,
        lon_deg=config.lon_deg,
        height_m=config.height_m,
        cameras=[
            CameraConfig(
                camera_id="cam1",
                profile=config.profile,
                az_deg=config.az_deg,
                alt_deg=config.alt_deg,
                roll_deg=config.roll_deg,
                binning=config.binning,
            )
        ],
    )
    camera = plan_camera(site_cfg, site_cfg.cameras[0], _rng(config, "camera"))
    sun_alt, _ = sun_altaz(to_time(np.array([t0, t0 + config.duration_s])), camera.site)
    if np.max(sun_alt) > MAX_NIGHT_SUN_ALT_DEG:
        raise ValueError(
            f"start_utc: the Sun is at {np.max(sun_alt):.1f} deg during the night asked for "
            f"(it must stay below {MAX_NIGHT_SUN_ALT_DEG} deg); choose a darker time"
        )
    camera.hot_pixels = hot_pixels_for(camera.shape, config.hot_pixels, _rng(config, "hot"))
    atmosphere = Atmosphere(pressure_hpa=config.pressure_hpa) if config.pressure_hpa > 0 else None
    n_frames = int(round(config.duration_s * camera.profile.fps))
    plan = NightPlan(config, camera, n_frames, t0, atmosphere, [])
    plan.objects += _plan_meteors(plan)
    plan.objects += _plan_satellites(plan)
    plan.objects += _plan_aircraft(plan)
    plan.objects += _plan_insects(plan)
    plan.objects.sort(key=lambda o: o.k0)
    return plan


def night_truth(config: NightConfig) -> list[TruthObject]:
    """Every meteor, satellite, aircraft and insect of the night, with its per-frame track."""
    return plan_night(config).truth


def _arrival_times(rate_per_hour: float, t_lo: float, t_hi: float, rng: np.random.Generator) -> np.ndarray:
    n = rng.poisson(max(rate_per_hour, 0.0) * max(t_hi - t_lo, 0.0) / 3600.0)
    return np.sort(rng.uniform(t_lo, t_hi, n))


class _CachedMeteorLayer(MeteorLayer):
    """`MeteorLayer` whose per-sample geometry is computed in one vectorised call for all frames.

    `MeteorLayer.draw` asks `observe` for each exposure's sub-sample times; each astropy call
    costs ~15 ms whatever its size, so the samples of every frame are computed together in
    `prepare` and served from a table keyed by the first sample time (same arithmetic as draw).
    """

    def prepare(self, camera: SimCamera, t_mid_unix: np.ndarray, exposure_s: float) -> None:
        super().prepare(camera, t_mid_unix, exposure_s)
        self._cache: dict[float, dict[str, np.ndarray]] = {}
        times = [
            (self.t_mid[k] - exposure_s / 2) + (np.arange(n) + 0.5) * (exposure_s / n)
            for k, n in enumerate(self.n_samples)
        ]
        obs = super().observe(camera, np.concatenate(times))
        start = 0
        for t in times:
            self._cache[float(t[0])] = {key: v[start : start + len(t)] for key, v in obs.items()}
            start += len(t)

    def observe(self, camera: SimCamera, t_unix: np.ndarray) -> dict[str, np.ndarray]:
        t = np.asarray(t_unix, float)
        cached = getattr(self, "_cache", {}).get(float(t.flat[0])) if t.ndim == 1 and t.size else None
        if cached is not None and len(cached["mag"]) == t.size:
            return cached
        return super().observe(camera, t)

    def segment(self, k: int) -> tuple[float, float, float, float]:
        """Ends (x0, y0, x1, y1) px of the lit part of frame k's smear."""
        t0 = self.t_mid[k] - self.exposure_s / 2
        obs = self._cache.get(float(t0 + 0.5 * (self.exposure_s / self.n_samples[k])))
        lit = np.flatnonzero(np.isfinite(obs["mag"])) if obs is not None else np.array([], int)
        if lit.size == 0:
            return (math.nan,) * 4
        a, b = lit[0], lit[-1]
        return float(obs["x_px"][a]), float(obs["y_px"][a]), float(obs["x_px"][b]), float(obs["y_px"][b])


def _meteor_truth(
    layer: _CachedMeteorLayer, k0: int, n: int, shape: tuple[int, int]
) -> dict[str, np.ndarray]:
    rows = []
    canvas_rng = np.random.default_rng(0)  # MeteorLayer.draw draws no random numbers
    for k in range(n):
        d = layer.draw(k, Canvas((1, 1)), canvas_rng)  # truth only: a 1-pixel canvas is cheap
        if d is not None:
            rows.append(
                (
                    k0 + k,
                    d["centroid_x_px"],
                    d["centroid_y_px"],
                    d["apparent_mag"],
                    d["in_frame"],
                    *layer.segment(k),
                )
            )
    cols = list(zip(*rows, strict=True)) if rows else [[]] * 9
    names = (
        "frame_index",
        "x_px",
        "y_px",
        "mag",
        "in_field",
        "seg_x0_px",
        "seg_y0_px",
        "seg_x1_px",
        "seg_y1_px",
    )
    out = {name: np.asarray(c, float) for name, c in zip(names, cols, strict=True)}
    out["frame_index"] = out["frame_index"].astype(np.int64)
    out["in_field"] = out["in_field"].astype(bool)
    return out


def _plan_meteors(plan: NightPlan) -> list[_Planned]:
    cfg, cam = plan.config, plan.camera
    rng = _rng(cfg, "meteors")
    fps, exposure = cam.profile.fps, cam.profile.exposure_s
    t_lo = plan.t_start_unix + cfg.lead_in_s
    t_hi = plan.t_start_unix + cfg.duration_s
    specs: list[MeteorSpec] = []
    if cfg.meteors is not None:
        for spec in cfg.meteors:
            specs.append(
                spec
                if spec.t_offset_s is not None
                else spec.model_copy(update={"t_offset_s": float(rng.uniform(cfg.lead_in_s, cfg.duration_s))})
            )
    else:
        for t in _arrival_times(cfg.meteor_rate_per_hour, t_lo, t_hi, rng):
            specs.append(
                MeteorSpec(
                    peak_mag=float(rng.uniform(*cfg.meteor_peak_mag_range)),
                    frames=int(rng.integers(cfg.meteor_frames_range[0], cfg.meteor_frames_range[1] + 1)),
                    speed_kms=float(rng.uniform(*cfg.meteor_speed_kms_range)),
                    t_offset_s=float(t - plan.t_start_unix),
                )
            )
    planned = []
    for i, spec in enumerate(specs):
        speed = (
            spec.speed_kms if spec.speed_kms is not None else float(rng.uniform(*cfg.meteor_speed_kms_range))
        )
        # begin inside the first half of an exposure and last (frames - 1) periods plus half an
        # exposure: exactly `frames` exposures are lit, the first and last at least half
        j = int(math.floor(spec.t_offset_s * fps))
        k0 = j
        k1 = j + spec.frames - 1
        if k0 < 0 or k1 >= plan.n_frames:
            if cfg.meteors is not None:
                raise ValueError(
                    f"meteors.{i}: a {spec.frames}-frame meteor at t_offset_s={spec.t_offset_s:.2f} "
                    f"runs past the end of the night ({cfg.duration_s} s)"
                )
            continue  # a random meteor too close to the end of the night: left out
        t_begin = plan.frame_times(j, j + 1)[0] - exposure / 2 + float(rng.uniform(0.05, 0.45)) * exposure
        duration = (spec.frames - 1) / fps + 0.5 * exposure
        meteor, fully = _meteor_geometry(cam, t_begin, duration, speed * 1e3, rng)
        if rng.random() < cfg.meteor_flare_probability:
            meteor.flares = [
                Flare(
                    float(rng.uniform(0.3, 0.9)) * duration,
                    float(rng.uniform(-1.5, -0.5)),
                    float(rng.uniform(0.02, 0.08)),
                )
            ]
        times = plan.frame_times(k0, k1 + 1)
        layer = _CachedMeteorLayer(meteor, plan.atmosphere, cfg.extinction_mag_per_airmass)
        layer.prepare(cam, times, exposure)
        rows = _meteor_truth(layer, k0, len(times), cam.shape)
        if not rows["in_field"].any():
            continue
        shift = spec.peak_mag - float(np.min(rows["mag"][rows["in_field"]]))
        meteor.peak_abs_mag += shift  # magnitudes are additive in the light curve: exact shift
        layer.prepare(cam, times, exposure)
        rows = _meteor_truth(layer, k0, len(times), cam.shape)
        truth = TruthObject(
            id=f"meteor-{i}",
            kind="meteor",
            **rows,
            info={
                "requested_peak_mag": spec.peak_mag,
                "requested_frames": spec.frames,
                "speed_kms": speed,
                "fully_in_field": fully,
                "peak_abs_mag": meteor.peak_abs_mag,
                "duration_s": duration,
                "begin_height_km": float(ecef_to_geodetic(meteor.begin_ecef_m)[2]) / 1e3,
                "end_height_km": float(ecef_to_geodetic(meteor.end_ecef_m)[2]) / 1e3,
                "flare": bool(meteor.flares),
            },
        )

        def make(m=meteor):
            return _CachedMeteorLayer(m, plan.atmosphere, cfg.extinction_mag_per_airmass)

        planned.append(_Planned(truth, k0, k1, make))
    return planned


def _meteor_geometry(
    cam: SimCamera, t_begin: float, duration_s: float, v0_ms: float, rng: np.random.Generator
) -> tuple[MeteorTrajectory, bool]:
    """A straight track at 70-120 km through a random pixel's ray, random direction, lasting
    `duration_s`; retried until both ends are in the field (else the best partial crossing)."""
    a2 = float(rng.uniform(3.0, 6.0)) / duration_s
    frac = float(rng.uniform(0.0, 0.15))  # speed lost by the end
    a1 = frac * v0_ms / (a2 * math.exp(a2 * duration_s))
    probe = MeteorTrajectory(np.zeros(3), np.array([1.0, 0, 0]), v0_ms, 0.0, duration_s, a1, a2, 0.0, 0.0)
    length = float(probe.distance_m(duration_s))
    h, w = cam.shape
    lo_h, hi_h = METEOR_HEIGHT_RANGE_M
    site = cam.site.ecef_m
    best = None
    for attempt in range(200):
        x, y = rng.uniform(0.1, 0.9) * (w - 1), rng.uniform(0.1, 0.9) * (h - 1)
        ray_enu = cam.model.pixel_to_enu(x, y)
        if not np.all(np.isfinite(ray_enu)) or ray_enu[2] < math.sin(math.radians(8.0)):
            continue
        h_mid = float(rng.uniform(78e3, 112e3))
        room = 2.0 * min(hi_h - h_mid, h_mid - lo_h)
        sin_max = min(1.0, room / length)
        if sin_max < math.sin(math.radians(2.0)):
            continue
        entry = math.asin(float(rng.uniform(math.sin(math.radians(2.0)) * 0.5, sin_max)))
        ray = ray_enu @ cam.site.enu_basis
        mid = site + along_track_to_height(site, ray, h_mid) * ray
        lat, lon, _ = ecef_to_geodetic(mid)
        east, north, up = enu_basis(lat, lon)
        psi = float(rng.uniform(0.0, 2.0 * math.pi))
        direction = math.cos(entry) * (math.sin(psi) * east + math.cos(psi) * north) - math.sin(entry) * up
        begin = mid - 0.5 * length * direction
        ends = np.stack([begin, begin + length * direction])
        heights = ecef_to_geodetic(ends)[2]
        if heights.min() < lo_h - 2e3 or heights.max() > hi_h + 2e3:
            continue
        ex, ey = cam.model.enu_to_pixel(cam.site.ecef_to_enu(ends))
        alt, _ = enu_to_altaz(cam.site.ecef_to_enu(ends))
        inside = cam.model.in_frame(ex, ey) & (alt > 3.0)
        if inside.all():
            best, fully = (begin, direction, heights), True
            break
        if best is None and inside.any():
            best, fully = (begin, direction, heights), False
        if attempt > 150 and best is not None:
            break
    if best is None:
        raise ValueError(
            "could not place a meteor track across the camera's field (is it pointed at the sky?)"
        )
    begin, direction, heights = best
    drop = float(heights[0] - heights[1])
    # light curve: burn-out (x = 3) at the end when the height drop allows, peak mid-track
    x_end = min(3.0, math.exp(0.5 * max(drop, 0.0) / ATMOSPHERE_SCALE_HEIGHT_M))
    meteor = MeteorTrajectory(
        begin_ecef_m=begin,
        direction_ecef=direction,
        v_init_ms=v0_ms,
        t_begin_unix=t_begin,
        duration_s=duration_s,
        lag_a1_m=a1,
        lag_a2_per_s=a2,
        peak_abs_mag=0.0,
        peak_height_m=float(heights[1]) + ATMOSPHERE_SCALE_HEIGHT_M * math.log(x_end),
    )
    return meteor, fully


def _window(cam: SimCamera, position_ecef, t_c: float, span_s: float) -> tuple[float, float] | None:
    """Time interval around t_c during which a mover is in the field (coarse, 0.25 s steps)."""
    t = t_c + np.arange(-span_s, span_s + 0.25, 0.25)
    enu = cam.site.ecef_to_enu(position_ecef(t))
    x, y = cam.model.enu_to_pixel(enu)
    alt, _ = enu_to_altaz(enu)
    inside = cam.model.in_frame(x, y) & (alt > 0)
    c = len(t) // 2
    if not inside[c]:
        return None
    lo, hi = c, c
    while lo > 0 and inside[lo - 1]:
        lo -= 1
    while hi < len(t) - 1 and inside[hi + 1]:
        hi += 1
    return float(t[lo] - 0.5), float(t[hi] + 0.5)


def _frames_of(plan: NightPlan, t_a: float, t_b: float) -> tuple[int, int] | None:
    k0 = max(0, int(math.floor((t_a - plan.t_start_unix) * plan.fps)))
    k1 = min(plan.n_frames - 1, int(math.ceil((t_b - plan.t_start_unix) * plan.fps)))
    return (k0, k1) if k1 >= k0 else None


def _layer_truth(layer, plan: NightPlan, k0: int, k1: int, kind: str, obj_id: str, info: dict) -> TruthObject:
    """Run a one-object distractor layer over its window and collect the per-frame truth its
    `draw` returns (drawn on a 1-pixel canvas: only the truth is wanted)."""
    cam = plan.camera
    layer.prepare(cam, plan.frame_times(k0, k1 + 1), cam.profile.exposure_s)
    dummy_rng = np.random.default_rng(0)
    rows = []
    for k in range(k1 - k0 + 1):
        for d in layer.draw(k, Canvas((1, 1)), dummy_rng) or []:
            if d.get("id") == obj_id:
                rows.append((k0 + k, d))
    n = len(rows)

    def col(key, default=np.nan):
        return np.array([default if d.get(key) is None else d[key] for _, d in rows], float)

    seg = kind == "satellite"
    if kind == "insect" and rows:
        info = {**info, "sigma_px": rows[0][1]["sigma_px"], "lit": rows[0][1]["lit"]}
    return TruthObject(
        id=obj_id,
        kind=kind,
        frame_index=np.array([k for k, _ in rows], np.int64),
        x_px=col("x_px"),
        y_px=col("y_px"),
        mag=col("mag", np.inf),
        in_field=np.ones(n, bool),
        seg_x0_px=col("x_start_px") if seg else np.full(n, np.nan),
        seg_y0_px=col("y_start_px") if seg else np.full(n, np.nan),
        seg_x1_px=col("x_end_px") if seg else np.full(n, np.nan),
        seg_y1_px=col("y_end_px") if seg else np.full(n, np.nan),
        info=info,
    )


def _crossing_point(cam: SimCamera, rng: np.random.Generator, height_m: float, min_alt_deg: float):
    """ECEF point at `height_m` on the ray of a random pixel in the central part of the field."""
    h, w = cam.shape
    for _ in range(200):
        ray_enu = cam.model.pixel_to_enu(rng.uniform(0.1, 0.9) * (w - 1), rng.uniform(0.1, 0.9) * (h - 1))
        if np.all(np.isfinite(ray_enu)) and ray_enu[2] > math.sin(math.radians(min_alt_deg)):
            ray = ray_enu @ cam.site.enu_basis
            return cam.site.ecef_m + along_track_to_height(cam.site.ecef_m, ray, height_m) * ray
    raise ValueError(f"the camera sees no sky above {min_alt_deg} deg altitude")


def _angular_speed_deg_s(cam: SimCamera, p_ecef: np.ndarray, v_ecef: np.ndarray) -> float:
    enu = cam.site.ecef_to_enu(p_ecef)
    r = float(np.linalg.norm(enu))
    v = v_ecef @ cam.site.enu_basis.T
    v_perp = v - (v @ enu) / r**2 * enu
    return math.degrees(float(np.linalg.norm(v_perp)) / r)


def _plan_satellites(plan: NightPlan) -> list[_Planned]:
    cfg, cam = plan.config, plan.camera
    rng = _rng(cfg, "satellites")
    t0, t1 = plan.t_start_unix, plan.t_start_unix + cfg.duration_s
    out = []
    # crossings are spread from a minute before the start, so satellites are already in view
    for i, t_c in enumerate(_arrival_times(cfg.satellites_per_hour, t0 - 60.0, t1, rng)):
        for _ in range(200):  # a pass whose angular speed stays in range while it is in the field
            height = float(rng.uniform(400e3, 1200e3))
            p = _crossing_point(cam, rng, height, 15.0)
            lat, lon, _ = ecef_to_geodetic(p)
            east, north, _up = enu_basis(lat, lon)
            az = rng.uniform(0.0, 2.0 * math.pi)
            v = math.sqrt(GM_EARTH_M3_S2 / (EARTH_RADIUS_M + height)) * (
                math.sin(az) * east + math.cos(az) * north
            )
            window = _window(
                cam, lambda t, p=p, v=v, tc=t_c: p + np.multiply.outer(np.asarray(t) - tc, v), t_c, 400.0
            )
            if window is None:
                continue
            speeds = [
                _angular_speed_deg_s(cam, p + (t - t_c) * v, v)
                for t in (window[0] + 0.5, t_c, window[1] - 0.5)
            ]
            if SATELLITE_DEG_PER_S[0] <= min(speeds) and max(speeds) <= SATELLITE_DEG_PER_S[1]:
                break
        else:
            continue
        r = float(np.linalg.norm(cam.site.ecef_to_enu(p)))
        mag_app = float(rng.uniform(2.0, 6.0))
        flare = rng.random() < cfg.satellite_flare_probability
        sat = Satellite(
            id=f"satellite-{i}",
            r0_ecef_m=p,
            v_ecef_ms=v,
            t0_unix=float(t_c),
            mag_1000km=mag_app - 5.0 * math.log10(r / 1.0e6),
            flare_t_unix=float(t_c + rng.uniform(-10.0, 10.0)) if flare else None,
            flare_dmag=float(rng.uniform(2.0, 5.0)) if flare else 0.0,
            flare_fwhm_s=float(rng.uniform(0.2, 1.0)),
        )
        frames = _frames_of(plan, *window)
        if frames is None:
            continue
        k0, k1 = frames
        layer = SatelliteLayer([sat], k_mag=cfg.extinction_mag_per_airmass)
        info = {
            "deg_per_s": speeds[1],
            "deg_per_s_range": (min(speeds), max(speeds)),
            "height_km": height / 1e3,
            "flare": flare,
        }
        truth = _layer_truth(layer, plan, k0, k1, "satellite", sat.id, info)
        if truth.n_frames_in_field:
            out.append(
                _Planned(
                    truth, k0, k1, lambda s=sat: SatelliteLayer([s], k_mag=cfg.extinction_mag_per_airmass)
                )
            )
    return out


def _plan_aircraft(plan: NightPlan) -> list[_Planned]:
    cfg, cam = plan.config, plan.camera
    rng = _rng(cfg, "aircraft")
    t0, t1 = plan.t_start_unix, plan.t_start_unix + cfg.duration_s
    out = []
    for i, t_c in enumerate(_arrival_times(cfg.aircraft_per_hour, t0 - 60.0, t1, rng)):
        height = float(rng.uniform(9000.0, 12000.0))
        p = _crossing_point(cam, rng, height, 12.0)
        lat, lon, _ = ecef_to_geodetic(p)
        east, north, _up = enu_basis(lat, lon)
        hdg = rng.uniform(0.0, 2.0 * math.pi)
        v = float(rng.uniform(200.0, 260.0)) * (math.sin(hdg) * east + math.cos(hdg) * north)
        ac = Aircraft(
            id=f"aircraft-{i}",
            icao24=f"{int(rng.integers(1, 0xFFFFFF)):06x}",
            callsign=f"SIM{i:04d}",
            r0_ecef_m=p,
            v_ecef_ms=v,
            t0_unix=float(t_c),
            lights=standard_lights(rng),
        )
        window = _window(cam, ac.position_ecef, ac.t0_unix, 900.0)
        frames = _frames_of(plan, *window) if window else None
        if frames is None:
            continue
        k0, k1 = frames
        info = {"deg_per_s": _angular_speed_deg_s(cam, p, v), "height_km": height / 1e3}
        layer = AircraftLayer([ac], k_mag=cfg.extinction_mag_per_airmass)
        truth = _layer_truth(layer, plan, k0, k1, "aircraft", ac.id, info)
        if truth.n_frames_in_field:
            out.append(
                _Planned(truth, k0, k1, lambda a=ac: AircraftLayer([a], k_mag=cfg.extinction_mag_per_airmass))
            )
    return out


def _plan_insects(plan: NightPlan) -> list[_Planned]:
    cfg = plan.config
    rng = _rng(cfg, "insects")
    t0 = plan.t_start_unix
    out = []
    for i, t_c in enumerate(
        _arrival_times(cfg.insects_per_hour, t0 + cfg.lead_in_s, t0 + cfg.duration_s, rng)
    ):
        frames = _frames_of(plan, t_c - 1.0, t_c + 1.0)
        if frames is None:
            continue
        k0, k1 = frames
        seed = int(rng.integers(2**31))
        layer = InsectLayer(1, seed)
        cam = plan.camera
        obj_id = f"insect-{cam.station_id}-{cam.camera_id}-0"  # the id InsectLayer gives its only insect
        truth = _layer_truth(layer, plan, k0, k1, "insect", obj_id, {"seed": seed})
        truth.id = f"insect-{i}"
        if truth.n_frames_in_field:
            out.append(_Planned(truth, k0, k1, lambda s=seed: InsectLayer(1, s)))
    return out


# --------------------------------------------------------------------------------------------
# Rendering


def simulate_night(config: NightConfig) -> Iterator[NightFrame]:
    """Stream the night's frames, one `NightFrame` at a time (see `render_night`)."""
    return render_night(plan_night(config))


def render_night(plan: NightPlan) -> Iterator[NightFrame]:
    """Render a planned night frame by frame: (uint8 frame, mid-exposure UTC, index, sightings).

    Layers are drawn in the simulator's order: sky, stars, meteors, Moon, clouds, satellites,
    aircraft, insects (last, since dark ones dim what is behind them)."""
    cfg, cam = plan.config, plan.camera
    exposure = cam.profile.exposure_s
    rng = _rng(cfg, "render")
    sky = SkyBackgroundLayer(cfg.sky_mag_arcsec2, cfg.extinction_mag_per_airmass)
    sky.prepare(cam, plan.frame_times(0, 1), exposure)
    stars = StarLayer(
        plan.atmosphere, cfg.extinction_mag_per_airmass, cfg.scintillation_zenith, cfg.star_limit_vmag
    )
    moon = MoonLayer(k_mag=cfg.extinction_mag_per_airmass) if cfg.moon else None
    clouds = None
    if cfg.cloud_cover > 0:
        crng = _rng(cfg, "clouds")
        clouds = CloudLayer(
            cfg.cloud_cover,
            int(crng.integers(2**31)),
            height_m=cfg.cloud_height_m,
            wind_ms=cfg.cloud_wind_ms,
            wind_dir_deg=float(crng.uniform(0, 360)),
            cameras=[cam],
            glow_mag_arcsec2=cfg.sky_mag_arcsec2,
            k_mag=cfg.extinction_mag_per_airmass,
        )
        # one deck for the whole night (drifting with the wind), cover set at mid-night
        clouds.prepare(cam, plan.frame_times(0, plan.n_frames)[[0, -1]], exposure)
    order = {kind: i for i, kind in enumerate(KINDS)}
    pending = list(plan.objects)  # sorted by first frame
    live: list[tuple[_Planned, object]] = []
    chunk = max(1, int(round(cfg.chunk_s * plan.fps)))
    for c0 in range(0, plan.n_frames, chunk):
        c1 = min(plan.n_frames, c0 + chunk)
        times = plan.frame_times(c0, c1)
        stars.prepare(cam, times, exposure)
        for layer in (moon, clouds):
            if layer is not None:
                layer.prepare(cam, times, exposure)
        while pending and pending[0].k0 < c1:
            obj = pending.pop(0)
            layer = obj.make_layer()
            layer.prepare(cam, plan.frame_times(obj.k0, obj.k1 + 1), exposure)
            live.append((obj, layer))
        live.sort(key=lambda item: order[item[0].truth.kind])
        for k in range(c0, c1):
            canvas = Canvas(cam.shape)
            sky.draw(0, canvas, rng)
            stars.draw(k - c0, canvas, rng)
            sightings = []
            for obj, layer in live:
                if obj.truth.kind != "meteor":
                    continue
                if obj.k0 <= k <= obj.k1:
                    layer.draw(k - obj.k0, canvas, rng)
                    sightings.append(_sighting(obj.truth, k))
            for layer in (moon, clouds):
                if layer is not None:
                    layer.draw(k - c0, canvas, rng)
            sightings = [_through_clouds(s, canvas.transmission) for s in sightings if s is not None]
            for obj, layer in live:
                if obj.truth.kind != "meteor" and obj.k0 <= k <= obj.k1:
                    layer.draw(k - obj.k0, canvas, rng)
                    sightings.append(_sighting(obj.truth, k))
            frame = read_out(cam, canvas, rng)
            yield NightFrame(frame, float(times[k - c0]), k, tuple(s for s in sightings if s is not None))
        live = [(obj, layer) for obj, layer in live if obj.k1 >= c1]


def _through_clouds(s: Sighting, transmission) -> Sighting:
    """The sighting with `mag_at_camera`: its magnitude dimmed by the transmission at its pixel."""
    t = np.asarray(transmission, float)
    if t.ndim == 2:
        h, w = t.shape
        t = t[min(max(int(round(s.y_px)), 0), h - 1), min(max(int(round(s.x_px)), 0), w - 1)]
    return s._replace(mag_at_camera=s.mag - 2.5 * math.log10(max(float(t), 1e-6)))


def _sighting(truth: TruthObject, k: int) -> Sighting | None:
    i = truth.at(k)
    if i is None or not truth.in_field[i]:
        return None
    return Sighting(truth.kind, truth.id, float(truth.x_px[i]), float(truth.y_px[i]), float(truth.mag[i]))
