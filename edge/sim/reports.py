"""Observation reports, as stations would send them, made from the simulator's ground truth.

What it is for: the bridge's correlation, trajectory and orbit steps are evaluated on simulated
events without running the detector and astrometry: ``reports_from_truth`` reads a rendered
event's truth (``simulate_event``'s dict), ``reports_from_plan`` works from an ``EventPlan``
alone (no frames drawn: cheap enough for thousands of events; ``plan_tracks`` gives the true
per-frame samples it starts from, true times included, for comparing with ground truth). Both
pass the true track through ``report_from_track``, so they make the same reports.

What a report holds, per camera that saw the meteor in at least ``min_frames`` frames:
- frame times: the time the station's clock stamped (``t_reported``: true mid-exposure time plus
  the station's clock offset and frame jitter), as a real station sends them;
- x_px, y_px: the meteor's true mid-exposure pixel position plus Gaussian noise of
  ``noise_arcmin`` per axis on the sky (converted to pixels with the camera's local scale);
- ra_deg, dec_deg: the noisy pixel through the camera's TRUE model (a perfect calibration) to
  observed, refracted alt/az, then to ICRS with the simulator's refraction, at the reported time:
  the convention of docs/design.md ("the ICRS direction of a star that would appear at the same
  place at that instant"), which the bridge converts back with the same transform;
- alt_deg, az_deg: that apparent alt/az, ``refraction_applied`` True (False when the simulated
  sky had no atmosphere); mag: the truth's apparent magnitude plus ``mag_sigma`` noise;
- position_sigma_arcmin = noise_arcmin; the true camera model as ``camera_model``; the station's
  place from the scenario; time quality ``simulated`` (no PPS: the contract reserves
  ``pps_locked`` for GPS PPS), with the frame jitter as its error; created_utc = the last frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from edge.astrometry.camera_model import CameraModel
from edge.geometry.celestial import Atmosphere, altaz_to_icrs
from edge.geometry.earth import Site, enu_to_altaz
from edge.protocol import (
    CameraModelSpec,
    DetectorInfo,
    FrameMeasurement,
    Location,
    ObservationReport,
    TimeQuality,
    TimeSource,
    make_observation_id,
)
from edge.sim.event import EventPlan, frame_times
from edge.sim.render import SimCamera

__all__ = ["TrackSamples", "plan_tracks", "report_from_track", "reports_from_plan", "reports_from_truth"]

_ARCMIN_PER_RAD = 60.0 * 180.0 / np.pi


@dataclass(frozen=True)
class TrackSamples:
    """The true meteor as one camera saw it, frame by frame (arrays of one length).

    frame_index: frame numbers in the camera's stream; t_reported_unix: times the station's clock
    stamped (POSIX s); x_px, y_px: true mid-exposure pixel positions; mag: apparent magnitudes
    (inf or NaN where not seen); t_true_unix: the true mid-exposure times (POSIX s, UTC), when
    known. The wire contract keeps times to the microsecond, so a comparison with ground truth
    needs these rather than the report's stamps minus the clock offset (a fast meteor moves
    about 0.02 arcsec in half a microsecond).
    """

    frame_index: np.ndarray
    t_reported_unix: np.ndarray
    x_px: np.ndarray
    y_px: np.ndarray
    mag: np.ndarray
    t_true_unix: np.ndarray | None = None


def _utc(t_unix: float) -> datetime:
    return datetime.fromtimestamp(float(t_unix), UTC)


def _local_scale_arcmin_per_px(
    model: CameraModel, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Angular size (arcmin) of one pixel step in x and in y at each position (distortion included)."""

    def step(dx: float, dy: float) -> np.ndarray:
        a = model.pixel_to_enu(x - 0.5 * dx, y - 0.5 * dy)
        b = model.pixel_to_enu(x + 0.5 * dx, y + 0.5 * dy)
        return np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1)) * _ARCMIN_PER_RAD

    return step(1.0, 0.0), step(0.0, 1.0)


def _wrap360(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, float) % 360.0
    return np.where(a >= 360.0, a - 360.0, a)


def report_from_track(
    *,
    station_id: str,
    camera_id: str,
    site: Site,
    model: CameraModel,
    track: TrackSamples,
    refraction: Atmosphere | None,
    noise_arcmin: float,
    rng: np.random.Generator,
    time_quality: TimeQuality,
    mag_sigma: float = 0.05,
    min_frames: int = 3,
    limiting_mag: float | None = None,
    event_counter: int = 0,
) -> ObservationReport | None:
    """One camera's ObservationReport of a true track, with measurement noise; None when fewer than
    ``min_frames`` frames are usable (on the sensor, finite, brighter than ``limiting_mag`` if given,
    and with strictly increasing reported times). noise_arcmin: 1-sigma position noise per axis on
    the sky (0 for exact positions); mag_sigma: magnitude noise (mag). See the module docstring."""
    if not noise_arcmin >= 0 or not mag_sigma >= 0:
        raise ValueError(f"noise_arcmin ({noise_arcmin}) and mag_sigma ({mag_sigma}) must be >= 0")
    if min_frames < 2:
        raise ValueError(f"min_frames: {min_frames} < 2 (a report needs at least 2 frames)")
    idx = np.asarray(track.frame_index, int)
    t_rep = np.asarray(track.t_reported_unix, float)
    x = np.asarray(track.x_px, float)
    y = np.asarray(track.y_px, float)
    mag = np.asarray(track.mag, float)
    usable = np.isfinite(x) & np.isfinite(y) & np.isfinite(t_rep) & np.isfinite(mag) & model.in_frame(x, y)
    if limiting_mag is not None:
        usable &= mag <= limiting_mag
    order = np.argsort(idx[usable], kind="stable")
    idx, t_rep, x, y, mag = (a[usable][order] for a in (idx, t_rep, x, y, mag))
    # frame jitter can reorder stamps in principle: keep frames whose stamp (in microseconds) advances
    keep = np.ones(idx.size, bool)
    last = -np.inf
    for k, t in enumerate(np.round(t_rep * 1e6)):
        keep[k] = t > last
        last = max(last, t) if keep[k] else last
    idx, t_rep, x, y, mag = (a[keep] for a in (idx, t_rep, x, y, mag))
    if idx.size < min_frames:
        return None

    if noise_arcmin > 0:
        sx, sy = _local_scale_arcmin_per_px(model, x, y)
        x = x + rng.normal(0.0, 1.0, x.size) * noise_arcmin / sx
        y = y + rng.normal(0.0, 1.0, y.size) * noise_arcmin / sy
    if mag_sigma > 0:
        mag = mag + rng.normal(0.0, mag_sigma, mag.size)
    alt, az = enu_to_altaz(model.pixel_to_enu(x, y))  # observed: the model maps what the camera sees
    atmosphere = refraction if refraction is not None and refraction.pressure_hpa > 0 else None
    ra, dec = altaz_to_icrs(alt, az, t_rep, site, refraction=atmosphere)
    ra, az = _wrap360(ra), _wrap360(az)

    frames = [
        FrameMeasurement(
            utc=_utc(t_rep[k]),
            frame_index=int(idx[k]),
            x_px=float(x[k]),
            y_px=float(y[k]),
            ra_deg=float(ra[k]),
            dec_deg=float(dec[k]),
            alt_deg=float(alt[k]),
            az_deg=float(az[k]),
            position_sigma_arcmin=float(noise_arcmin),
            mag=float(mag[k]),
            mag_sigma=float(mag_sigma),
        )  # fmt: skip
        for k in range(idx.size)
    ]
    return ObservationReport(
        station_id=station_id,
        observation_id=make_observation_id(station_id, camera_id, frames[0].utc, event_counter),
        camera_id=camera_id,
        location=Location(lat_deg=site.lat_deg, lon_deg=site.lon_deg, height_m=site.height_m),
        created_utc=frames[-1].utc,
        time_quality=time_quality,
        camera_model=CameraModelSpec(**model.to_dict()),
        frames=frames,
        refraction_applied=atmosphere is not None,
        detector=DetectorInfo(peak_mag=float(np.min(mag)), n_frames=len(frames)),
    )


def _time_quality(jitter_s: float) -> TimeQuality:
    return TimeQuality(
        source=TimeSource.SIMULATED,
        estimated_error_s=float(jitter_s),
        pps_locked=False,
        note="simulated station clock (offset not disclosed)",
    )


def reports_from_truth(
    truth: dict,
    *,
    noise_arcmin: float = 1.0,
    rng: np.random.Generator,
    min_frames: int = 3,
    t_offset_from_truth: bool = True,
    mag_sigma: float = 0.05,
    limiting_mag: float | None = None,
) -> list[ObservationReport]:
    """Reports of every camera in a rendered event's truth (``simulate_event``'s dict, or truth.json
    read back) that saw the meteor (``in_frame``) in at least ``min_frames`` frames.

    t_offset_from_truth: frame times are the truth's stamped times (``t_reported_unix``: true time
    plus the station's clock offset and jitter) when True, the true times when False (a perfect
    clock). rng: the noise generator. See ``report_from_track`` for the other arguments.
    """
    stations = {s["station_id"]: s for s in truth["stations"]}
    refraction = Atmosphere(**truth["refraction"]) if truth.get("refraction") else None
    reports: list[ObservationReport] = []
    for cam in truth["cameras"]:
        seen = [f for f in cam["frames"] if f.get("meteor") and f["meteor"].get("in_frame")]
        if len(seen) < min_frames:
            continue
        st = stations[cam["station_id"]]
        key = "t_reported_unix" if t_offset_from_truth else "t_true_unix"
        track = TrackSamples(
            frame_index=np.array([f["index"] for f in seen]),
            t_reported_unix=np.array([f[key] for f in seen], float),
            t_true_unix=np.array([f["t_true_unix"] for f in seen], float),
            x_px=np.array([f["meteor"]["x_px"] for f in seen], float),
            y_px=np.array([f["meteor"]["y_px"] for f in seen], float),
            mag=np.array([np.nan if f["meteor"]["apparent_mag"] is None else f["meteor"]["apparent_mag"]
                          for f in seen], float),
        )  # fmt: skip
        report = report_from_track(
            station_id=cam["station_id"],
            camera_id=cam["camera_id"],
            site=Site(st["lat_deg"], st["lon_deg"], st["height_m"]),
            model=CameraModel.from_dict(cam["model"]),
            track=track,
            refraction=refraction,
            noise_arcmin=noise_arcmin,
            rng=rng,
            time_quality=_time_quality(cam.get("frame_jitter_s", 0.0)),
            mag_sigma=mag_sigma,
            min_frames=min_frames,
            limiting_mag=limiting_mag,
        )
        if report is not None:
            reports.append(report)
    return reports


def plan_tracks(
    plan: EventPlan, *, fps_phase_rng: np.random.Generator
) -> list[tuple[SimCamera, TrackSamples]]:
    """The true meteor as every camera of an ``EventPlan`` (``plan_event``) saw it, without rendering:
    frame times from ``edge.sim.event.frame_times`` (a random phase of the free-running camera, the
    station's clock offset and jitter, drawn from ``fps_phase_rng`` camera by camera), and the
    meteor's position and apparent magnitude at each true mid-exposure time within 0.1 s of the
    luminous flight, from the same ``MeteorLayer.observe`` the renderer uses. Cameras with no such
    frame are left out. ``reports_from_plan`` turns these into reports; the same generator state
    gives the same tracks.
    """
    from edge.sim.layers import MeteorLayer  # the renderer's own geometry and photometry

    layer = MeteorLayer(plan.meteor, plan.atmosphere, plan.scenario.sky.extinction_mag_per_airmass)
    t_first = plan.meteor.t_begin_unix - 0.1
    t_last = plan.meteor.t_begin_unix + plan.meteor.duration_s + 0.1
    tracks: list[tuple[SimCamera, TrackSamples]] = []
    for camera in plan.cameras:
        t_true, t_reported = frame_times(plan, camera, fps_phase_rng)
        index = np.flatnonzero((t_true >= t_first) & (t_true <= t_last))  # only frames near the meteor
        if index.size == 0:
            continue
        # the clock stamps whole microseconds (the wire contract's resolution): the frame's true time
        # is the one its stamp stands for, so reported and true times agree exactly (offset, jitter)
        stamps = np.round(t_reported[index] * 1e6) / 1e6
        t_mid = t_true[index] + (stamps - t_reported[index])
        obs = layer.observe(camera, t_mid)
        track = TrackSamples(index, stamps, obs["x_px"], obs["y_px"], obs["mag"], t_mid)
        tracks.append((camera, track))
    return tracks


def reports_from_plan(
    plan: EventPlan,
    *,
    fps_phase_rng: np.random.Generator,
    noise_arcmin: float = 1.0,
    rng: np.random.Generator | None = None,
    min_frames: int = 3,
    mag_sigma: float = 0.05,
    limiting_mag: float | None = None,
) -> list[ObservationReport]:
    """Reports of every camera of an ``EventPlan`` (``plan_event``) that sees the meteor in at least
    ``min_frames`` frames, without rendering: the true tracks of ``plan_tracks`` (frame times drawn
    from ``fps_phase_rng`` first, for all cameras), then measurement noise from ``rng`` (default:
    ``fps_phase_rng``) through ``report_from_track``. A frame counts when the mid-exposure position
    is on the sensor and the meteor is lit (and, if given, brighter than ``limiting_mag``).
    """
    noise_rng = fps_phase_rng if rng is None else rng
    reports: list[ObservationReport] = []
    for camera, track in plan_tracks(plan, fps_phase_rng=fps_phase_rng):
        report = report_from_track(
            station_id=camera.station_id,
            camera_id=camera.camera_id,
            site=camera.site,
            model=camera.model,
            track=track,
            refraction=plan.atmosphere,
            noise_arcmin=noise_arcmin,
            rng=noise_rng,
            time_quality=_time_quality(camera.jitter_s),
            mag_sigma=mag_sigma,
            min_frames=min_frames,
            limiting_mag=limiting_mag,
        )
        if report is not None:
            reports.append(report)
    return reports
