"""The distractor configuration and the factory that places distractors across the cameras."""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from edge.geometry.earth import ecef_to_geodetic, enu_basis
from edge.geometry.radiant import GM_EARTH_M3_S2
from edge.sim.distractors.aircraft import Aircraft, AircraftLayer, standard_lights
from edge.sim.distractors.clouds import CloudLayer
from edge.sim.distractors.common import EARTH_RADIUS_M, EXTINCTION_K_MAG
from edge.sim.distractors.hot_pixels import hot_pixels_for
from edge.sim.distractors.insects import InsectLayer
from edge.sim.distractors.moon import MoonLayer
from edge.sim.distractors.satellites import Satellite, SatelliteLayer
from edge.sim.render import SimCamera


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
