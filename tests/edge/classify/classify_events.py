"""Synthetic detector events for the classifier tests (imported by the test modules beside it)."""

from __future__ import annotations

import numpy as np

from edge.classify.dataset import Candidate

DEG_PER_PX = 0.09  # plate scale of the events below (480x270 frames of a 43 deg wide camera)
FPS = 25.0


def line_event(x0, y0, x1, y1, shape=(270, 480), n=20, peak=120.0) -> Candidate:
    """A synthetic meteor: a line whose pixels light up one after another (frame index grows along it)
    over n frames at FPS."""
    h, w = shape
    max_pixel = np.full(shape, 10, np.uint8)
    max_frame = np.zeros(shape, np.uint16)
    t = np.linspace(0, 1, 400)
    xs, ys = np.rint(x0 + t * (x1 - x0)).astype(int), np.rint(y0 + t * (y1 - y0)).astype(int)
    max_pixel[ys, xs] = peak
    max_frame[ys, xs] = np.rint(t * (n - 1)).astype(np.uint16)
    k = np.linspace(0, 1, n)
    return Candidate(max_pixel, max_frame, np.full(shape, 10.0, np.float32), np.full(shape, 2.0, np.float32),
                     x0 + k * (x1 - x0), y0 + k * (y1 - y0), 1.8e9 + np.arange(n) / FPS)  # fmt: skip
