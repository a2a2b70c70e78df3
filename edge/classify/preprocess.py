"""The classifier's input: one fixed-size crop made from what the detector hands over for an event.

Used unchanged in training (`edge.classify.dataset` builds crops from simulated candidates) and
on the station (`edge.classify.runtime` builds them from `edge.detect.detector.Event`), so the
network always sees the same thing.

Input: the event's full-frame aggregates (`max_pixel` uint8, `max_frame` index of the frame of
the maximum, background `mean` and `std`), its track (centroids `x_px`, `y_px` at times `t_unix`)
and the camera's plate scale (`deg_per_px`, at the optical centre). The crop is a square around the
track, `CROP_PX` pixels on a side in the crop, covering `scale` x `scale` frame pixels per crop pixel
(scale = 1 for short tracks, larger for long ones), reduced block by block at the brightest pixel so
thin trails survive. Four channels:
- 0, brightness: asinh of the significance (max - mean) / std, divided by `SNR_SOFTENING`, / 5;
- 1, time: the frame of the maximum at that pixel, 0.1..1 from the earliest to the latest frame
  among the significant pixels of the crop, 0 where the pixel is not significant (so motion shows
  as a ramp along a meteor and is absent for a flash or a hot pixel);
- 2, angular speed and 3, duration of the track, each constant over the crop (log scales,
  `motion_planes`). The crop alone cannot tell them: it is scaled to the track's length and its
  time channel is relative. They are what tells a meteor (several deg/s, under a second or two)
  from a satellite or an aircraft (under a deg/s, seconds to minutes), as in RMS's and M3's filters;
  the plate scale makes them the same for any sensor resolution or binning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

CROP_PX = 64
N_CHANNELS = 4
MARGIN_PX = 8  # frame pixels kept around the track's extent
MIN_STD_ADU = 1.0  # floor on the background std (8-bit quantisation)
SNR_SOFTENING = 2.0
SIGNIFICANT_SNR = 4.0  # pixels whose time channel is set
SPEED_RANGE_DEG_S = (0.03, 300.0)  # channel 2: 0..1 on a log scale (meteors 2-80 deg/s, satellites < 1)
DURATION_RANGE_S = (0.02, 20.0)  # channel 3: 0..1 on a log scale


class EventLike(Protocol):
    """What `crop_from_event` reads: `edge.detect.detector.Event` has these attributes."""

    max_pixel: np.ndarray
    max_frame: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    x_px: np.ndarray
    y_px: np.ndarray
    t_unix: np.ndarray


@dataclass(frozen=True)
class Crop:
    """A classifier input and where it lies in the frame.

    Crop pixel (cx, cy) covers frame pixels x0_px + cx*scale .. x0_px + (cx+1)*scale - 1.
    """

    image: np.ndarray  # (CROP_PX, CROP_PX, N_CHANNELS) float32
    x0_px: int  # frame column of the crop's first frame pixel (may be negative: padded)
    y0_px: int
    scale: int  # frame pixels per crop pixel, >= 1

    def to_frame(self, cx_px: float, cy_px: float) -> tuple[float, float]:
        """Frame pixel position (centre convention: top-left pixel centre is (0, 0)) of a crop position."""
        s = self.scale
        return self.x0_px + cx_px * s + (s - 1) / 2.0, self.y0_px + cy_px * s + (s - 1) / 2.0

    def to_crop(self, x_px, y_px) -> tuple[np.ndarray, np.ndarray]:
        """Crop position(s) of frame position(s): the inverse of `to_frame`."""
        s = self.scale
        return (np.asarray(x_px, float) - self.x0_px - (s - 1) / 2.0) / s, (
            np.asarray(y_px, float) - self.y0_px - (s - 1) / 2.0
        ) / s


def check_crop(image: np.ndarray) -> np.ndarray:
    """Validate a classifier input: (CROP_PX, CROP_PX, N_CHANNELS) finite float32. Returns it.

    Raises ValueError naming the problem (wrong type, shape, dtype or non-finite values)."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"crop must be a numpy array, got {type(image).__name__}")
    want = (CROP_PX, CROP_PX, N_CHANNELS)
    if image.shape != want:
        raise ValueError(
            f"crop shape is {image.shape}, expected {want} (make it with edge.classify.preprocess)"
        )
    if image.dtype != np.float32:
        raise ValueError(
            f"crop dtype is {image.dtype}, expected float32 (make it with edge.classify.preprocess)"
        )
    if not np.all(np.isfinite(image)):
        raise ValueError("crop has NaN or infinite values")
    return image


def _log_scaled(value: float, lo: float, hi: float) -> float:
    return float(np.clip(np.log(max(value, lo) / lo) / np.log(hi / lo), 0.0, 1.0))


def motion_planes(x_px: np.ndarray, y_px: np.ndarray, t_unix: np.ndarray,
                  deg_per_px: float) -> tuple[float, float]:  # fmt: skip
    """The values of channels 2 and 3: the track's angular speed (straight-line fit of position on
    time, deg/s) and its duration (s), each mapped to 0..1 on a log scale."""
    t = np.asarray(t_unix, float)
    if not (np.isfinite(deg_per_px) and deg_per_px > 0):
        raise ValueError(f"deg_per_px must be a positive plate scale, got {deg_per_px}")
    if t.shape != np.shape(x_px) or not np.all(np.isfinite(t)):
        raise ValueError(
            f"t_unix must hold one finite time per centroid, got shape {t.shape} for {np.shape(x_px)}"
        )
    duration_s = float(np.ptp(t)) if t.size else 0.0
    speed_deg_s = 0.0
    if t.size >= 2 and duration_s > 0:
        vx = np.polyfit(t - t[0], np.asarray(x_px, float), 1)[0]
        vy = np.polyfit(t - t[0], np.asarray(y_px, float), 1)[0]
        speed_deg_s = float(np.hypot(vx, vy)) * deg_per_px
    return _log_scaled(speed_deg_s, *SPEED_RANGE_DEG_S), _log_scaled(duration_s, *DURATION_RANGE_S)


def make_crop(
    max_pixel: np.ndarray,
    max_frame: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    x_px: np.ndarray,
    y_px: np.ndarray,
    t_unix: np.ndarray,
    deg_per_px: float,
) -> Crop:
    """The classifier crop of an event from its full-frame aggregates, its track (centroids in px at
    times t_unix in s) and the camera's plate scale (deg per px)."""
    shape = np.shape(max_pixel)
    if len(shape) != 2:
        raise ValueError(f"max_pixel must be a 2-D frame, got shape {shape}")
    for name, arr in (("max_frame", max_frame), ("mean", mean), ("std", std)):
        if np.shape(arr) != shape:
            raise ValueError(f"{name} shape is {np.shape(arr)}, expected {shape} like max_pixel")
    x = np.asarray(x_px, float).ravel()
    y = np.asarray(y_px, float).ravel()
    t = np.asarray(t_unix, float).ravel()
    if x.shape != y.shape or t.shape != x.shape:
        raise ValueError(f"x_px, y_px and t_unix must have equal lengths, got {x.size}, {y.size}, {t.size}")
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        raise ValueError("the track needs at least one finite (x_px, y_px) centroid")
    x, y, t = x[ok], y[ok], t[ok]
    speed_plane, duration_plane = motion_planes(x, y, t, deg_per_px)
    extent = max(np.ptp(x), np.ptp(y)) + 2 * MARGIN_PX
    scale = max(1, int(np.ceil(extent / CROP_PX)))
    side = CROP_PX * scale
    x0 = int(np.round(0.5 * (x.min() + x.max()) - side / 2.0 + 0.5))
    y0 = int(np.round(0.5 * (y.min() + y.max()) - side / 2.0 + 0.5))
    h, w = shape
    rows = np.arange(y0, y0 + side)
    cols = np.arange(x0, x0 + side)
    inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
    r, c = np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)
    mx = np.asarray(max_pixel, np.float32)[np.ix_(r, c)]
    mu = np.asarray(mean, np.float32)[np.ix_(r, c)]
    sd = np.maximum(np.asarray(std, np.float32)[np.ix_(r, c)], MIN_STD_ADU)
    fr = np.asarray(max_frame, np.float32)[np.ix_(r, c)]
    snr = np.where(inside, (mx - mu) / sd, 0.0).astype(np.float32)
    # block reduction at each block's most significant pixel
    blocks = snr.reshape(CROP_PX, scale, CROP_PX, scale).transpose(0, 2, 1, 3).reshape(CROP_PX, CROP_PX, -1)
    pick = np.argmax(blocks, axis=-1)[..., None]
    snr_c = np.take_along_axis(blocks, pick, -1)[..., 0]
    fr_c = np.take_along_axis(
        fr.reshape(CROP_PX, scale, CROP_PX, scale).transpose(0, 2, 1, 3).reshape(CROP_PX, CROP_PX, -1),
        pick,
        -1,
    )[..., 0]
    image = np.zeros((CROP_PX, CROP_PX, N_CHANNELS), np.float32)
    image[..., 0] = np.arcsinh(np.maximum(snr_c, 0.0) / SNR_SOFTENING) / 5.0
    sig = snr_c > SIGNIFICANT_SNR
    if sig.any():
        f_lo, f_hi = float(fr_c[sig].min()), float(fr_c[sig].max())
        ramp = (fr_c - f_lo) / (f_hi - f_lo) if f_hi > f_lo else np.zeros_like(fr_c)
        image[..., 1] = np.where(sig, 0.1 + 0.9 * np.clip(ramp, 0.0, 1.0), 0.0)
    image[..., 2] = speed_plane
    image[..., 3] = duration_plane
    return Crop(image, x0, y0, scale)


def crop_from_event(event: EventLike, deg_per_px: float) -> Crop:
    """The classifier crop of a detector event (`edge.detect.detector.Event` or alike) from a camera
    of plate scale `deg_per_px`."""
    return make_crop(event.max_pixel, event.max_frame, event.mean, event.std, event.x_px, event.y_px,
                     event.t_unix, deg_per_px)  # fmt: skip
