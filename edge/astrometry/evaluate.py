"""How well automatic calibration and meteor measurement do against simulator truth.

Used by `skytrail eval astrometry` and the tests. Each event is simulated (`edge.sim.event`) for one
station with two cameras whose true mounting is off the configured one (pointing by
`pointing_error_deg` RMS per axis, focal length by `focal_error_fraction` RMS), one aimed near the
meteor. Every camera is calibrated from its mean frame starting from the *configured* (nominal)
model, then:

* star residual: the fit's median angle between catalogue stars and the model's directions of their
  centroids (`Calibration.residual_arcmin`), and the model's error against the true model over the
  sensor;
* meteor position error: per frame with the meteor brighter than +1 and in frame, the centroid in
  (frame - mean of the meteor-free frames before it), turned into RA/Dec by the calibrated model and
  compared with the true RA/Dec of the light-weighted centre of that frame's streak (the truth's
  centroid pixel through the true model). The truth's RA/Dec at mid-exposure is also compared
  (`meteor_midexposure_error_median_arcmin`): the light-weighted centre is off mid-exposure by a
  fraction of a pixel when the meteor brightens or fades within the exposure, which is a timing
  matter for the trajectory, not an astrometric error;
* photometric RMS: stars of the mean frame fitted with `edge.photometry.fit.fit_photometry`, the
  meteor's flux per frame (`edge.photometry.meteor.meteor_fluxes`) turned into V above the
  atmosphere and compared with the truth's per-frame magnitude (unsaturated frames only).
"""

from __future__ import annotations

import logging
import math
import tempfile
from pathlib import Path

import numpy as np

from edge.astrometry.calibrate import calibrate
from edge.astrometry.camera_model import CameraModel
from edge.astrometry.measure import meteor_centroid, meteor_positions, pixel_to_sky
from edge.camera.profiles import get_profile
from edge.camera.recording import read_recording
from edge.geometry.celestial import Atmosphere
from edge.geometry.earth import Site
from edge.photometry.extinction import airmass
from edge.photometry.fit import fit_photometry, magnitude
from edge.photometry.meteor import meteor_fluxes, saturated_frames
from edge.photometry.stars import aperture_fluxes
from edge.sim.config import CameraConfig, Scenario, StationConfig
from edge.sim.event import plan_event, simulate_event

log = logging.getLogger(__name__)

BRIGHTER_THAN_MAG = 1.0
EDGE_PX = 10


def nominal_model(cam: CameraConfig) -> CameraModel:
    """The model a station would be configured with: the camera's nominal pointing and its profile's lens."""
    p = get_profile(cam.profile)
    b = cam.binning
    return CameraModel.from_pointing(
        width_px=p.width_px // b,
        height_px=p.height_px // b,
        pixel_pitch_um=p.pixel_pitch_um * b,
        focal_length_mm=cam.focal_length_mm or p.focal_length_mm,
        az_deg=cam.az_deg,
        alt_deg=cam.alt_deg,
        roll_deg=cam.roll_deg,
        k1=p.k1,
        k2=p.k2,
    )


def _angle_arcmin(ra1, dec1, ra2, dec2) -> np.ndarray:
    a1, d1, a2, d2 = (np.radians(np.asarray(v, float)) for v in (ra1, dec1, ra2, dec2))
    s = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((a2 - a1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(s, 0, 1)))) * 60.0


def event_scenario(
    seed: int, binning: int, pointing_error_deg: float, focal_error_fraction: float
) -> Scenario:
    """One station, two cameras: the first aimed (nominally) near the meteor's mid-point, the second 90 deg
    away in azimuth; the true cameras are off by the given errors."""
    meteor = {"shower": "PER", "peak_abs_mag": -1.0, "offset_km": 60.0}
    probe = Scenario(
        seed=seed,
        margin_s=0.3,
        stations=[
            StationConfig(
                station_id="st1", lat_deg=40.45, lon_deg=116.6, height_m=100.0,
                cameras=[CameraConfig(camera_id="cam1", az_deg=0.0, alt_deg=45.0)],
            )
        ],
        meteor=meteor,
    )  # fmt: skip
    plan = plan_event(probe)
    site = Site(40.45, 116.6, 100.0)
    mid = plan.meteor.position_ecef(plan.meteor.t_begin_unix + 0.5 * plan.meteor.duration_s)
    alt, az, _ = site.altaz_of(mid)
    aim_alt = float(np.clip(alt, 30.0, 70.0))
    cams = [
        CameraConfig(
            camera_id=f"cam{j + 1}", az_deg=float(az + 90.0 * j) % 360.0, alt_deg=aim_alt if j == 0 else 45.0,
            binning=binning, pointing_error_deg=pointing_error_deg, focal_error_fraction=focal_error_fraction,
        )
        for j in range(2)
    ]  # fmt: skip
    station = probe.stations[0].model_copy(update={"cameras": cams})
    return probe.model_copy(update={"stations": [station]})


def _meteor_measure(rec, cam_truth: dict, model, true_model, site, atmosphere, residual_arcmin, fit, k_true):
    """Per-frame position errors (arcmin; against the streak's light-weighted centre and against
    mid-exposure), magnitude errors and the number of frames measured, for one camera."""
    frames = rec.frames
    first = next((f["index"] for f in cam_truth["frames"] if f["meteor"] is not None), None)
    if not cam_truth["meteor_frames"] or first is None or first < 2:
        return [], [], [], 0
    background = frames[:first].astype(float).mean(axis=0)
    noise = float(np.std(frames[0].astype(float) - background))
    h, w = background.shape
    rows = []  # (x_px, y_px, sigma_px, t_unix, frame index, truth) per measured frame
    for f in cam_truth["frames"]:
        m = f["meteor"]
        if not m or not m["in_frame"] or m["apparent_mag"] > BRIGHTER_THAN_MAG:
            continue
        cx, cy = m["centroid_x_px"], m["centroid_y_px"]
        if not (EDGE_PX < cx < w - EDGE_PX and EDGE_PX < cy < h - EDGE_PX):
            continue
        x, y, s = meteor_centroid(frames[f["index"]].astype(float) - background, cx, cy, noise_adu=noise)
        if not np.isfinite(x):
            continue
        rows.append((x, y, s, rec.utc_unix_s[f["index"]], f["index"], m))
    if not rows:
        return [], [], [], 0
    xs, ys, sig, ts, idx = (np.array(col) for col in list(zip(*rows, strict=True))[:5])
    truth = [r[5] for r in rows]
    pos = meteor_positions(
        model, site, ts, xs, ys, atmosphere, centroid_sigma_px=sig, fit_residual_arcmin=residual_arcmin,
    )  # fmt: skip
    cx_true = [m["centroid_x_px"] for m in truth]
    cy_true = [m["centroid_y_px"] for m in truth]
    true_centre = pixel_to_sky(true_model, site, ts, cx_true, cy_true, atmosphere)
    err = _angle_arcmin(pos["ra_deg"], pos["dec_deg"], true_centre["ra_deg"], true_centre["dec_deg"])
    err_mid = _angle_arcmin(
        pos["ra_deg"], pos["dec_deg"], [m["ra_deg"] for m in truth], [m["dec_deg"] for m in truth]
    )
    dmag: list[float] = []
    if fit is not None and fit.ok:
        flux = meteor_fluxes(frames, xs, ys, idx, background)
        sat = saturated_frames(frames, xs, ys, idx)
        x_air = airmass(pos["alt_deg"])
        mag = magnitude(fit, flux, x_air)
        true_above = np.array([m["apparent_mag"] for m in truth]) - k_true * airmass(
            [m["alt_deg"] for m in truth]
        )
        good = np.isfinite(mag) & ~sat
        dmag = list(mag[good] - true_above[good])
    return list(err), list(err_mid), dmag, len(rows)


def evaluate_astrometry(
    *,
    events: int = 6,
    seed: int = 1,
    binning: int = 1,
    pointing_error_deg: float = 2.0,
    focal_error_fraction: float = 0.02,
    out_dir: str | Path | None = None,
) -> dict:
    """Simulate `events` events (seeds seed, seed + 1, ...), calibrate and measure; summary figures.

    With the defaults the true cameras are off their configured pointing by 2 deg RMS per axis
    (az, alt, roll: up to about 5 deg) and focal length by 2 % RMS (up to about 5 %); the largest
    offsets met are reported. binning=1 is the full 1920x1080 8 mm camera.
    """
    if events < 1:
        raise ValueError(f"events: {events} must be at least 1")
    star_res, model_err, pos_err, mid_err, dmag = [], [], [], [], []
    n_cams = n_ok = 0
    max_point = max_focal = 0.0
    per_camera = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(out_dir) if out_dir is not None else Path(tmp)
        for k in range(events):
            scenario = event_scenario(seed + k, binning, pointing_error_deg, focal_error_fraction)
            out = base / f"event{k}"
            truth = simulate_event(scenario, out)
            atmosphere = Atmosphere(**truth["refraction"]) if truth["refraction"] else None
            k_true = scenario.sky.extinction_mag_per_airmass
            for cam_cfg, cam_truth in zip(scenario.stations[0].cameras, truth["cameras"], strict=True):
                rec = read_recording(out / cam_truth["file"])
                nominal = nominal_model(cam_cfg)
                true_model = CameraModel.from_dict(cam_truth["model"])
                axis_off = math.degrees(
                    math.acos(np.clip(true_model.rotation[:, 2] @ nominal.rotation[:, 2], -1, 1))
                )
                roll_off = abs((true_model.pointing[2] - nominal.pointing[2] + 180.0) % 360.0 - 180.0)
                max_point = max(max_point, axis_off, roll_off)
                max_focal = max(max_focal, abs(true_model.focal_px / nominal.focal_px - 1))
                site = Site(**rec.meta["site"])
                mean = rec.frames.astype(float).mean(axis=0)
                cal = calibrate(
                    mean,
                    site=site,
                    t_unix=float(np.mean(rec.utc_unix_s)),
                    nominal=nominal,
                    atmosphere=atmosphere,
                )
                n_cams += 1
                row = {
                    "event": k, "camera": cam_cfg.camera_id, "ok": cal.ok, "reason": cal.reason,
                    "n_stars": cal.n_stars, "residual_arcmin": cal.residual_arcmin,
                    "axis_offset_deg": axis_off, "roll_offset_deg": roll_off,
                }  # fmt: skip
                if not cal.ok:
                    per_camera.append(row)
                    continue
                n_ok += 1
                star_res.append(cal.residual_arcmin)
                yy, xx = np.mgrid[0 : nominal.height_px : 16, 0 : nominal.width_px : 16]
                v1, v2 = cal.model.pixel_to_enu(xx, yy), true_model.pixel_to_enu(xx, yy)
                ang = np.degrees(np.arccos(np.clip(np.sum(v1 * v2, axis=-1), -1, 1))) * 60.0
                model_err.append(float(np.median(ang)))
                row["model_error_median_arcmin"] = float(np.median(ang))
                m = cal.matched
                flux, ferr = aperture_fluxes(mean, m["x_px"], m["y_px"])
                fit = fit_photometry(
                    flux, m["vmag"], m["bv"], airmass(m["alt_deg"]), flux_err_adu=ferr, vi=m["vi"]
                )
                row["photometry_fit_rms_mag"] = fit.rms_mag
                err, err_mid, dm, n_frames = _meteor_measure(
                    rec, cam_truth, cal.model, true_model, site, atmosphere, cal.residual_arcmin, fit, k_true
                )
                pos_err += err
                mid_err += err_mid
                dmag += dm
                row["meteor_frames_measured"] = n_frames
                per_camera.append(row)
                log.info("eval astrometry %s", row)

    def med(v):
        return float(np.median(v)) if len(v) else None

    return {
        "events": events,
        "cameras": n_cams,
        "binning": binning,
        "calibrated_fraction": n_ok / n_cams if n_cams else 0.0,
        "star_residual_median_arcmin": med(star_res),
        "model_error_median_arcmin": med(model_err),
        "meteor_position_error_median_arcmin": med(pos_err),
        "meteor_position_error_p90_arcmin": float(np.percentile(pos_err, 90)) if pos_err else None,
        "meteor_midexposure_error_median_arcmin": med(mid_err),
        "meteor_frames": len(pos_err),
        "photometry_rms_mag": float(np.sqrt(np.mean(np.square(dmag)))) if dmag else None,
        "photometry_frames": len(dmag),
        "max_pointing_offset_deg": max_point,
        "max_focal_offset_fraction": max_focal,
        "per_camera": per_camera,
    }
