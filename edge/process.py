"""`skytrail process DIR`: detect and measure the meteors in frame recordings, and write their products.

Input: a directory of recordings (`edge.camera.recording`, `STATION/CAMERA.npz`), as written by
`skytrail sim event` or by a station's file recorder. Each recording's `meta` must give the
station's `site` and the camera's `nominal_model` (CameraModel.to_dict() of the configured
pointing and lens: where the calibration starts); `atmosphere` (pressure_hpa, temperature_c;
pressure 0: no refraction) is optional, the ISA standard at the site's height by default.
Simulator truth is never read.

Per recording: the C detector (`edge.detect.detector`) runs over the frames; each "fast" event
is calibrated on the mean of the frames without the meteor (`edge.astrometry.calibrate`, keeping
the camera's last good model as the fallback), its frames are measured (centroids,
`edge.astrometry.measure`; fluxes, `edge.photometry.meteor`; the per-event photometric fit on the
calibration stars, `edge.photometry.fit`) and the products are written as
`OUT/<station>/<camera>/<observation_id>.{fits,png,mp4,ecsv,json}`.

Meteor positions are meant as the meteor's place at mid-exposure (the frame's time stamp), as the
trajectory solver assumes. Three things make a frame's light-weighted centroid differ from it:
- a frame's light is a streak: the centroid sits toward its brighter end when the meteor brightens
  or fades during the exposure. With the brightness varying as exp(k s) along a streak of length
  l, the centroid is (l/2) L(k l/2) ahead of the middle (L(x) = coth x - 1/x, the Langevin
  function); k l is taken from the measured fluxes of the neighbouring frames and the shift is
  removed (`streak_brightness_shift`; measured on a simulated Perseid: 0.3-1.3 px before, <0.2 px
  after);
- the first and last frames of a track: the meteor may begin or end inside the exposure, so the
  streak is truncated by an unknown amount (up to half the streak). Like WMPL, which lets the
  solver down-weight or ignore such points, they are kept, with the truncation's uncertainty
  (l / sqrt(12)) added to their position sigma, so the solver gives them little weight;
- noise pixels in a faint frame: the centroid box is cut to a strip along the track (a fitted
  line through the detections), so noise away from the streak does not pull the centroid
  across the track (measured: a +3.7 mag end frame 1.2 px off across the track with a square box).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from edge.astrometry.calibrate import Calibration, calibrate
from edge.astrometry.camera_model import CameraModel
from edge.astrometry.measure import meteor_centroid, meteor_positions
from edge.camera.recording import Recording, read_recording
from edge.detect.detector import Detector, DetectorConfig, Event
from edge.geometry.celestial import Atmosphere
from edge.geometry.earth import Site
from edge.photometry.extinction import airmass
from edge.photometry.fit import PhotometricFit, fit_photometry, magnitude
from edge.photometry.meteor import meteor_fluxes, saturated_frames, streak_apertures
from edge.photometry.stars import aperture_fluxes, peak_values
from edge.products.fits import FitsProduct, write_fits
from edge.products.gfe import gfe_table, write_gfe
from edge.products.json_report import describe_product, write_report
from edge.products.mp4 import write_mp4
from edge.products.png import ClassifierResult, overview_metadata, render_overview, write_png
from edge.products.wcs import fit_wcs
from edge.protocol import ObservationReport
from edge.protocol.models import (
    AircraftMatch,
    CameraModelSpec,
    Classification,
    DetectorInfo,
    FrameMeasurement,
    Location,
    Photometry,
    ProductKind,
    TimeQuality,
    TimeSource,
    make_observation_id,
)

log = logging.getLogger(__name__)

SLOW_DEG_S = 5.0  # slower movers are satellites/aircraft-like (4 px/frame on the M3 8 mm camera)
MIN_DEG_S = 0.19  # slower still is static (0.15 px/frame on the M3 8 mm camera)
QUIET_GUARD_FRAMES = 2  # frames either side of the detections left out of the star stack
STAR_RADIUS_FWHM = 1.6  # star aperture radius in PSF FWHMs (at least 2 px)
STAR_SNR_MIN = 10.0
SATURATED_ADU = 250
STRIP_HALF_WIDTH_FWHM = 2.0  # centroid strip half-width across the track, in PSF FWHMs (at least 2.5 px)
MAX_SHIFT_LOG_RATIO = 4.0  # bound on |k l| (ln of the brightness ratio across one streak)
SHIFT_SIGMA_FRACTION = 0.25  # uncertainty of the brightness-shift correction, as a fraction of it


class ProcessError(ValueError):
    """A recording cannot be processed; the message names the file and the problem."""


@dataclass
class CameraState:
    """What is kept per camera between events: the last good calibration and an event counter."""

    last_good: CameraModel | None = None
    n_events: int = 0


@dataclass
class StarStack:
    """A live camera's stack of recent frames for calibration (`edge.station.star_stack`): the mean
    of `n_frames` frames with events' light taken out, their max (saturation), their mean time."""

    mean: np.ndarray  # (H, W) float32, ADU
    peak: np.ndarray  # (H, W) uint8
    t_unix: float
    n_frames: int

    def to_info(self) -> dict:
        return {
            "mean": self.mean,
            "peak": self.peak,
            "t_unix": float(self.t_unix),
            "n_frames": int(self.n_frames),
        }

    @classmethod
    def from_info(cls, d: dict) -> StarStack:
        mean, peak = np.asarray(d["mean"], np.float32), np.asarray(d["peak"], np.uint8)
        return cls(mean, peak, float(d["t_unix"]), int(d["n_frames"]))


@dataclass
class MeasureContext:
    """What measuring one camera's events needs besides the event: who and where the camera is, its
    configured (nominal) model, frame rate and exposure, the time quality of its frames, and the
    per-camera state kept between events. The star stack calibration runs on: the recording's frames
    without the event when `rec` is set (`skytrail process`); on a live station the camera's
    `star_stack` when it holds more frames than the event's clip, else the event's own clip
    aggregates (`event_stack`)."""

    station_id: str
    camera_id: str
    site: Site
    atmosphere: Atmosphere | None
    nominal: CameraModel
    time_quality: TimeQuality
    fps: float
    exposure_s: float
    state: CameraState = field(default_factory=CameraState)
    rec: Recording | None = None
    path: Path | str = "live"
    star_stack: StarStack | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.nominal.height_px, self.nominal.width_px)


_Context = MeasureContext  # the name used before live events were measured


def _utc(t_unix: float) -> datetime:
    return datetime.fromtimestamp(float(t_unix), UTC)


def recording_context(path: Path, rec: Recording, state: CameraState) -> MeasureContext:
    """Site, atmosphere, nominal model and time quality from a recording's meta; ProcessError if missing."""
    meta = rec.meta
    site_d = meta.get("site")
    if not isinstance(site_d, dict):
        raise ProcessError(
            f"{path}: meta has no 'site' (lat_deg, lon_deg, height_m): cannot place the camera"
        )
    try:
        site = Site(float(site_d["lat_deg"]), float(site_d["lon_deg"]), float(site_d["height_m"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ProcessError(f"{path}: meta 'site' is not valid ({exc})") from exc
    nominal_d = meta.get("nominal_model")
    if not nominal_d:
        raise ProcessError(
            f"{path}: meta has no 'nominal_model' (the configured camera pointing and lens, "
            "CameraModel.to_dict()): calibration needs a starting model"
        )
    try:
        nominal = CameraModel.from_dict(nominal_d)
    except ValueError as exc:
        raise ProcessError(f"{path}: meta 'nominal_model' is not a valid camera model: {exc}") from exc
    h, w = rec.frames.shape[1:]
    if (nominal.height_px, nominal.width_px) != (h, w):
        raise ProcessError(
            f"{path}: nominal_model is {nominal.width_px}x{nominal.height_px} but the frames are {w}x{h}"
        )
    atm_d = meta.get("atmosphere")
    try:
        if atm_d is None:
            atmosphere: Atmosphere | None = Atmosphere.standard_at(site.height_m)
        elif float(atm_d.get("pressure_hpa", 0.0)) <= 0.0:
            atmosphere = None
        else:
            atmosphere = Atmosphere(**atm_d)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ProcessError(f"{path}: meta 'atmosphere' is not valid ({exc})") from exc
    tq_d = meta.get("time_quality")
    try:
        tq = (
            TimeQuality(**tq_d)
            if tq_d
            else TimeQuality(source=TimeSource.FREE_RUNNING, estimated_error_s=1.0, pps_locked=False)
        )
    except ValueError as exc:
        raise ProcessError(f"{path}: meta 'time_quality' is not valid ({exc})") from exc
    fps = float(meta["fps"])
    return MeasureContext(
        station_id=rec.station_id,
        camera_id=rec.camera_id,
        site=site,
        atmosphere=atmosphere,
        nominal=nominal,
        time_quality=tq,
        fps=fps,
        exposure_s=float(meta.get("exposure_s", 1.0 / fps)),
        state=state,
        rec=rec,
        path=path,
    )


def detector_config_for(model: CameraModel, fps: float) -> DetectorConfig:
    """Detector settings with the speed classes set in angular speed, so binned sensors classify alike."""
    px_per_deg_s = 60.0 / model.pixel_scale_arcmin / fps  # px/frame for 1 deg/s
    return DetectorConfig(
        slow_speed_px_per_frame=SLOW_DEG_S * px_per_deg_s,
        min_speed_px_per_frame=max(0.02, MIN_DEG_S * px_per_deg_s),
    )


def run_detector(rec: Recording, config: DetectorConfig) -> list[Event]:
    """All events of a recording (the detector fed frame by frame, then flushed)."""
    n, h, w = rec.frames.shape
    det = Detector(w, h, config)
    events: list[Event] = []
    for k in range(n):
        events += det.process(np.ascontiguousarray(rec.frames[k]), float(rec.utc_unix_s[k]), k)
    events += det.flush()
    return events


def quiet_stack(rec: Recording, first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, noise of the mean, max, mean time) over the frames without the event (with a guard)."""
    n = len(rec.frames)
    keep = np.ones(n, bool)
    keep[max(0, first - QUIET_GUARD_FRAMES) : min(n, last + QUIET_GUARD_FRAMES + 1)] = False
    if keep.sum() < 3:
        keep[:] = True
    frames = rec.frames[keep].astype(np.float32)
    mean = frames.mean(0)
    noise = frames.std(0) / np.sqrt(len(frames))
    return mean, noise, rec.frames[keep].max(0), float(np.mean(rec.utc_unix_s[keep]))


def event_stack(event: Event) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int]:
    """(mean, noise of the mean, max, time, frames) from a live event's own aggregates: the mean over
    its clip's frames with the event's pixels left out (the detector's `Event.mean`), their spread
    over sqrt(frames), the max over the clip's frames, and the mean time of the clip."""
    n = max(len(event.clip_frame_index), 1)
    mean = np.asarray(event.mean, np.float32)
    noise = np.asarray(event.std, np.float32) / np.float32(math.sqrt(n))
    return mean, noise, np.asarray(event.max_pixel), float(np.mean(event.clip_t_unix)), n


def live_stack(ctx: MeasureContext, event: Event) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, str]:
    """(mean, noise, max, time, source) of the star stack for a live event: the camera's star stack
    when it holds more frames than the event's clip (the per-frame noise taken from the clip's
    spread, `Event.std`), else the clip's own aggregates."""
    mean, noise, peak, t_cal, n = event_stack(event)
    stack = ctx.star_stack
    if stack is not None and stack.n_frames > n and stack.mean.shape == mean.shape:
        per_frame = np.asarray(event.std, np.float32)
        noise = per_frame / np.float32(math.sqrt(stack.n_frames))
        return stack.mean, noise, stack.peak, stack.t_unix, f"star stack of {stack.n_frames} frames"
    return mean, noise, peak, t_cal, f"event clip of {n} frames"


def star_photometry(
    cal: Calibration, mean: np.ndarray, noise: np.ndarray, peak_img: np.ndarray, fwhm_px: float
) -> PhotometricFit:
    """The per-event photometric fit on the calibration's matched stars (aperture photometry on `mean`)."""
    m = cal.matched
    if not m or len(m.get("x_px", [])) == 0:
        return fit_photometry(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))
    r = max(2.0, STAR_RADIUS_FWHM * fwhm_px)
    flux, err = aperture_fluxes(
        mean, m["x_px"], m["y_px"], radius_px=r, annulus_px=(2 * r, 3 * r), noise_adu=noise
    )
    good = (peak_values(peak_img, m["x_px"], m["y_px"]) < SATURATED_ADU) & (flux > STAR_SNR_MIN * err)
    sel = np.flatnonzero(good)
    return fit_photometry(
        flux[sel],
        m["vmag"][sel],
        m["bv"][sel],
        airmass(m["alt_deg"][sel]),
        flux_err_adu=err[sel],
        vi=m["vi"][sel],
    )


def _clip_background(event: Event) -> np.ndarray:
    """The clip's background: mean of its frames without the meteor (margins), else the detector's."""
    clip_idx = np.asarray(event.clip_frame_index)
    quiet = (clip_idx < event.frame_index.min() - 1) | (clip_idx > event.frame_index.max() + 1)
    if quiet.sum() >= 3:
        return event.clip[quiet].astype(np.float64).mean(0)
    x0, y0 = event.clip_origin
    h, w = event.clip.shape[1:]
    return np.asarray(event.mean[y0 : y0 + h, x0 : x0 + w], np.float64)


def track_line(x_px: np.ndarray, y_px: np.ndarray, frame_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unit direction (2,), motion per frame (2,) px) of a straight-line fit of positions against frame
    number (least squares; the direction is the way the meteor moves)."""
    k = np.asarray(frame_index, float)
    if len(k) < 2 or np.ptp(k) == 0:
        return np.array([1.0, 0.0]), np.zeros(2)
    vx = np.polyfit(k, np.asarray(x_px, float), 1)[0]
    vy = np.polyfit(k, np.asarray(y_px, float), 1)[0]
    v = np.array([vx, vy])
    n = float(np.hypot(vx, vy))
    return (v / n if n > 0 else np.array([1.0, 0.0])), v


def streak_brightness_shift(
    flux_adu: np.ndarray, frame_index: np.ndarray, streak_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Along-track offset (px) of each frame's light-weighted centroid from the mid-exposure position
    for a streak of `streak_px` whose brightness grows as exp(k s), k l from the fluxes of the
    neighbouring frames (one-sided at the ends); and a mask of the frames where it could be estimated
    (finite positive fluxes). Positive: ahead, in the direction of motion."""
    f = np.asarray(flux_adu, float)
    k = np.asarray(frame_index, float)
    n = len(f)
    shift, ok = np.zeros(n), np.zeros(n, bool)
    if n < 2 or not streak_px > 0:
        return shift, ok
    lnf = np.where(np.isfinite(f) & (f > 0), np.log(np.where(f > 0, f, 1.0)), np.nan)
    lo = np.maximum(np.arange(n) - 1, 0)
    hi = np.minimum(np.arange(n) + 1, n - 1)
    kl = (lnf[hi] - lnf[lo]) / np.maximum(k[hi] - k[lo], 1.0)  # ln brightness change per frame
    ok = np.isfinite(kl)
    x = 0.5 * np.clip(np.where(ok, kl, 0.0), -MAX_SHIFT_LOG_RATIO, MAX_SHIFT_LOG_RATIO)
    small = np.abs(x) < 1e-3
    xs = np.where(small, 1.0, x)
    langevin = np.where(small, x / 3.0, 1.0 / np.tanh(xs) - 1.0 / xs)
    shift = 0.5 * streak_px * langevin
    return np.where(ok, shift, 0.0), ok


def _strip(diff: np.ndarray, x_px: float, y_px: float, u: np.ndarray, half_len_px: float, half_w_px: float):
    """`diff` with everything outside a strip along direction u around (x_px, y_px) set to 0."""
    h, w = diff.shape
    yy, xx = np.mgrid[0:h, 0:w]
    dx, dy = xx - x_px, yy - y_px
    along = dx * u[0] + dy * u[1]
    across = -dx * u[1] + dy * u[0]
    return np.where((np.abs(along) <= half_len_px) & (np.abs(across) <= half_w_px), diff, 0.0)


def measure_event(ctx: MeasureContext, event: Event, *, fwhm_px: float = 1.6) -> dict:
    """Calibrate, measure and photometer one event; a dict of everything the products need.

    The star stack is the recording's quiet frames when `ctx.rec` is set, else the live camera's
    (`live_stack`); a failed fit falls back to the camera's last good model (`ctx.state.last_good`)."""
    first, last = int(event.frame_index.min()), int(event.frame_index.max())
    if ctx.rec is not None:
        mean, noise, peak_img, t_cal = quiet_stack(ctx.rec, first, last)
        stack_source = "the recording's frames without the event"
    else:
        mean, noise, peak_img, t_cal, stack_source = live_stack(ctx, event)
    cal = calibrate(
        mean,
        site=ctx.site,
        t_unix=t_cal,
        nominal=ctx.nominal,
        atmosphere=ctx.atmosphere,
        previous=ctx.state.last_good,
    )
    if cal.ok:
        ctx.state.last_good = cal.model
    # a model is trusted for coordinates when it was fitted now or earlier; the nominal one is not
    trusted = cal.ok or (ctx.state.last_good is not None and cal.model is ctx.state.last_good)
    x0, y0 = event.clip_origin
    background = _clip_background(event)
    clip_pos = np.searchsorted(event.clip_frame_index, event.frame_index)
    if not np.array_equal(
        event.clip_frame_index[np.minimum(clip_pos, len(event.clip_frame_index) - 1)], event.frame_index
    ):
        raise ProcessError(f"{ctx.path}: detector clip does not hold every detected frame")
    a, _b, _theta = streak_apertures(event.x_px, event.y_px, event.frame_index, 1.0)
    half_box = int(max(6, math.ceil(a[0] + 3)))
    u, v_frame = track_line(event.x_px, event.y_px, event.frame_index)
    fps = float(ctx.fps)
    exposure = float(ctx.exposure_s) if ctx.exposure_s and ctx.exposure_s > 0 else 1.0 / fps
    streak_px = float(np.hypot(*v_frame)) * min(exposure * fps, 1.0)  # motion during one exposure
    # the strip: across the track within a few FWHM of the fitted line, along it the streak and a margin
    half_w = max(2.5, STRIP_HALF_WIDTH_FWHM * fwhm_px)
    k_f = np.asarray(event.frame_index, float)
    xl = np.polyval(np.polyfit(k_f, event.x_px, 1), k_f) if len(k_f) >= 2 else np.asarray(event.x_px, float)
    yl = np.polyval(np.polyfit(k_f, event.y_px, 1), k_f) if len(k_f) >= 2 else np.asarray(event.y_px, float)
    xs, ys, sig_px = [], [], []
    for i, k in enumerate(clip_pos):
        diff = event.clip[k].astype(np.float64) - background
        bg_sigma = float(1.4826 * np.median(np.abs(diff - np.median(diff))))
        # centre: the detection moved onto the fitted line (across the track), kept along it
        gx, gy = event.x_px[i] - x0, event.y_px[i] - y0
        t_along = (event.x_px[i] - xl[i]) * u[0] + (event.y_px[i] - yl[i]) * u[1]
        cx, cy = xl[i] - x0 + t_along * u[0], yl[i] - y0 + t_along * u[1]
        strip = _strip(diff, cx, cy, u, 0.5 * streak_px + 2.0 * fwhm_px + 2.0, half_w)
        xc, yc, sc = meteor_centroid(strip, gx, gy, half_box_px=half_box, noise_adu=max(bg_sigma, 0.5))
        if not np.isfinite(xc):
            xc, yc, sc = event.x_px[i] - x0, event.y_px[i] - y0, 1.0
        xs.append(xc)
        ys.append(yc)
        sig_px.append(sc)
    xs, ys, sig_px = np.array(xs), np.array(ys), np.array(sig_px)
    flux = meteor_fluxes(event.clip, xs, ys, clip_pos, background, radius_px=max(3.0, 2.0 * fwhm_px))
    saturated = saturated_frames(event.clip, xs, ys, clip_pos, radius_px=max(3.0, 2.0 * fwhm_px))
    # light-weighted centroid -> mid-exposure position (see the module docstring)
    # (a saturated frame's flux is too low, so its brightness ratios and the shift come out too small:
    # the shift is still removed, with twice the uncertainty)
    shift, shift_ok = streak_brightness_shift(flux, event.frame_index, streak_px)
    near_sat = saturated | np.r_[saturated[1:], False] | np.r_[False, saturated[:-1]]
    xs, ys = xs - shift * u[0], ys - shift * u[1]
    sig_px = np.hypot(sig_px, SHIFT_SIGMA_FRACTION * np.where(near_sat, 2.0, 1.0) * shift)
    sig_px = np.where(shift_ok, sig_px, np.hypot(sig_px, streak_px / math.sqrt(12.0)))
    if len(sig_px) >= 2:  # first and last frames: possibly truncated streaks
        sig_px[[0, -1]] = np.hypot(sig_px[[0, -1]], streak_px / math.sqrt(12.0))
    x_full, y_full = xs + x0, ys + y0
    resid = cal.residual_arcmin if np.isfinite(cal.residual_arcmin) else 0.0
    if trusted:
        pos = meteor_positions(
            cal.model,
            ctx.site,
            event.t_unix,
            x_full,
            y_full,
            ctx.atmosphere,
            centroid_sigma_px=sig_px,
            fit_residual_arcmin=resid,
        )
    else:
        nan = np.full(len(xs), np.nan)
        pos = {"ra_deg": nan, "dec_deg": nan, "alt_deg": nan, "az_deg": nan, "sigma_arcmin": nan}
    phot = star_photometry(cal, mean, noise, peak_img, fwhm_px)
    mags = np.full(len(xs), np.nan)
    if phot.ok and trusted:
        mags = magnitude(phot, flux, airmass(pos["alt_deg"]))
    return {
        "cal": cal,
        "trusted": trusted,
        "x": x_full,
        "y": y_full,
        "flux": flux,
        "saturated": saturated,
        "pos": pos,
        "phot": phot,
        "mag": mags,
        "mean": mean,
        "noise": noise,
        "t_cal": t_cal,
        "stack_source": stack_source,
    }


def _finite(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def build_report(
    ctx: MeasureContext,
    event: Event,
    m: dict,
    observation_id: str,
    products: list,
    classification: Classification | None = None,
    aircraft: AircraftMatch | None = None,
) -> ObservationReport:
    """The wire contract's report of one measured event."""
    cal: Calibration = m["cal"]
    phot: PhotometricFit = m["phot"]
    pos = m["pos"]
    frames = []
    for i in range(len(event.frame_index)):
        ra, dec = _finite(pos["ra_deg"][i]), _finite(pos["dec_deg"][i])
        alt, az = _finite(pos["alt_deg"][i]), _finite(pos["az_deg"][i])
        if ra is None or dec is None or alt is None or az is None:
            ra = dec = alt = az = None
        mag = _finite(m["mag"][i])
        frames.append(
            FrameMeasurement(
                utc=_utc(event.t_unix[i]),
                frame_index=int(event.frame_index[i]),
                x_px=float(m["x"][i]),
                y_px=float(m["y"][i]),
                ra_deg=ra,
                dec_deg=dec,
                alt_deg=alt,
                az_deg=az % 360.0 if az is not None else None,
                position_sigma_arcmin=_finite(pos["sigma_arcmin"][i]) if ra is not None else None,
                flux_adu=_finite(m["flux"][i]),
                mag=mag,
                mag_sigma=_finite(phot.rms_mag) if mag is not None else None,
                saturated=bool(m["saturated"][i]),
            )
        )
    spec = None
    if m["trusted"]:
        spec = CameraModelSpec(
            **cal.model.to_dict(),
            fit_residual_arcmin=_finite(cal.residual_arcmin),
            n_stars=int(cal.n_stars),
            calibrated_at=_utc(m["t_cal"]),
        )
    photometry = None
    if phot.ok and m["trusted"]:
        photometry = Photometry(
            zero_point=phot.zero_point,
            extinction_coeff=max(phot.extinction_coeff, 0.0),
            colour_term=phot.colour_term,
            n_stars=phot.n_stars,
            rms_mag=phot.rms_mag,
        )
    speed = None
    ok = np.isfinite(pos["ra_deg"])
    if ok.sum() >= 2:
        i0, i1 = np.flatnonzero(ok)[[0, -1]]
        r0, d0, r1, d1 = np.radians(
            [pos["ra_deg"][i0], pos["dec_deg"][i0], pos["ra_deg"][i1], pos["dec_deg"][i1]]
        )
        cosd = np.sin(d0) * np.sin(d1) + np.cos(d0) * np.cos(d1) * np.cos(r1 - r0)
        dt = float(event.t_unix[i1] - event.t_unix[i0])
        if dt > 0:
            speed = math.degrees(math.acos(min(1.0, max(-1.0, cosd)))) / dt
    peak = np.nanmin(m["mag"]) if np.isfinite(m["mag"]).any() else None
    return ObservationReport(
        station_id=ctx.station_id,
        observation_id=observation_id,
        camera_id=ctx.camera_id,
        location=Location(lat_deg=ctx.site.lat_deg, lon_deg=ctx.site.lon_deg, height_m=ctx.site.height_m),
        created_utc=datetime.now(UTC),
        time_quality=ctx.time_quality,
        camera_model=spec,
        frames=frames,
        refraction_applied=ctx.atmosphere is not None,
        photometry=photometry,
        products=products,
        classification=classification,
        aircraft=aircraft,
        detector=DetectorInfo(
            peak_mag=_finite(peak) if peak is not None else None,
            angular_speed_deg_s=speed,
            n_frames=len(event.frame_index),
        ),
    )


def write_products(
    ctx: MeasureContext,
    event: Event,
    m: dict,
    observation_id: str,
    out_dir: Path,
    classification: ClassifierResult | Classification | None = None,
    aircraft: AircraftMatch | None = None,
    on_report=None,
    product_url=None,
    adsb_note: str | None = None,
) -> dict:
    """Write FITS, PNG, MP4, ECSV and the JSON report of one event; returns their paths by kind, and
    the report itself under "report". Each file is written whole before it is renamed into place
    (the product writers do), the JSON report last, so a report on disk names complete products.
    `on_report(report)` is called before the JSON is written (the station queues the report in its
    outbox there, so a JSON on disk always has its report in the outbox). `product_url(observation_id,
    name)`, when given, is where the bridge will serve each product (the report's `products[].url`)."""
    folder = Path(out_dir) / ctx.station_id / ctx.camera_id
    cal: Calibration = m["cal"]
    wcs = None
    if m["trusted"]:
        try:
            wcs = fit_wcs(cal.model, ctx.site, float(np.mean(event.t_unix)), ctx.atmosphere)
        except ValueError as exc:
            log.warning("observation=%s wcs=none reason=%s", observation_id, exc)
    matched = cal.matched or {}
    stars = {
        "x_px": np.asarray(matched.get("x_px", np.zeros(0)), float),
        "y_px": np.asarray(matched.get("y_px", np.zeros(0)), float),
        "hip": np.asarray(matched.get("hip", np.zeros(0)), np.int64),
        "ra_deg": np.asarray(matched.get("ra_deg", np.zeros(0)), float),
        "dec_deg": np.asarray(matched.get("dec_deg", np.zeros(0)), float),
        "vmag": np.asarray(matched.get("vmag", np.zeros(0)), float),
        "flux_adu": np.asarray(matched.get("flux_adu", np.zeros(0)), float),
    }
    h, w = ctx.shape
    fits_product = FitsProduct(
        station_id=ctx.station_id,
        camera_id=ctx.camera_id,
        lat_deg=ctx.site.lat_deg,
        lon_deg=ctx.site.lon_deg,
        height_m=ctx.site.height_m,
        colour_mode="mono",
        width_px=w,
        height_px=h,
        processed_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        observation_id=observation_id,
        frames=np.asarray(event.clip, np.uint8),
        frame_t_unix=np.asarray(event.clip_t_unix, float),
        frame_index=np.asarray(event.clip_frame_index, np.int64),
        crop_origin=tuple(int(v) for v in event.clip_origin),
        max_frame=np.asarray(event.max_pixel, np.uint8),
        mean_frame=np.asarray(m["mean"], np.float32),
        std_frame=np.asarray(event.std, np.float32),
        mask=np.asarray(event.mask, bool),
        camera_model=cal.model,
        residual_arcmin=float(cal.residual_arcmin),
        stars=stars,
        wcs=wcs,
        exposure_s=float(ctx.exposure_s),
    )
    paths = {"fits": write_fits(folder / f"{observation_id}.fits", fits_product)}
    labels = [f"HIP {int(h_)}" for h_ in stars["hip"]]
    picture = render_overview(
        event.max_pixel,
        stars["x_px"],
        stars["y_px"],
        m["x"],
        m["y"],
        star_labels=labels,
        title=observation_id,
        classification=classification,  # a classifier Result also draws its saliency map
        aircraft=aircraft,
        adsb_note=adsb_note,
    )
    text = {"observation_id": observation_id, **overview_metadata(classification, aircraft)}
    paths["png"] = write_png(folder / f"{observation_id}.png", picture, text)
    paths["mp4"] = write_mp4(folder / f"{observation_id}.mp4", event.clip, float(ctx.fps))
    draft = build_report(ctx, event, m, observation_id, [])
    paths["ecsv"] = write_gfe(
        folder / f"{observation_id}.ecsv",
        gfe_table(draft, image_file=paths["png"].name, model=cal.model if m["trusted"] else None),
    )
    kinds = {
        "fits": ProductKind.FITS,
        "png": ProductKind.PNG,
        "mp4": ProductKind.MP4,
        "ecsv": ProductKind.ECSV,
    }
    products = [describe_product(paths[k], kind) for k, kind in kinds.items()]
    if product_url is not None:
        products = [p.model_copy(update={"url": product_url(observation_id, p.name)}) for p in products]
    verdict = getattr(classification, "classification", classification)
    report = build_report(ctx, event, m, observation_id, products, verdict, aircraft)
    if on_report is not None:
        on_report(report)
    paths["json"] = write_report(folder / f"{observation_id}.json", report)
    paths["report"] = report
    return paths


def process_recording(path: Path, out_dir: Path, state: CameraState | None = None) -> list[dict]:
    """Detect and measure every event of one recording; one result dict per event found."""
    try:
        rec = read_recording(path)
    except ValueError as exc:
        raise ProcessError(str(exc)) from exc
    state = state if state is not None else CameraState()
    ctx = recording_context(path, rec, state)
    fwhm = 1.6
    config = detector_config_for(ctx.nominal, float(rec.meta["fps"]))
    results = []
    for event in run_detector(rec, config):
        base = {
            "station_id": rec.station_id,
            "camera_id": rec.camera_id,
            "file": str(path),
            "kind": event.kind,
            "frames": [int(event.frame_index[0]), int(event.frame_index[-1])],
        }
        if event.kind != "fast":
            results.append({**base, "status": "skipped", "reason": f"{event.kind} mover, not a meteor"})
            continue
        observation_id = make_observation_id(
            rec.station_id, rec.camera_id, _utc(event.t_unix[0]), state.n_events
        )
        state.n_events += 1
        m = measure_event(ctx, event, fwhm_px=fwhm)
        paths = write_products(ctx, event, m, observation_id, out_dir)
        cal, phot = m["cal"], m["phot"]
        status = "ok" if (cal.ok and phot.ok) else "flagged"
        reasons = [
            r
            for r in (
                None if cal.ok else f"calibration: {cal.reason}",
                None if phot.ok else f"photometry: {phot.reason}",
            )
            if r
        ]
        results.append(
            {
                **base,
                "status": status,
                "reason": "; ".join(reasons) or None,
                "observation_id": observation_id,
                "calibrated": bool(cal.ok),
                "coordinates": bool(m["trusted"]),
                "star_residual_arcmin": _finite(cal.residual_arcmin),
                "n_stars": int(cal.n_stars),
                "photometry_rms_mag": _finite(phot.rms_mag),
                "n_phot_stars": int(phot.n_stars),
                "n_frames": len(event.frame_index),
                "files": {k: str(p) for k, p in paths.items() if k != "report"},
            }
        )
        log.info(
            "station=%s camera=%s observation=%s status=%s frames=%d residual_arcmin=%s phot_rms=%s",
            rec.station_id,
            rec.camera_id,
            observation_id,
            status,
            len(event.frame_index),
            _finite(cal.residual_arcmin),
            _finite(phot.rms_mag),
        )
    return results


def find_recordings(in_dir: Path) -> list[Path]:
    """The recordings under `in_dir`: STATION/CAMERA.npz (as `skytrail sim event` writes) or *.npz."""
    paths = sorted(in_dir.glob("*/*.npz")) + sorted(in_dir.glob("*.npz"))
    return paths


def process_directory(in_dir: str | Path, out_dir: str | Path) -> list[dict]:
    """Process every recording under `in_dir` into `out_dir`; one result dict per event (or per failed file).

    A recording that cannot be read or lacks what processing needs gives a result with status
    "error" and the reason, and the others are still processed. ValueError if `in_dir` holds none.
    """
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if not in_dir.is_dir():
        raise ValueError(f"{in_dir}: not a directory")
    paths = find_recordings(in_dir)
    if not paths:
        raise ValueError(f"{in_dir}: no recordings (STATION/CAMERA.npz) found")
    states: dict[tuple[str, str], CameraState] = {}
    results: list[dict] = []
    for path in paths:
        key = (path.parent.name, path.stem)
        try:
            results += process_recording(path, out_dir, states.setdefault(key, CameraState()))
        except ProcessError as exc:
            log.error("file=%s status=error reason=%s", path, exc)
            results.append({"file": str(path), "status": "error", "reason": str(exc)})
    return results


# ------------------------------------------------------------------------------------------ CLI
def register(parser: argparse.ArgumentParser, name: str) -> None:
    """Add `skytrail process DIR [--out OUT]` to the group's parser."""
    parser.add_argument("dir", type=Path, help="directory of recordings (as written by `skytrail sim event`)")
    parser.add_argument("--out", type=Path, help="where products go (default DIR/products)")
    parser.set_defaults(func=run_process)


def run_process(args: argparse.Namespace) -> int:
    out = args.out if args.out is not None else args.dir / "products"
    try:
        results = process_directory(args.dir, out)
    except ValueError as exc:
        print(f"skytrail process: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(out), "events": results}, indent=1))
    return 1 if any(r["status"] == "error" for r in results) else 0
