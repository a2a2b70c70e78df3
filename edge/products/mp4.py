"""The event's MP4: the detector's clip as H.264 video for people to watch.

Uses the ffmpeg binary shipped inside the `imageio-ffmpeg` wheel (no system ffmpeg needed).
Frames are 8-bit monochrome (the detector's clip, `Event.clip`); small crops are enlarged by an
integer factor (nearest neighbour) so that players show them at a useful size, and padded to even
sizes as yuv420p requires. `read_mp4` decodes the luma back at the stored size.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np

MIN_SIDE_PX = 240


def upscale_factor(height: int, width: int, min_side_px: int = MIN_SIDE_PX) -> int:
    """Integer enlargement that brings the shorter side to at least `min_side_px` (1 for big frames)."""
    return max(1, int(np.ceil(min_side_px / max(1, min(height, width)))))


def prepare_frames(frames: np.ndarray, scale: int) -> np.ndarray:
    """(N, H', W') uint8: frames enlarged by `scale` and padded (edge values) to even sizes."""
    f = np.asarray(frames)
    if f.ndim != 3 or f.shape[0] < 1:
        raise ValueError(f"frames: expected an (N, H, W) array with N >= 1, got shape {f.shape}")
    f = np.clip(f, 0, 255).astype(np.uint8)
    if scale > 1:
        f = f.repeat(scale, axis=1).repeat(scale, axis=2)
    pad_h, pad_w = f.shape[1] % 2, f.shape[2] % 2
    if pad_h or pad_w:
        f = np.pad(f, ((0, 0), (0, pad_h), (0, pad_w)), mode="edge")
    return np.ascontiguousarray(f)


def write_mp4(
    path: str | Path, frames: np.ndarray, fps: float, *, scale: int | None = None, crf: int = 12
) -> Path:
    """Encode frames (N, H, W) uint8 as H.264 (yuv420p) at `fps`; returns the path (written atomically)."""
    path = Path(path)
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps: {fps} is not a positive number")
    f = np.asarray(frames)
    if scale is None:
        scale = upscale_factor(f.shape[1], f.shape[2]) if f.ndim == 3 else 1
    f = prepare_frames(f, scale)
    n, h, w = f.shape
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part.mp4")
    writer = imageio_ffmpeg.write_frames(
        str(tmp),
        (w, h),
        fps=float(fps),
        codec="libx264",
        pix_fmt_in="gray",
        pix_fmt_out="yuv420p",
        quality=None,
        macro_block_size=1,
        output_params=["-crf", str(crf), "-preset", "fast"],
        ffmpeg_log_level="error",
    )
    writer.send(None)
    for k in range(n):
        writer.send(f[k])
    writer.close()
    tmp.replace(path)
    return path


def read_mp4(path: str | Path) -> np.ndarray:
    """(N, H, W) uint8 luma of every frame of a video; ValueError when ffmpeg cannot decode it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    try:
        n_frames, _secs = imageio_ffmpeg.count_frames_and_secs(str(path))
        reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="gray", bpp=1)
        meta = reader.__next__()
        w, h = meta["size"]
        frames = [np.frombuffer(buf, np.uint8).reshape(h, w) for buf in reader]
    except (RuntimeError, OSError, StopIteration, subprocess.SubprocessError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable video ({exc}) [ffmpeg {exe}]") from exc
    if not frames or len(frames) != n_frames:
        raise ValueError(f"{path}: decoded {len(frames)} frames, the container says {n_frames}")
    return np.stack(frames)
