"""The four aggregate images of a block of frames: max pixel, frame of the max, and the
mean and standard deviation of each pixel with its maximum left out (RMS and the M3
data products use these). The work is done by the C core (`src/stack.c`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from edge.detect import _cdetect


@dataclass(frozen=True)
class StackImages:
    max_pixel: np.ndarray  # uint8 (H, W)
    max_frame: np.ndarray  # uint16 (H, W): index of the frame that held the maximum
    mean: np.ndarray  # float32 (H, W), maximum left out
    std: np.ndarray  # float32 (H, W), maximum left out
    n_frames: int


class FrameStack:
    """Accumulates 8-bit frames of one camera, one at a time, in fixed memory."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = int(width), int(height)
        self._stack = _cdetect.Stack(self.width, self.height)

    def add(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8:
            raise ValueError(f"frame dtype is {frame.dtype}, expected uint8")
        if frame.shape != (self.height, self.width):
            raise ValueError(f"frame shape is {frame.shape}, expected {(self.height, self.width)}")
        if frame.strides[1] != 1:
            frame = np.ascontiguousarray(frame)
        self._stack.add(frame)

    @property
    def count(self) -> int:
        return self._stack.count

    def reset(self) -> None:
        self._stack.reset()

    def result(self) -> StackImages:
        shape = (self.height, self.width)
        images = StackImages(
            max_pixel=np.empty(shape, np.uint8),
            max_frame=np.empty(shape, np.uint16),
            mean=np.empty(shape, np.float32),
            std=np.empty(shape, np.float32),
            n_frames=self.count,
        )
        self._stack.result(images.max_pixel, images.max_frame, images.mean, images.std)
        return images


def aggregate(frames: Iterable[np.ndarray] | np.ndarray) -> StackImages:
    """Aggregate images of a stack of frames (an (N, H, W) uint8 array or an iterable of frames)."""
    stack: FrameStack | None = None
    for frame in frames:
        if stack is None:
            if np.ndim(frame) != 2:
                raise ValueError(f"each frame must be 2-D (height, width); got shape {np.shape(frame)}")
            stack = FrameStack(frame.shape[1], frame.shape[0])
        stack.add(frame)
    if stack is None:
        raise ValueError("no frames to aggregate")
    return stack.result()
