"""Recorded frame stacks on disk (`.npz`): what the simulator writes and file replay reads.

One file per camera: `frames` (N, H, W) uint8, `utc_unix_s` (N,) float64 mid-exposure UTC
times as the station's clock gave them (POSIX seconds), and `meta`, a JSON object with at least
station_id, camera_id, exposure_s, fps, and optionally the site, the camera model and the
time-quality record. Reading checks everything and says what is wrong.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REQUIRED_META = ("station_id", "camera_id", "exposure_s", "fps")


@dataclass
class Recording:
    frames: np.ndarray  # (N, H, W) uint8
    utc_unix_s: np.ndarray  # (N,) float64, mid-exposure
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate(self.frames, self.utc_unix_s, self.meta)

    @property
    def station_id(self) -> str:
        return self.meta["station_id"]

    @property
    def camera_id(self) -> str:
        return self.meta["camera_id"]


def validate(frames: np.ndarray, utc_unix_s: np.ndarray, meta: dict) -> None:
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.ndim != 3:
        raise ValueError(
            f"frames: expected an (N, H, W) uint8 array, got {getattr(frames, 'dtype', type(frames))} "
            f"with shape {getattr(frames, 'shape', None)}"
        )
    if frames.shape[0] < 1:
        raise ValueError("frames: the recording holds no frame")
    times = np.asarray(utc_unix_s)
    if times.shape != (frames.shape[0],):
        raise ValueError(f"utc_unix_s: shape {times.shape} does not match {frames.shape[0]} frames")
    if not np.all(np.isfinite(times)):
        raise ValueError("utc_unix_s: times must be finite")
    if np.any(np.diff(times) <= 0):
        bad = int(np.flatnonzero(np.diff(times) <= 0)[0]) + 1
        raise ValueError(f"utc_unix_s: frame {bad} is not later than frame {bad - 1}")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ValueError(f"meta: missing {', '.join(missing)}")


def write_recording(path: str | Path, recording: Recording) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as f:
        np.savez(
            f,
            frames=recording.frames,
            utc_unix_s=np.asarray(recording.utc_unix_s, np.float64),
            meta=np.array(json.dumps(recording.meta)),
        )
    tmp.replace(path)  # a reader never sees half a file
    return path


def read_recording(path: str | Path) -> Recording:
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = {"frames", "utc_unix_s", "meta"} - set(data.files)
            if missing:
                raise ValueError(f"{path}: not a Skytrail recording, missing {', '.join(sorted(missing))}")
            frames, times, meta_text = data["frames"], data["utc_unix_s"], str(data["meta"])
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: unreadable recording ({exc})") from exc
    try:
        meta = json.loads(meta_text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: meta is not JSON ({exc})") from exc
    try:
        return Recording(frames=frames, utc_unix_s=times, meta=meta)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
