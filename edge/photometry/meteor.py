"""Meteor flux per frame, from elongated apertures that follow the streak.

Inputs: the event's frames (the detector's clip, `edge.detect.detector.Event.clip`, or whole
recorded frames), the meteor's centroid per measured frame (pixel (0, 0) = centre of the top-left
pixel, in the coordinates of those frames), and a background image made from frames without the
meteor (the detector's `Event.mean`, which leaves the event's own pixels out). In one exposure the
meteor smears along its motion, so each aperture is an ellipse centred on the centroid, with its
long axis along the track: semi-major axis half the motion per frame plus `radius_px`,
semi-minor axis `radius_px`.
"""

from __future__ import annotations

import numpy as np
import sep

SATURATION_ADU = 255


def track_direction(x_px, y_px) -> tuple[float, float]:
    """(angle_rad, length_px): direction of the track's principal axis in pixel coordinates and its length."""
    x = np.asarray(x_px, float)
    y = np.asarray(y_px, float)
    pts = np.column_stack([x - x.mean(), y - y.mean()])
    if len(pts) < 2:
        return 0.0, 0.0
    _u, _s, vt = np.linalg.svd(pts, full_matrices=False)
    d = vt[0]
    proj = pts @ d
    angle = float(np.arctan2(d[1], d[0]))
    # an axis, not a direction: fold into -pi/2 .. pi/2 (sep's range)
    if angle > np.pi / 2:
        angle -= np.pi
    elif angle < -np.pi / 2:
        angle += np.pi
    return angle, float(np.ptp(proj))


def streak_apertures(x_px, y_px, frame_index, radius_px: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Semi-axes (a, b) per frame and the common angle (radians) of the apertures that follow the streak."""
    x = np.asarray(x_px, float)
    y = np.asarray(y_px, float)
    idx = np.asarray(frame_index, float)
    theta, _ = track_direction(x, y)
    if len(x) >= 2:
        step = np.hypot(np.diff(x), np.diff(y)) / np.maximum(np.diff(idx), 1.0)
        speed = float(np.median(step))
    else:
        speed = 0.0
    a = np.full(x.shape, 0.5 * speed + radius_px)
    b = np.full(x.shape, float(radius_px))
    return a, b, theta


def _check(frames: np.ndarray, x, y, frame_index, background) -> tuple:
    frames = np.asarray(frames)
    if frames.ndim != 3:
        raise ValueError(f"frames: expected an (N, H, W) array, got shape {frames.shape}")
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    idx = np.asarray(frame_index)
    if not (x.shape == y.shape == idx.shape) or x.ndim != 1:
        raise ValueError(
            f"x_px, y_px, frame_index: need 1-D arrays of one length, got {x.shape}, {y.shape}, {idx.shape}"
        )
    if idx.size and (idx.min() < 0 or idx.max() >= frames.shape[0]):
        raise ValueError(f"frame_index: values must index the {frames.shape[0]} frames given")
    bg = np.asarray(background, float)
    if bg.shape != frames.shape[1:]:
        raise ValueError(f"background: shape {bg.shape} does not match the frames' {frames.shape[1:]}")
    if not np.all(np.isfinite(bg)):
        raise ValueError("background: has non-finite pixels")
    return frames, x, y, idx.astype(int), bg


def meteor_fluxes(
    frames: np.ndarray,
    x_px,
    y_px,
    frame_index,
    background: np.ndarray,
    *,
    radius_px: float = 4.0,
) -> np.ndarray:
    """Background-subtracted flux of the meteor in each measured frame, ADU (one per position).

    `frame_index[i]` is the index into `frames` of the frame where the meteor is at
    (x_px[i], y_px[i]). Positions that are not finite or whose aperture leaves the frame give NaN.
    """
    frames, x, y, idx, bg = _check(frames, x_px, y_px, frame_index, background)
    out = np.full(x.shape, np.nan)
    if x.size == 0:
        return out
    a, b, theta = streak_apertures(x, y, idx, radius_px)
    h, w = bg.shape
    reach = (
        np.abs(a * np.cos(theta)) + np.abs(b * np.sin(theta)),
        np.abs(a * np.sin(theta)) + np.abs(b * np.cos(theta)),
    )
    ok = (
        np.isfinite(x)
        & np.isfinite(y)
        & (x - reach[0] >= -0.5)
        & (x + reach[0] <= w - 0.5)
        & (y - reach[1] >= -0.5)
        & (y + reach[1] <= h - 0.5)
    )
    for i in np.flatnonzero(ok):
        diff = np.ascontiguousarray(frames[idx[i]], dtype=np.float64) - bg
        f, _e, _flag = sep.sum_ellipse(
            diff, x[i : i + 1], y[i : i + 1], a[i : i + 1], b[i : i + 1], theta, r=1.0, subpix=5
        )
        out[i] = f[0]
    return out


def saturated_frames(
    frames: np.ndarray,
    x_px,
    y_px,
    frame_index,
    *,
    radius_px: float = 4.0,
    saturation_adu: int = SATURATION_ADU,
) -> np.ndarray:
    """True for the measured frames in which a pixel of the meteor's aperture reached `saturation_adu`."""
    frames, x, y, idx, _ = _check(frames, x_px, y_px, frame_index, np.zeros(np.shape(frames)[1:]))
    a, b, theta = streak_apertures(x, y, idx, radius_px)
    h, w = frames.shape[1:]
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros(x.shape, bool)
    c, s = np.cos(theta), np.sin(theta)
    for i in np.flatnonzero(np.isfinite(x) & np.isfinite(y)):
        u = (xx - x[i]) * c + (yy - y[i]) * s
        v = -(xx - x[i]) * s + (yy - y[i]) * c
        inside = (u / a[i]) ** 2 + (v / b[i]) ** 2 <= 1.0
        out[i] = bool(np.any(frames[idx[i]][inside] >= saturation_adu))
    return out
