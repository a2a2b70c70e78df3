"""Labelled classifier candidates rendered by the simulator, for training and held-out evaluation.

Each short simulated night (`edge.sim.night`: one camera, binned 4x to 480x270, with meteors,
satellites (some flaring), aircraft with blinking lights, insects, moonlit clouds, hot pixels and
the Moon) is rendered once into memory; every object in it then becomes a candidate the way the
detector would hand it over: the max-pixel / frame-of-max / mean / std aggregates over the frames
it is seen in (mean and std leave out each pixel's four highest values, as RMS does), its track
of centroids (the simulator's truth positions, at the frames' times) and the camera's plate scale,
turned into a crop by `edge.classify.preprocess.make_crop`, the same function the station uses.
Long tracks (satellites, aircraft) give up to `track_pieces` candidates from different stretches.
An object becomes a candidate only where the detector would report it: its light, at its true
position, clears the detector's seed threshold (`DetectorConfig.k_sigma` background sigmas) in at
least `DetectorConfig.min_frames` frames. Lightning must reach `LIGHTNING_MIN_SNR` somewhere in its crop.

Classes the simulator has no object for are made here:
- lightning: a whole-frame flash (a tiny layer of this module, `add_lightning`) in 1-3 frames;
- cloud: a patch of moonlit, wind-driven cloud (nights with cloud cover and the Moon up);
- noise: a few frames around a hot pixel or a random spot.

The held-out set uses other seeds and other parameters (`HELDOUT_PARAMS`): brighter sky, more
flares, other meteor brightness and length ranges, faster clouds, other flash strengths.
"""

from __future__ import annotations

import hashlib
import json
import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edge.classify.preprocess import CROP_PX, MARGIN_PX, N_CHANNELS, SNR_SOFTENING, make_crop
from edge.detect.detector import DetectorConfig
from edge.sim.night import NightConfig, plan_night, render_night

CLASSES = ("meteor", "satellite", "aircraft", "insect", "cloud", "lightning", "noise")
METEOR = 0
BINNING = 4
LIGHTNING_MIN_SNR = 6.0  # lightning fainter than this in its crop would not be reported
# the same threshold in the crop's brightness channel (edge.classify.preprocess)
LIGHTNING_MIN_BRIGHTNESS = float(np.arcsinh(LIGHTNING_MIN_SNR / SNR_SOFTENING) / 5.0)
DETECTOR = DetectorConfig()  # whose thresholds decide which objects are candidates
MAX_WINDOW_FRAMES = 64  # the detector's clip length
TOP_LEFT_OUT = 4  # per-pixel highest values left out of mean and std (RMS style)


@dataclass(frozen=True)
class DataParams:
    """What the simulated nights look like; training and held-out sets use different values."""

    night_s: float = 12.0
    meteors_per_hour: float = 9000.0
    satellites_per_hour: float = 900.0
    aircraft_per_hour: float = 450.0
    insects_per_hour: float = 1500.0
    meteor_peak_mag_range: tuple[float, float] = (-2.0, 4.0)
    meteor_frames_range: tuple[int, int] = (3, 45)
    satellite_flare_probability: float = 0.3
    sky_mag_arcsec2: float = 20.5
    cloud_wind_ms: float = 25.0
    cloud_cover_range: tuple[float, float] = (0.3, 0.7)
    lightning_adu_range: tuple[float, float] = (8.0, 120.0)
    lightning_per_night: int = 4
    cloud_per_night: int = 6
    noise_per_night: int = 5
    track_pieces: int = 2  # candidates cut from different stretches of a long satellite/aircraft track


# Lightning, cloud, noise and extra stretches of long tracks are cut from frames already rendered,
# so training takes more of them per night at almost no cost (rendering the night is what costs).
TRAIN_PARAMS = DataParams(lightning_per_night=10, cloud_per_night=12, noise_per_night=12, track_pieces=3)
HELDOUT_PARAMS = DataParams(
    meteor_peak_mag_range=(-3.0, 4.5),
    meteor_frames_range=(3, 60),
    satellite_flare_probability=0.6,
    sky_mag_arcsec2=19.5,
    cloud_wind_ms=40.0,
    cloud_cover_range=(0.4, 0.8),
    lightning_adu_range=(5.0, 180.0),
)


@dataclass
class Candidate:
    """An event as the detector would hand it over (the attributes `crop_from_event` reads)."""

    max_pixel: np.ndarray  # (H, W) uint8
    max_frame: np.ndarray  # (H, W) uint16, frame of the maximum, relative to the window's first
    mean: np.ndarray  # (H, W) float32
    std: np.ndarray  # (H, W) float32
    x_px: np.ndarray  # track centroids
    y_px: np.ndarray
    t_unix: np.ndarray  # the centroids' times, s


def aggregate(frames: np.ndarray, lo: int, hi: int, x_px, y_px, t_unix, bg_frames: int = 24) -> Candidate:
    """Aggregates of frames lo..hi (inclusive) around a track, computed near the track only.

    Background mean/std come from up to `bg_frames` earlier frames plus the window, each pixel's
    `TOP_LEFT_OUT` highest values left out. Outside the neighbourhood the arrays are flat (no signal).
    """
    n, h, w = frames.shape
    x = np.asarray(x_px, float)
    y = np.asarray(y_px, float)
    # the crop (side CROP_PX * scale, centred on the track's extent) plus 2 px for its rounding
    half = 0.5 * CROP_PX * max(1, math.ceil((max(np.ptp(x), np.ptp(y)) + 2 * MARGIN_PX) / CROP_PX)) + 2
    cx, cy = 0.5 * (x.min() + x.max()), 0.5 * (y.min() + y.max())
    r0, r1 = max(0, int(cy - half)), min(h, int(cy + half) + 1)
    c0, c1 = max(0, int(cx - half)), min(w, int(cx + half) + 1)
    win = frames[lo : hi + 1, r0:r1, c0:c1]
    bg = frames[max(0, lo - bg_frames) : hi + 1, r0:r1, c0:c1].astype(np.float32)
    n_keep = max(2, bg.shape[0] - TOP_LEFT_OUT)
    # the n_keep lowest values per pixel (a partition finds the same set as a full sort, faster)
    keep = np.partition(bg, n_keep - 1, axis=0)[:n_keep] if n_keep < bg.shape[0] else bg
    max_pixel = np.zeros((h, w), np.uint8)
    max_frame = np.zeros((h, w), np.uint16)
    mean = np.zeros((h, w), np.float32)
    std = np.ones((h, w), np.float32)
    max_pixel[r0:r1, c0:c1] = win.max(axis=0)
    max_frame[r0:r1, c0:c1] = win.argmax(axis=0)
    mean[r0:r1, c0:c1] = keep.mean(axis=0)
    std[r0:r1, c0:c1] = keep.std(axis=0)
    return Candidate(max_pixel, max_frame, mean, std, x, y, np.asarray(t_unix, float))


def add_lightning(frames: np.ndarray, flash_frames: np.ndarray, peak_adu: float, gain_e_per_adu: float,
                  rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """A lightning flash: the whole sky lit in the given frames, brighter toward a random side and
    patchy where clouds reflect it, with its shot noise. Returns new uint8 frames."""
    n, h, w = frames.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = rng.uniform(0, 2 * np.pi)
    ramp = ((xx - w / 2) * np.cos(a) + (yy - h / 2) * np.sin(a)) / max(h, w)
    coarse = rng.standard_normal((h // 30 + 2, w // 30 + 2)).astype(np.float32)
    from scipy.ndimage import zoom

    patches = zoom(coarse, (h / coarse.shape[0], w / coarse.shape[1]), order=1)[:h, :w]
    out = frames.astype(np.float32)
    for k in flash_frames:
        level = peak_adu * rng.uniform(0.3, 1.0) * np.clip(0.6 + ramp + 0.3 * patches, 0.05, None)
        noise = rng.standard_normal((h, w)).astype(np.float32) * np.sqrt(level / gain_e_per_adu)
        out[k] += level + noise
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _night_config(seed: int, params: DataParams, rng: np.random.Generator, cloudy: bool) -> NightConfig:
    moon_up = cloudy or rng.random() < 0.3
    day = "2026-01-02" if moon_up else "2026-01-18"  # full Moon up at 23 h local / new Moon
    return NightConfig(
        seed=seed,
        binning=BINNING,
        az_deg=float(rng.uniform(0, 360)),
        alt_deg=float(rng.uniform(30, 80)),
        roll_deg=float(rng.uniform(-10, 10)),
        start_utc=f"{day}T{int(rng.integers(14, 18)):02d}:{int(rng.integers(0, 60)):02d}:00Z",
        duration_s=params.night_s,
        meteor_rate_per_hour=params.meteors_per_hour,
        meteor_peak_mag_range=params.meteor_peak_mag_range,
        meteor_frames_range=params.meteor_frames_range,
        satellites_per_hour=params.satellites_per_hour,
        satellite_flare_probability=params.satellite_flare_probability,
        aircraft_per_hour=params.aircraft_per_hour,
        insects_per_hour=params.insects_per_hour,
        cloud_cover=float(rng.uniform(*params.cloud_cover_range)) if cloudy else 0.0,
        cloud_wind_ms=params.cloud_wind_ms,
        cloud_height_m=float(rng.uniform(1000, 4000)),
        hot_pixels=int(rng.integers(10, 60)),
        moon=True,
        sky_mag_arcsec2=params.sky_mag_arcsec2,
    )


def _random_track(
    rng: np.random.Generator, cx: float, cy: float, spread_px: float, frames: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A detector's track on something that does not move in a line: 3-6 centroids scattered around
    (cx, cy), in frames drawn from `frames` (returned sorted)."""
    n = int(rng.integers(3, 7))
    k = np.sort(rng.choice(np.asarray(frames), n))
    return cx + rng.uniform(-spread_px, spread_px, n), cy + rng.uniform(-spread_px, spread_px, n), k


def frames_detected(frames: np.ndarray, frame_index, x_px, y_px, bg_frames: int = 24) -> int:
    """How many of the object's frames put a pixel within 1 px of its true position above the
    detector's seed threshold: k_sigma background sigmas, mean and sigma of that pixel over the
    `bg_frames` frames before the object (after it when it starts the night), as the detector's
    running background sees them."""
    n, h, w = frames.shape
    f = np.asarray(frame_index, int)
    before = np.arange(max(0, f.min() - bg_frames), f.min())
    bg = before if before.size >= bg_frames // 2 else np.arange(f.max() + 1, min(n, f.max() + 1 + bg_frames))
    hits = 0
    for k, x, y in zip(f, x_px, y_px, strict=True):
        c, r = int(round(x)), int(round(y))
        if not (0 <= r < h and 0 <= c < w) or bg.size < 2:
            continue
        history = frames[bg, r, c].astype(np.float32)
        sigma = max(float(history.std()), DETECTOR.min_sigma_adu)
        peak = float(frames[k, max(0, r - 1) : r + 2, max(0, c - 1) : c + 2].max())
        hits += peak - float(history.mean()) >= DETECTOR.k_sigma * sigma
    return hits


def render_frames(seed: int, params: DataParams, rng: np.random.Generator, cloudy: bool):
    """One simulated night's plan (its truth), its frames (n, h, w) uint8 and their times (s)."""
    plan = plan_night(_night_config(seed, params, rng, cloudy))
    frames = np.stack([f.frame for f in render_night(plan)])
    return plan, frames, plan.frame_times(0, len(frames))


def night_candidates(seed: int, params: DataParams = TRAIN_PARAMS) -> dict[str, np.ndarray]:
    """Render one simulated night and return its labelled crops.

    Returns arrays: `images` (n, 64, 64, N_CHANNELS) float32, `labels` (n,) int (index into CLASSES),
    `track_crop_px` (n, 4): the true track's first and last in-window positions in crop pixels
    (NaN for classes without a track), `scale` (n,) frame px per crop px."""
    rng = np.random.default_rng([seed, 7919])
    cloudy = seed % 3 == 0
    plan, frames, frame_t = render_frames(seed, params, rng, cloudy)
    n, h, w = frames.shape
    deg_per_px = plan.camera.model.pixel_scale_arcmin / 60.0
    out: dict[str, list] = {"images": [], "labels": [], "track_crop_px": [], "scale": []}

    def add(cand: Candidate, label: int, track: tuple[float, float, float, float] | None) -> None:
        crop = make_crop(cand.max_pixel, cand.max_frame, cand.mean, cand.std, cand.x_px, cand.y_px,
                         cand.t_unix, deg_per_px)  # fmt: skip
        if label == CLASSES.index("lightning") and crop.image[..., 0].max() < LIGHTNING_MIN_BRIGHTNESS:
            return
        t = np.full(4, np.nan)
        if track is not None:
            ax, ay = crop.to_crop(track[0], track[1])
            bx, by = crop.to_crop(track[2], track[3])
            t[:] = (ax, ay, bx, by)
        out["images"].append(crop.image)
        out["labels"].append(label)
        out["track_crop_px"].append(t)
        out["scale"].append(crop.scale)

    for obj in plan.truth:
        f = obj.frame_index[obj.in_field]
        if f.size < 2:
            continue
        xs, ys = obj.x_px[obj.in_field], obj.y_px[obj.in_field]
        label = CLASSES.index(obj.kind)
        pieces = [(0, f.size)]
        if obj.kind in ("satellite", "aircraft", "insect") and f.size > MAX_WINDOW_FRAMES // 2:
            pieces = []
            for _ in range(params.track_pieces if obj.kind != "insect" else 1):
                length = int(rng.integers(8, min(MAX_WINDOW_FRAMES, f.size) + 1))
                start = int(rng.integers(0, f.size - length + 1))
                pieces.append((start, start + length))
        elif f.size > MAX_WINDOW_FRAMES:
            pieces = [(0, MAX_WINDOW_FRAMES)]
        for a, b in pieces:
            lo, hi = max(0, int(f[a]) - 1), min(n - 1, int(f[b - 1]) + 1)
            tx = xs[a:b] + rng.normal(0, 0.2, b - a)
            ty = ys[a:b] + rng.normal(0, 0.2, b - a)
            cand = aggregate(frames, lo, hi, tx, ty, frame_t[f[a:b]])
            if frames_detected(frames, f[a:b], xs[a:b], ys[a:b]) < DETECTOR.min_frames:
                continue
            track = (xs[a], ys[a], xs[b - 1], ys[b - 1]) if obj.kind == "meteor" else None
            add(cand, label, track)

    gain = plan.camera.profile.gain_e_per_adu
    for _ in range(params.lightning_per_night):
        length = int(rng.integers(6, 30))
        lo = int(rng.integers(0, n - length))
        clip = frames[max(0, lo - 24) : lo + length].copy()
        k = lo - max(0, lo - 24)
        flashes = k + rng.choice(length, size=int(rng.integers(1, 4)), replace=False)
        clip = add_lightning(clip, flashes, float(rng.uniform(*params.lightning_adu_range)), gain, rng)
        # the detector sees the lit patches of the flash frames
        tx, ty, tk = _random_track(rng, rng.uniform(40, w - 40), rng.uniform(40, h - 40), 25.0, flashes)
        t = frame_t[max(0, lo - 24) + tk]
        add(aggregate(clip, k, clip.shape[0] - 1, tx, ty, t), CLASSES.index("lightning"), None)
    if cloudy:
        for _ in range(params.cloud_per_night):
            length = int(rng.integers(10, MAX_WINDOW_FRAMES))
            lo = int(rng.integers(24, n - length))
            window = np.arange(lo, lo + length)
            tx, ty, tk = _random_track(rng, rng.uniform(30, w - 30), rng.uniform(30, h - 30), 15.0, window)
            add(aggregate(frames, lo, lo + length - 1, tx, ty, frame_t[tk]), CLASSES.index("cloud"), None)
    hx, hy, _extra = plan.camera.hot_pixels
    for _ in range(params.noise_per_night):
        length = int(rng.integers(4, 40))
        lo = int(rng.integers(24, n - length))
        if rng.random() < 0.5:
            i = int(rng.integers(len(hx)))
            cx, cy = float(hx[i]), float(hy[i])
        else:
            cx, cy = rng.uniform(10, w - 10), rng.uniform(10, h - 10)
        tx, ty, tk = _random_track(rng, cx, cy, 2.0, np.arange(lo, lo + length))
        add(aggregate(frames, lo, lo + length - 1, tx, ty, frame_t[tk]), CLASSES.index("noise"), None)

    if not out["labels"]:
        return {
            "images": np.zeros((0, CROP_PX, CROP_PX, N_CHANNELS), np.float32),
            "labels": np.zeros(0, np.int64),
            "track_crop_px": np.zeros((0, 4)),
            "scale": np.zeros(0, np.int64),
        }
    return {
        "images": np.stack(out["images"]).astype(np.float32),
        "labels": np.asarray(out["labels"], np.int64),
        "track_crop_px": np.asarray(out["track_crop_px"], float),
        "scale": np.asarray(out["scale"], np.int64),
    }


def _one(args: tuple[int, DataParams, Path | None]) -> dict[str, np.ndarray]:
    seed, params, night_dir = args
    path = None
    if night_dir is not None:
        key = hashlib.sha256(json.dumps(_recipe(params)).encode()).hexdigest()[:10]
        path = Path(night_dir) / f"night_{seed}_{key}.npz"
        if path.is_file():
            with np.load(path) as f:
                return {k: f[k] for k in f.files}
    data = night_candidates(seed, params)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **data)
    return data


def build_dataset(
    first_seed: int,
    n_nights: int,
    params: DataParams = TRAIN_PARAMS,
    workers: int = 2,
    night_dir: str | Path | None = None,
) -> dict[str, np.ndarray]:
    """Candidates of nights first_seed .. first_seed + n_nights - 1, rendered in parallel (each night
    kept in / reused from `night_dir` when given, so an interrupted run resumes)."""
    jobs = [(first_seed + i, params, Path(night_dir) if night_dir else None) for i in range(n_nights)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            parts = list(pool.map(_one, jobs))
    else:
        parts = [_one(j) for j in jobs]
    data = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    data["classes"] = np.asarray(CLASSES)
    return data


def save_dataset(data: dict[str, np.ndarray], path: str | Path, params: DataParams, first_seed: int,
                 n_nights: int) -> None:  # fmt: skip
    """Write a dataset (with how it was made) to an .npz file."""
    np.savez_compressed(
        path,
        **data,
        recipe=np.asarray(json.dumps(dataset_recipe(params, first_seed, n_nights))),
    )


def _recipe(params: DataParams) -> dict:
    # "candidates": how objects are chosen (2: the detector's thresholds at the true positions)
    return {"params": asdict(params), "channels": N_CHANNELS, "candidates": 2}


def dataset_recipe(params: DataParams, first_seed: int, n_nights: int) -> dict:
    """How a set was made (stored with it; a cached set is reused only when this matches)."""
    return {**_recipe(params), "first_seed": first_seed, "n_nights": n_nights}


def load_dataset(path: str | Path) -> dict[str, np.ndarray]:
    """Read a dataset written by `save_dataset`."""
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


TRAIN_FIRST_SEED = 1000
HELDOUT_FIRST_SEED = 900_000
