"""One simulated meteor event seen by a network: plan it, render every camera, write the truth.

`plan_event` turns a `Scenario` into the physical set-up (the night and time, the meteoroid's
track, each camera's true model, clock and hot pixels); `render_camera` draws one camera's
frames; `simulate_event` does both and writes `truth.json` plus one recording per camera.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

from edge.astrometry.camera_model import CameraModel
from edge.camera.profiles import get_profile
from edge.camera.recording import Recording, write_recording
from edge.catalogue.showers import get_shower, solar_longitude_deg, time_of_solar_longitude
from edge.geometry.celestial import Atmosphere, icrs_to_altaz, sun_altaz, to_time
from edge.geometry.earth import Site, ecef_to_geodetic, geodetic_to_ecef
from edge.geometry.radiant import entry_velocity_ecef, geocentric_radiant
from edge.jsonsafe import to_json_safe
from edge.sim.config import CameraConfig, Scenario, StationConfig
from edge.sim.distractors import build_distractor_layers, hot_pixels_for
from edge.sim.layers import MeteorLayer, SkyBackgroundLayer, StarLayer
from edge.sim.meteor import (
    ATMOSPHERE_SCALE_HEIGHT_M,
    Flare,
    MeteorTrajectory,
    along_track_to_height,
    default_begin_height_m,
    default_end_height_m,
)
from edge.sim.render import Canvas, SimCamera, read_out

log = logging.getLogger(__name__)

TRUTH_SCHEMA = "skytrail-sim-truth/1"
MIN_RADIANT_ALT_DEG = 15.0
NIGHT_SUN_ALT_DEG = -12.0


@dataclass
class Radiant:
    shower: str | None
    ra_g_deg: float
    dec_g_deg: float
    v_g_kms: float


@dataclass
class EventPlan:
    scenario: Scenario
    radiant: Radiant
    meteor: MeteorTrajectory
    cameras: list[SimCamera]
    t_start_unix: float  # first instant recorded (true UTC)
    t_end_unix: float
    atmosphere: Atmosphere | None


def iso_utc(t_unix: float) -> str:
    return datetime.fromtimestamp(t_unix, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def network_centre(stations: list[StationConfig]) -> Site:
    ecef = np.mean([geodetic_to_ecef(s.lat_deg, s.lon_deg, s.height_m) for s in stations], axis=0)
    lat, lon, _h = ecef_to_geodetic(ecef)
    return Site(float(lat), float(lon), float(np.mean([s.height_m for s in stations])))


def choose_time_and_radiant(
    scenario: Scenario, centre: Site, rng: np.random.Generator
) -> tuple[float, Radiant]:
    """The begin time and the geocentric radiant: the configured ones, or for a shower the hour
    of its peak night when the radiant stands highest with the Sun below -12 deg."""
    m = scenario.meteor
    if m.shower:
        shower = get_shower(m.shower)
        if scenario.utc is not None:
            t = to_time(scenario.utc).unix
        else:
            t_peak = time_of_solar_longitude(shower.sol_peak_deg, scenario.year).unix
            grid = t_peak + np.arange(-16 * 3600.0, 16 * 3600.0, 600.0)
            sun_alt, _ = sun_altaz(to_time(grid), centre)
            ra, dec = shower.radiant_at(solar_longitude_deg(to_time(grid)))
            rad_alt, _ = icrs_to_altaz(ra, dec, to_time(grid), centre)
            score = np.where(sun_alt < NIGHT_SUN_ALT_DEG, rad_alt, -np.inf)
            best = int(np.argmax(score))
            if not np.isfinite(score[best]) or rad_alt[best] < MIN_RADIANT_ALT_DEG:
                raise ValueError(
                    f"meteor.shower: the {shower.code} radiant never rises above {MIN_RADIANT_ALT_DEG} deg "
                    f"at night over the network near its peak of {scenario.year}; "
                    "give utc or move the stations"
                )
            t = float(grid[best])
        ra, dec = shower.radiant_at(solar_longitude_deg(to_time(t)))
        return t, Radiant(shower.code, float(ra), float(dec), shower.v_g_kms)

    # sporadic: an explicit radiant, or a random one above the horizon on a dark night
    if scenario.utc is not None:
        t = to_time(scenario.utc).unix
    else:
        midsummer_night = to_time(f"{scenario.year}-08-12T12:00:00").unix
        grid = midsummer_night + np.arange(0, 24 * 3600.0, 600.0)
        sun_alt, _ = sun_altaz(to_time(grid), centre)
        t = float(grid[int(np.argmin(sun_alt))])
    if m.ra_g_deg is not None and m.dec_g_deg is not None:
        ra, dec = m.ra_g_deg, m.dec_g_deg
    else:
        for _ in range(1000):
            ra, dec = rng.uniform(0, 360), math.degrees(math.asin(rng.uniform(-1, 1)))
            if icrs_to_altaz(ra, dec, to_time(t), centre)[0] > MIN_RADIANT_ALT_DEG + 10:
                break
    v_g = m.v_g_kms if m.v_g_kms is not None else float(rng.uniform(12.0, 70.0))
    return t, Radiant(None, float(ra), float(dec), v_g)


def plan_meteor(
    scenario: Scenario, centre: Site, t_begin: float, radiant: Radiant, rng: np.random.Generator
) -> MeteorTrajectory:
    m = scenario.meteor
    v_inf_kms = math.sqrt(radiant.v_g_kms**2 + 11.2**2)
    h_begin = m.begin_height_km * 1e3 if m.begin_height_km else default_begin_height_m(v_inf_kms)
    h_begin += 0.0 if m.begin_height_km else rng.normal(0.0, 2000.0)
    h_end = m.end_height_km * 1e3 if m.end_height_km else default_end_height_m(h_begin, m.peak_abs_mag)
    # the middle of the luminous path, somewhere above the network
    bearing, dist = rng.uniform(0, 2 * math.pi), m.offset_km * 1e3 * math.sqrt(rng.uniform())
    mid_enu = np.array([dist * math.sin(bearing), dist * math.cos(bearing), 0.5 * (h_begin + h_end)])
    ground = Site(centre.lat_deg, centre.lon_deg, 0.0)
    mid = ground.enu_to_ecef(mid_enu)
    lat, lon, _ = ecef_to_geodetic(mid)
    mid = geodetic_to_ecef(lat, lon, 0.5 * (h_begin + h_end))
    # the velocity is defined at the begin point (gravity bends the direction slightly along the
    # track): find the begin point on the line through `mid`, a few times to converge
    begin = mid
    for _ in range(3):
        velocity = entry_velocity_ecef(
            radiant.ra_g_deg, radiant.dec_g_deg, radiant.v_g_kms, to_time(t_begin), begin
        )
        v0 = float(np.linalg.norm(velocity))
        direction = velocity / v0
        begin = mid - along_track_to_height(mid, -direction, h_begin) * direction
    length = along_track_to_height(begin, direction, h_end)
    # exponential lag s(t) = v0 t - a1 (exp(a2 t) - 1), losing `deceleration_fraction` of v0 by the end
    t_nominal = length / v0
    a2 = float(rng.uniform(3.0, 6.0)) / t_nominal
    a1 = m.deceleration_fraction * v0 / (a2 * math.exp(a2 * t_nominal))
    meteor = MeteorTrajectory(
        begin_ecef_m=begin,
        direction_ecef=direction,
        v_init_ms=v0,
        t_begin_unix=t_begin,
        duration_s=t_nominal,
        lag_a1_m=a1,
        lag_a2_per_s=a2,
        peak_abs_mag=m.peak_abs_mag,
        peak_height_m=h_end + ATMOSPHERE_SCALE_HEIGHT_M * math.log(3.0),
    )
    # the time the lagging meteoroid reaches the end height, before it would stop (speed 0)
    t_stop = math.log(v0 / (a1 * a2)) / a2 if a1 > 0 else 3 * t_nominal
    if float(meteor.distance_m(t_stop)) < length:
        raise ValueError("meteor.deceleration_fraction: the meteoroid stops before reaching the end height")
    meteor.duration_s = brentq(lambda t: float(meteor.distance_m(t)) - length, 0.0, t_stop)
    meteor.flares = [
        Flare(
            t_rel_s=float(rng.uniform(0.3, 0.9)) * meteor.duration_s,
            dmag=float(rng.uniform(-1.5, -0.5)),
            width_s=float(rng.uniform(0.02, 0.08)),
        )
        for _ in range(m.flares)
    ]
    return meteor


def plan_camera(station: StationConfig, cam: CameraConfig, rng: np.random.Generator) -> SimCamera:
    """The camera as it really is: the nominal pointing and lens, off by realistic mounting errors."""
    profile = get_profile(cam.profile)
    b = cam.binning
    focal_mm = (cam.focal_length_mm or profile.focal_length_mm) * (
        1 + rng.normal(0, cam.focal_error_fraction)
    )
    width, height = profile.width_px // b, profile.height_px // b
    model = CameraModel.from_pointing(
        width_px=width,
        height_px=height,
        pixel_pitch_um=profile.pixel_pitch_um * b,
        focal_length_mm=focal_mm,
        az_deg=(cam.az_deg + rng.normal(0, cam.pointing_error_deg)) % 360.0,
        alt_deg=float(np.clip(cam.alt_deg + rng.normal(0, cam.pointing_error_deg), 0, 90)),
        roll_deg=cam.roll_deg + rng.normal(0, cam.pointing_error_deg),
        k1=profile.k1 * (1 + rng.normal(0, 0.1)),
        k2=profile.k2 * (1 + rng.normal(0, 0.1)),
        cx_px=(width - 1) / 2 + rng.normal(0, 4.0 / b),
        cy_px=(height - 1) / 2 + rng.normal(0, 4.0 / b),
    )
    nominal = CameraModel.from_pointing(
        width_px=width,
        height_px=height,
        pixel_pitch_um=profile.pixel_pitch_um * b,
        focal_length_mm=cam.focal_length_mm or profile.focal_length_mm,
        az_deg=cam.az_deg,
        alt_deg=cam.alt_deg,
        roll_deg=cam.roll_deg,
        k1=profile.k1,
        k2=profile.k2,
    )
    return SimCamera(
        station_id=station.station_id,
        camera_id=cam.camera_id,
        site=Site(station.lat_deg, station.lon_deg, station.height_m),
        model=model,
        profile=profile,
        clock_offset_s=station.clock_offset_s,
        jitter_s=station.frame_jitter_s,
        nominal_model=nominal,
    )


def plan_event(scenario: Scenario) -> EventPlan:
    rng = np.random.default_rng(np.random.SeedSequence([scenario.seed, 0]))
    centre = network_centre(scenario.stations)
    t_begin, radiant = choose_time_and_radiant(scenario, centre, rng)
    meteor = plan_meteor(scenario, centre, t_begin, radiant, rng)
    cameras = []
    for station in scenario.stations:
        for cam in station.cameras:
            camera = plan_camera(station, cam, rng)
            camera.hot_pixels = hot_pixels_for(camera.shape, scenario.distractors.hot_pixels_per_camera, rng)
            cameras.append(camera)
    sky = scenario.sky
    atmosphere = None
    if sky.pressure_hpa > 0:
        atmosphere = Atmosphere(pressure_hpa=sky.pressure_hpa, temperature_c=sky.temperature_c)
    return EventPlan(
        scenario=scenario,
        radiant=radiant,
        meteor=meteor,
        cameras=cameras,
        t_start_unix=t_begin - scenario.margin_s,
        t_end_unix=t_begin + meteor.duration_s + scenario.margin_s,
        atmosphere=atmosphere,
    )


def frame_times(
    plan: EventPlan, camera: SimCamera, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """True mid-exposure times of a free-running camera, and the times its station's clock stamps."""
    fps = camera.profile.fps
    phase = rng.uniform(0.0, 1.0 / fps)
    n = int(math.ceil((plan.t_end_unix - plan.t_start_unix) * fps))
    t_true = plan.t_start_unix + phase + np.arange(n) / fps
    t_reported = (
        t_true + camera.clock_offset_s + rng.normal(0.0, camera.jitter_s, n)
        if camera.jitter_s
        else (t_true + camera.clock_offset_s)
    )
    return t_true, t_reported


def render_camera(
    plan: EventPlan, camera: SimCamera, distractor_layers: list, index: int
) -> tuple[Recording, dict]:
    """All frames of one camera, and its part of the truth."""
    scenario = plan.scenario
    rng = np.random.default_rng(np.random.SeedSequence([scenario.seed, 1, index]))
    t_true, t_reported = frame_times(plan, camera, rng)
    exposure = camera.profile.exposure_s
    sky = scenario.sky
    stars = StarLayer(
        plan.atmosphere, sky.extinction_mag_per_airmass, sky.scintillation_zenith, sky.star_limit_vmag
    )
    meteor = MeteorLayer(plan.meteor, plan.atmosphere, sky.extinction_mag_per_airmass)
    layers = [
        SkyBackgroundLayer(sky.sky_mag_arcsec2, sky.extinction_mag_per_airmass),
        stars,
        meteor,
        *distractor_layers,
    ]
    for layer in layers:
        layer.prepare(camera, t_true, exposure)
    frames = np.empty((len(t_true), *camera.shape), np.uint8)
    frame_truth = []
    for k in range(len(t_true)):
        canvas = Canvas(camera.shape)
        drawn = {layer.name: layer.draw(k, canvas, rng) for layer in layers}
        frames[k] = read_out(camera, canvas, rng)
        frame_truth.append(
            {
                "index": k,
                "t_true_unix": float(t_true[k]),
                "t_reported_unix": float(t_reported[k]),
                "utc_true": iso_utc(t_true[k]),
                "utc_reported": iso_utc(t_reported[k]),
                "meteor": drawn.get("meteor"),
                "distractors": [
                    item for layer in distractor_layers for item in (drawn.get(layer.name) or [])
                ],
            }
        )
    mid = len(t_true) // 2
    site = camera.site
    meta = {
        "station_id": camera.station_id,
        "camera_id": camera.camera_id,
        "exposure_s": exposure,
        "fps": camera.profile.fps,
        "profile": camera.profile.name,
        "site": {"lat_deg": site.lat_deg, "lon_deg": site.lon_deg, "height_m": site.height_m},
        "time_quality": {"source": "simulated", "estimated_error_s": camera.jitter_s, "pps_locked": False},
        "simulated": True,
        # what the station's configuration says about the camera: where calibration starts
        "nominal_model": camera.nominal_model.to_dict() if camera.nominal_model else None,
        # the weather the station would read from its sensors (None: refraction off)
        "atmosphere": None if plan.atmosphere is None else vars(plan.atmosphere),
    }
    truth = {
        "station_id": camera.station_id,
        "camera_id": camera.camera_id,
        "file": f"{camera.station_id}/{camera.camera_id}.npz",
        "profile": camera.profile.to_dict(),
        "model": camera.model.to_dict(),
        "clock_offset_s": camera.clock_offset_s,
        "frame_jitter_s": camera.jitter_s,
        "hot_pixels": [
            [int(x), int(y)] for x, y in zip(camera.hot_pixels[0], camera.hot_pixels[1], strict=True)
        ]
        if camera.hot_pixels is not None
        else [],
        "meteor_frames": sum(1 for f in frame_truth if f["meteor"] and f["meteor"]["in_frame"]),
        "frames": frame_truth,
        "stars_mid_frame": {"index": mid, "stars": stars.truth(mid)},
    }
    return Recording(frames=frames, utc_unix_s=t_reported, meta=meta), truth


def meteor_truth(plan: EventPlan) -> dict:
    m = plan.meteor
    t_end = m.t_begin_unix + m.duration_s
    begin_lat, begin_lon, begin_h = (float(v) for v in ecef_to_geodetic(m.begin_ecef_m))
    end_lat, end_lon, end_h = (float(v) for v in ecef_to_geodetic(m.end_ecef_m))
    back = geocentric_radiant(m.begin_ecef_m, m.direction_ecef * m.v_init_ms, to_time(m.t_begin_unix))
    return {
        "shower": plan.radiant.shower,
        "radiant_geocentric": {
            "ra_deg": plan.radiant.ra_g_deg,
            "dec_deg": plan.radiant.dec_g_deg,
            "v_g_kms": plan.radiant.v_g_kms,
        },
        "radiant_from_state": {
            "ra_deg": float(back.ra_deg),
            "dec_deg": float(back.dec_deg),
            "v_g_kms": float(back.v_g_kms),
            "v_inf_kms": float(back.v_inf_kms),
            "zenith_attraction_deg": float(back.zenith_attraction_deg),
        },
        "solar_longitude_deg": float(solar_longitude_deg(to_time(m.t_begin_unix))),
        "v_init_ecef_kms": m.v_init_ms / 1e3,
        "v_end_ecef_kms": float(m.speed_ms(m.duration_s)) / 1e3,
        "begin": {
            "utc": iso_utc(m.t_begin_unix),
            "t_unix": m.t_begin_unix,
            "lat_deg": begin_lat,
            "lon_deg": begin_lon,
            "height_m": begin_h,
            "ecef_m": m.begin_ecef_m.tolist(),
        },
        "end": {
            "utc": iso_utc(t_end),
            "t_unix": t_end,
            "lat_deg": end_lat,
            "lon_deg": end_lon,
            "height_m": end_h,
            "ecef_m": m.end_ecef_m.tolist(),
        },
        "duration_s": m.duration_s,
        "trajectory": m.to_dict(),
    }


def simulate_event(scenario: Scenario, out_dir: str | Path) -> dict:
    """Render every camera of the scenario into `out_dir` and write `out_dir/truth.json`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = plan_event(scenario)
    world_rng = np.random.default_rng(np.random.SeedSequence([scenario.seed, 2]))
    distractors = build_distractor_layers(
        scenario.distractors,
        plan.cameras,
        plan.t_start_unix,
        plan.t_end_unix - plan.t_start_unix,
        world_rng,
        k_mag=scenario.sky.extinction_mag_per_airmass,
        sky_mag_arcsec2=scenario.sky.sky_mag_arcsec2,
    )
    cameras_truth = []
    for index, camera in enumerate(plan.cameras):
        recording, truth = render_camera(plan, camera, distractors, index)
        write_recording(out / truth["file"], recording)
        log.info(
            "simulated station=%s camera=%s frames=%d meteor_frames=%d",
            camera.station_id,
            camera.camera_id,
            len(recording.frames),
            truth["meteor_frames"],
        )
        cameras_truth.append(truth)
    truth = {
        "schema": TRUTH_SCHEMA,
        "scenario": scenario.model_dump(mode="json"),
        "t_start_unix": plan.t_start_unix,
        "t_end_unix": plan.t_end_unix,
        "refraction": None if plan.atmosphere is None else vars(plan.atmosphere),
        "meteor": meteor_truth(plan),
        "stations": [
            {
                "station_id": s.station_id,
                "lat_deg": s.lat_deg,
                "lon_deg": s.lon_deg,
                "height_m": s.height_m,
                "clock_offset_s": s.clock_offset_s,
            }
            for s in scenario.stations
        ],
        "cameras": cameras_truth,
        "distractors": [d.describe() for d in distractors if hasattr(d, "describe")],
    }
    tmp = out / "truth.json.part"
    tmp.write_text(json.dumps(to_json_safe(truth), indent=1, allow_nan=False))
    tmp.replace(out / "truth.json")
    return truth
