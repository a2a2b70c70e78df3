"""How well the detector finds meteors: run it over simulated nights and score its events.

The nights come from `edge.sim.night` (one camera, many meteors from mag -2 to +4 lasting 3 to
60 frames in all directions, star fields with noise and twinkle, hot pixels, clouds, the Moon,
satellites, aircraft and insects), with per-frame truth. `match_events` scores a list of
events against that truth; `evaluate_detection` runs the whole thing and returns the figures
that `skytrail eval detect --json` prints.

Matching: an event matches a truth object when they share frames and, in at least half of the
shared frames, the event's centroid lies within `tol_px` of the object's smear in that frame
(the segment it drew during the exposure; its position for aircraft and insects, whose lights
and blur spread wider). Each truth meteor counts once, however many events it was split into;
an event on a meteor is never false; an event on a satellite or an aircraft counts for that
kind; every other event is false, with its likely cause named (an insect, a hot pixel, the
neighbourhood of a known object, or unexplained).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from edge.sim.night import NightConfig, TruthObject, plan_night, render_night

MAG_BINS = tuple(range(-2, 5))  # recall bins centred on whole magnitudes
BRIGHT_MAG = 2.0  # the goal: recall >= 0.95 for peak mag <= +2 ...
LONG_FRAMES = 5  # ... lasting >= 5 frames
DEFAULT_TOL_PX = 4.0
NEAR_PX = 25.0  # an unmatched event this close to a known object is "near" it
LEAD_IN_S = 5.0  # the detector's background settles before the first meteor


@dataclass
class EventTrack:
    """The part of a detector `Event` that scoring needs (the clip and full frames are dropped)."""

    frame_index: np.ndarray
    x_px: np.ndarray
    y_px: np.ndarray
    flux_adu: np.ndarray
    speed_px_per_frame: float
    kind: str

    @classmethod
    def from_event(cls, event) -> EventTrack:
        return cls(
            np.asarray(event.frame_index, np.int64).copy(),
            np.asarray(event.x_px, float).copy(),
            np.asarray(event.y_px, float).copy(),
            np.asarray(event.flux_adu, float).copy(),
            float(event.speed_px_per_frame),
            str(event.kind),
        )


@dataclass
class FalseEvent:
    index: int  # into the events scored
    cause: str  # "insect", "hot_pixel", "near_meteor", "near_satellite", "near_aircraft", "unexplained"
    first_frame: int
    last_frame: int
    n_frames: int
    x_px: float  # median centroid
    y_px: float
    speed_px_per_frame: float
    kind: str


@dataclass
class Score:
    """The outcome of matching one night's (or several nights') events against its truth."""

    meteors: list[TruthObject]
    detected_meteor_ids: set[str]
    satellites_simulated: int
    aircraft_simulated: int
    satellite_ids_reported: set[str]
    aircraft_ids_reported: set[str]
    n_events: int
    n_meteor_events: int
    n_satellite_events: int
    n_aircraft_events: int
    false_events: list[FalseEvent] = field(default_factory=list)

    def recall(self, select) -> tuple[float, int]:
        """(recall, number of meteors) over the meteors for which select(meteor) is true."""
        chosen = [m for m in self.meteors if select(m)]
        if not chosen:
            return math.nan, 0
        return sum(m.id in self.detected_meteor_ids for m in chosen) / len(chosen), len(chosen)

    def recall_by_peak_mag(self) -> dict[str, float]:
        return {str(b): self.recall(lambda m, b=b: _mag_bin(m.peak_mag) == b)[0] for b in MAG_BINS}

    def recall_bright_long(self) -> float:
        return self.recall(lambda m: m.peak_mag <= BRIGHT_MAG and m.n_frames_in_field >= LONG_FRAMES)[0]

    def merged(self, other: Score) -> Score:
        return Score(
            self.meteors + other.meteors,
            self.detected_meteor_ids | other.detected_meteor_ids,
            self.satellites_simulated + other.satellites_simulated,
            self.aircraft_simulated + other.aircraft_simulated,
            self.satellite_ids_reported | other.satellite_ids_reported,
            self.aircraft_ids_reported | other.aircraft_ids_reported,
            self.n_events + other.n_events,
            self.n_meteor_events + other.n_meteor_events,
            self.n_satellite_events + other.n_satellite_events,
            self.n_aircraft_events + other.n_aircraft_events,
            self.false_events + other.false_events,
        )


def _bright_long_at_camera(m: TruthObject) -> bool:
    mag = float(m.info.get("peak_mag_at_camera", m.peak_mag))
    return mag <= BRIGHT_MAG and m.n_frames_in_field >= LONG_FRAMES


def _mag_bin(mag: float) -> int:
    return int(np.clip(math.floor(mag + 0.5), MAG_BINS[0], MAG_BINS[-1]))


def _segment_distance(px, py, x0, y0, x1, y1) -> np.ndarray:
    """Distance (px) from points to segments; a NaN segment end falls back to the point (x0, y0)."""
    px, py, x0, y0, x1, y1 = (np.asarray(v, float) for v in (px, py, x0, y0, x1, y1))
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        u = np.where(length2 > 0, ((px - x0) * dx + (py - y0) * dy) / length2, 0.0)
    u = np.clip(np.nan_to_num(u), 0.0, 1.0)
    return np.hypot(px - (x0 + u * dx), py - (y0 + u * dy))


def _distances(event, obj: TruthObject, frame_shift: int = 0) -> np.ndarray:
    """Per shared frame, the distance from the event's centroid to the object's smear (empty if none)."""
    frames = np.asarray(event.frame_index, np.int64) + frame_shift
    idx = np.searchsorted(obj.frame_index, frames)
    idx_c = np.clip(idx, 0, max(len(obj.frame_index) - 1, 0))
    shared = (
        (idx < len(obj.frame_index)) & (obj.frame_index[idx_c] == frames)
        if len(obj.frame_index)
        else (np.zeros(len(frames), bool))
    )
    if not shared.any():
        return np.empty(0)
    i = idx_c[shared]
    ex, ey = np.asarray(event.x_px, float)[shared], np.asarray(event.y_px, float)[shared]
    x0, y0, x1, y1 = obj.seg_x0_px[i], obj.seg_y0_px[i], obj.seg_x1_px[i], obj.seg_y1_px[i]
    no_seg = ~np.isfinite(x0 + y0 + x1 + y1)
    x0, y0 = np.where(no_seg, obj.x_px[i], x0), np.where(no_seg, obj.y_px[i], y0)
    x1, y1 = np.where(no_seg, obj.x_px[i], x1), np.where(no_seg, obj.y_px[i], y1)
    return _segment_distance(ex, ey, x0, y0, x1, y1)


def _tolerance(obj: TruthObject, tol_px: float) -> float:
    if obj.kind == "insect":
        return max(tol_px, 2.0 * float(obj.info.get("sigma_px", 10.0)))
    return tol_px


def _matches(event, obj: TruthObject, tol_px: float) -> bool:
    d = _distances(event, obj)
    if d.size == 0:
        return False
    return int(np.count_nonzero(d <= _tolerance(obj, tol_px))) >= max(1, math.ceil(0.5 * d.size))


def match_events(
    events: Sequence,
    truth: Iterable[TruthObject],
    *,
    tol_px: float = DEFAULT_TOL_PX,
    hot_pixels_xy: np.ndarray | None = None,
) -> Score:
    """Score events (anything with frame_index, x_px, y_px arrays; speed and kind optional)
    against a night's truth objects. `hot_pixels_xy` (n, 2) names that cause of false events."""
    if not math.isfinite(tol_px) or tol_px <= 0:
        raise ValueError(f"tol_px: {tol_px} must be a positive number of pixels")
    truth = list(truth)
    for obj in truth:
        if obj.kind not in ("meteor", "satellite", "aircraft", "insect"):
            raise ValueError(f"truth object {obj.id}: unknown kind {obj.kind!r}")
    meteors = [o for o in truth if o.kind == "meteor" and o.n_frames_in_field > 0]
    score = Score(
        meteors=meteors,
        detected_meteor_ids=set(),
        satellites_simulated=sum(o.kind == "satellite" and o.n_frames_in_field > 0 for o in truth),
        aircraft_simulated=sum(o.kind == "aircraft" and o.n_frames_in_field > 0 for o in truth),
        satellite_ids_reported=set(),
        aircraft_ids_reported=set(),
        n_events=len(events),
        n_meteor_events=0,
        n_satellite_events=0,
        n_aircraft_events=0,
    )
    spans = [
        (int(o.frame_index[0]), int(o.frame_index[-1])) if len(o.frame_index) else (0, -1) for o in truth
    ]
    for n, event in enumerate(events):
        frames = np.asarray(event.frame_index, np.int64)
        if frames.size == 0:
            raise ValueError(f"event {n}: it has no frames")
        f0, f1 = int(frames.min()), int(frames.max())
        near = [o for o, (a, b) in zip(truth, spans, strict=True) if a <= f1 and b >= f0]
        matched = [o for o in near if _matches(event, o, tol_px)]
        kinds = {o.kind for o in matched}
        if "meteor" in kinds:
            score.n_meteor_events += 1
            score.detected_meteor_ids.update(o.id for o in matched if o.kind == "meteor")
        elif "satellite" in kinds:
            score.n_satellite_events += 1
            score.satellite_ids_reported.update(o.id for o in matched if o.kind == "satellite")
        elif "aircraft" in kinds:
            score.n_aircraft_events += 1
            score.aircraft_ids_reported.update(o.id for o in matched if o.kind == "aircraft")
        else:
            cause = "insect" if "insect" in kinds else _false_cause(event, truth, spans, hot_pixels_xy)
            score.false_events.append(
                FalseEvent(
                    index=n,
                    cause=cause,
                    first_frame=f0,
                    last_frame=f1,
                    n_frames=int(frames.size),
                    x_px=float(np.median(event.x_px)),
                    y_px=float(np.median(event.y_px)),
                    speed_px_per_frame=float(getattr(event, "speed_px_per_frame", math.nan)),
                    kind=str(getattr(event, "kind", "")),
                )
            )
    return score


def _false_cause(event, truth: list[TruthObject], spans, hot_pixels_xy) -> str:
    """Best guess at what a false event saw: a hot pixel, or something near a known object."""
    x, y = float(np.median(event.x_px)), float(np.median(event.y_px))
    if hot_pixels_xy is not None and len(hot_pixels_xy):
        hp = np.asarray(hot_pixels_xy, float)
        if np.min(np.hypot(hp[:, 0] - x, hp[:, 1] - y)) <= 3.0:
            return "hot_pixel"
    f0, f1 = int(np.min(event.frame_index)), int(np.max(event.frame_index))
    best, best_kind = math.inf, None
    for obj, (a, b) in zip(truth, spans, strict=True):
        if a > f1 + 3 or b < f0 - 3 or obj.kind == "insect":
            continue
        for shift in (-3, -2, -1, 0, 1, 2, 3):
            d = _distances(event, obj, shift)
            if d.size and float(np.min(d)) < best:
                best, best_kind = float(np.min(d)), obj.kind
    if best_kind is not None and best <= NEAR_PX:
        return f"near_{best_kind}"
    return "unexplained"


# --------------------------------------------------------------------------------------------
# Running the detector over simulated nights


@dataclass
class NightResult:
    name: str
    config: NightConfig
    events: list[EventTrack]
    truth: list[TruthObject]
    hot_pixels_xy: np.ndarray
    n_frames: int
    render_s: float
    detect_s: float


def run_night(name: str, config: NightConfig, detector_config=None) -> NightResult:
    """Render one night and feed every frame to a fresh `Detector`; keep the events' tracks."""
    from edge.detect.detector import Detector

    plan = plan_night(config)
    h, w = plan.camera.shape
    detector = Detector(w, h, detector_config)
    events: list[EventTrack] = []
    detect_s = 0.0
    t_start = time.perf_counter()
    n = 0
    at_camera: dict[str, float] = {}  # meteor id -> brightest magnitude reaching the camera
    for nf in render_night(plan):
        for sg in nf.truth:
            if sg.kind == "meteor" and sg.mag_at_camera == sg.mag_at_camera:
                at_camera[sg.id] = min(at_camera.get(sg.id, math.inf), sg.mag_at_camera)
        t0 = time.perf_counter()
        events += [EventTrack.from_event(e) for e in detector.process(nf.frame, nf.t_unix, nf.frame_index)]
        detect_s += time.perf_counter() - t0
        n += 1
    t0 = time.perf_counter()
    events += [EventTrack.from_event(e) for e in detector.flush()]
    detect_s += time.perf_counter() - t0
    for o in plan.truth:
        if o.kind == "meteor":
            o.info["peak_mag_at_camera"] = at_camera.get(o.id, math.inf)
    hx, hy, _extra = plan.camera.hot_pixels if plan.camera.hot_pixels is not None else ([], [], [])
    return NightResult(
        name,
        config,
        events,
        plan.truth,
        np.column_stack([hx, hy]).astype(float),
        n,
        time.perf_counter() - t_start - detect_s,
        detect_s,
    )


def night_configs(*, quick: bool, seed: int, hours: float | None = None) -> list[tuple[str, NightConfig]]:
    """The nights of the evaluation. Quick: two short nights at 480x270 with a high meteor rate.
    Full: four nights (about an hour in all, or `hours`) at 480x270 with clear sky, the Moon up,
    passing clouds, many satellites, aircraft, hot pixels and insects, each pointing elsewhere."""
    common = dict(binning=4, lead_in_s=LEAD_IN_S, hot_pixels=30)
    nights = [
        (
            "clear-north",
            dict(
                az_deg=0.0,
                start_utc="2026-01-18T15:00:00Z",
                satellites_per_hour=40.0,
                aircraft_per_hour=10.0,
                insects_per_hour=30.0,
                moon=True,
            ),
        ),
        (
            "moon-up-west",  # the full Moon high in the south-east, outside this field
            dict(
                az_deg=300.0,
                alt_deg=50.0,
                start_utc="2026-01-03T16:00:00Z",
                satellites_per_hour=30.0,
                aircraft_per_hour=10.0,
                insects_per_hour=30.0,
            ),
        ),
        (
            "clouds-south",
            dict(
                az_deg=180.0,
                start_utc="2026-02-16T14:00:00Z",
                cloud_cover=0.5,
                cloud_wind_ms=15.0,
                satellites_per_hour=30.0,
                aircraft_per_hour=20.0,
                insects_per_hour=60.0,
            ),
        ),
        (
            "satellites-west",
            dict(
                az_deg=270.0,
                alt_deg=35.0,
                start_utc="2026-03-19T15:00:00Z",
                satellites_per_hour=120.0,
                aircraft_per_hour=10.0,
                insects_per_hour=30.0,
            ),
        ),
    ]
    if quick:
        # denser distractors so that a few minutes still hold some of each
        busy = dict(satellites_per_hour=150.0, aircraft_per_hour=60.0, insects_per_hour=200.0)
        nights = [(name, {**extra, **busy}) for name, extra in nights[:2]]
        total_s = 160.0 if hours is None else hours * 3600.0
        rate = 1000.0
    else:
        total_s = 3600.0 if hours is None else hours * 3600.0
        rate = 300.0
    each_s = max(total_s / len(nights), LEAD_IN_S + 10.0)
    out = []
    for i, (name, extra) in enumerate(nights):
        cfg = NightConfig(
            seed=seed * 100 + i, duration_s=each_s, meteor_rate_per_hour=rate, **common, **extra
        )
        out.append((name, cfg))
    return out


def _run(args) -> NightResult:
    name, cfg = args
    return run_night(name, cfg)


def evaluate_detection(*, quick: bool = False, seed: int = 1, hours: float | None = None) -> dict:
    """Run the detector over simulated nights and score it (see the module docstring).

    quick: about 3 simulated minutes (two nights, ~45 meteors), well under a minute here;
    otherwise about an hour over four nights (several minutes). `hours` overrides the length.
    Nights run in parallel processes (one per core, at most one per night)."""
    if hours is not None and not (math.isfinite(hours) and hours > 0):
        raise ValueError(f"hours: {hours} must be a positive number")
    configs = night_configs(quick=quick, seed=seed, hours=hours)
    t0 = time.perf_counter()
    workers = min(len(configs), os.cpu_count() or 1)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_run, configs))
    else:
        results = [_run(c) for c in configs]
    return summarise(results, wall_s=time.perf_counter() - t0)


def summarise(results: Sequence[NightResult], wall_s: float | None = None) -> dict:
    """The evaluation's figures from the nights' results (JSON-safe; NaN recall becomes None)."""
    score: Score | None = None
    per_night = []
    for r in results:
        truth = [replace(o, id=f"{r.name}/{o.id}") for o in r.truth]  # ids unique across nights
        s = match_events(r.events, truth, hot_pixels_xy=r.hot_pixels_xy)
        per_night.append(
            {
                "name": r.name,
                "hours": r.config.duration_s / 3600.0,
                "frames": r.n_frames,
                "frame_shape": [int(v) for v in _shape(r)],
                "meteors": len(s.meteors),
                "detected": len(s.detected_meteor_ids),
                "events": s.n_events,
                "false_events": len(s.false_events),
                "render_s": round(r.render_s, 2),
                "detect_s": round(r.detect_s, 2),
            }
        )
        score = s if score is None else score.merged(s)
    if score is None:
        raise ValueError("results: no nights to summarise")
    hours = sum(r.config.duration_s for r in results) / 3600.0
    causes: dict[str, int] = {}
    for fe in score.false_events:
        causes[fe.cause] = causes.get(fe.cause, 0) + 1
    missed = [m for m in score.meteors if m.id not in score.detected_meteor_ids]
    frames = sum(r.n_frames for r in results)
    detect_s = sum(r.detect_s for r in results)
    out = {
        "recall_by_peak_mag": score.recall_by_peak_mag(),
        "meteors_by_peak_mag": {
            str(b): score.recall(lambda m, b=b: _mag_bin(m.peak_mag) == b)[1] for b in MAG_BINS
        },
        "recall_bright_long": score.recall_bright_long(),
        "meteors_bright_long": score.recall(
            lambda m: m.peak_mag <= BRIGHT_MAG and m.n_frames_in_field >= LONG_FRAMES
        )[1],
        # the same, rating each meteor by the light that reaches the camera (clouds dim it 1-20x)
        "recall_bright_long_at_camera": score.recall(lambda m: _bright_long_at_camera(m))[0],
        "meteors_bright_long_at_camera": score.recall(lambda m: _bright_long_at_camera(m))[1],
        "false_events_per_hour": len(score.false_events) / hours,
        "false_events": len(score.false_events),
        "false_event_causes": causes,
        "hours_simulated": hours,
        "meteors_simulated": len(score.meteors),
        "meteors_detected": len(score.detected_meteor_ids),
        "satellites_simulated": score.satellites_simulated,
        "satellites_reported": len(score.satellite_ids_reported),
        "satellite_events": score.n_satellite_events,
        "aircraft_simulated": score.aircraft_simulated,
        "aircraft_reported": len(score.aircraft_ids_reported),
        "aircraft_events": score.n_aircraft_events,
        "events_reported": score.n_events,
        "meteor_events": score.n_meteor_events,
        "missed_bright_long": [
            {
                "id": m.id,
                "peak_mag": round(m.peak_mag, 2),
                "peak_mag_at_camera": round(float(m.info.get("peak_mag_at_camera", math.nan)), 2),
                "frames": m.n_frames_in_field,
                "speed_kms": round(float(m.info.get("speed_kms", math.nan)), 1),
            }
            for m in missed
            if m.peak_mag <= BRIGHT_MAG and m.n_frames_in_field >= LONG_FRAMES
        ][:20],
        "false_event_examples": [vars(fe) for fe in score.false_events[:20]],
        "frames_processed": frames,
        "detector_ms_per_frame": 1000.0 * detect_s / frames if frames else math.nan,
        "nights": per_night,
    }
    if wall_s is not None:
        out["wall_s"] = round(wall_s, 1)
    return _json_safe(out)


def _shape(r: NightResult) -> tuple[int, int]:
    from edge.camera.profiles import get_profile

    p = get_profile(r.config.profile)
    return p.height_px // r.config.binning, p.width_px // r.config.binning


def _json_safe(value):
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
