"""The camera process's star stack: the mean of a run of recent frames with the events' light taken
out, handed to the extractor with each event so that live events are calibrated on as many frames
as a recording's quiet frames give `skytrail process`.

Why: an event's own aggregates (`Event.mean`) average only the detector's clip, about 20-30 frames
(the margins and the meteor's frames), and the stars of so short a stack are too noisy: on a
480x270 camera such a stack matched 11-30 catalogue stars where 256 frames match 40-50
(`docs/station.md`). Keeping a whole stack of every frame would cost an addition per pixel per
frame; this one adds `frames` consecutive frames (256, about 8.5 s at 30 frames/s) and then rests
until `refresh_s` after the run began (120 s), so it costs well under 1 % of a core. The camera's
pointing does not move, so an older stack calibrates a later event as well (the fit uses the
stack's own mean time, `StarStack.t_unix`).

Inputs: every frame the camera process reads (`add`), every event the detector emits (`exclude`
replaces, in the event's clip box, each of the clip's frames that the stack holds by the clip's
background, so a meteor leaves no trail in the stack), and `reset` when the frame times jump (a
paused camera, a replayed playlist: stars have moved since). `current()` is the stack with the most
frames: the last finished run, or the run in progress while there is none yet (after a start or a
reset), which is why `frames_wanted` says how many frames short it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_dilation

from edge.detect.detector import Event
from edge.process import StarStack

MASK_GROW_PX = 2  # the meteor's faint wings reach beyond the detector's mask
PEAK_SIGMAS = 3.0  # peak put back under an event's pixels: its clip background + this many sigmas


@dataclass
class _Run:
    """One run of consecutive frames being (or having been) summed."""

    sum: np.ndarray  # float32 (H, W): exact for up to 65 000 8-bit frames
    peak: np.ndarray  # uint8 (H, W)
    first_index: int
    last_index: int
    t_first: float
    serial: int  # which run of this stacker (runs are told apart by it, not by identity)
    t_sum: float = 0.0
    n: int = 0

    def stack(self) -> StarStack:
        return StarStack(
            mean=self.sum / np.float32(self.n),
            peak=self.peak.copy(),
            t_unix=self.t_sum / self.n,
            n_frames=self.n,
        )


class StarStacker:
    """Runs of `frames` consecutive frames, one starting every `refresh_s` (see the module docstring)."""

    def __init__(self, width: int, height: int, frames: int = 256, refresh_s: float = 120.0) -> None:
        if frames < 1:
            raise ValueError(f"star stack frames: {frames} must be at least 1")
        if not refresh_s > 0:
            raise ValueError(f"star stack refresh_s: {refresh_s} must be positive")
        self.shape = (int(height), int(width))
        self.frames = int(frames)
        self.refresh_s = float(refresh_s)
        self._run: _Run | None = None  # in progress
        self._done: _Run | None = None  # the last finished run
        self._cached: tuple[int, int, StarStack] | None = None  # (run serial, its frames, its stack)
        self._serial = 0

    def reset(self) -> None:
        """Forget everything (the frame times jumped: the stars are elsewhere now)."""
        self._run = self._done = None
        self._cached = None

    def add(self, image: np.ndarray, frame_index: int, t_unix: float) -> None:
        run = self._run
        if run is None:
            last_start = self._done.t_first if self._done is not None else None
            if last_start is not None and t_unix - last_start < self.refresh_s:
                return  # resting until the next run is due
            run = self._run = _Run(
                sum=np.zeros(self.shape, np.float32),
                peak=np.zeros(self.shape, np.uint8),
                first_index=int(frame_index),
                last_index=int(frame_index),
                t_first=float(t_unix),
                serial=self._serial,
            )
            self._serial += 1
        np.add(run.sum, image, out=run.sum, casting="unsafe")
        np.maximum(run.peak, image, out=run.peak)
        run.n += 1
        run.t_sum += float(t_unix)
        run.last_index = int(frame_index)
        if run.n >= self.frames:
            self._done, self._run = run, None

    def exclude(self, event: Event) -> int:
        """Take the event's light out of the runs that hold its clip's frames; returns the number of
        (frame, run) pairs replaced."""
        x0, y0 = (int(v) for v in event.clip_origin)
        clip = np.asarray(event.clip)
        h, w = clip.shape[1:]
        box = (slice(y0, y0 + h), slice(x0, x0 + w))
        bg = np.asarray(event.mean[box], np.float32)
        fallback = clip.astype(np.float32).mean(0)
        bg = np.where(np.isfinite(bg), bg, fallback)
        std = np.asarray(event.std[box], np.float32)
        grown = binary_dilation(np.asarray(event.mask[box], bool), iterations=MASK_GROW_PX)
        quiet_peak = np.clip(bg + PEAK_SIGMAS * np.where(np.isfinite(std), std, 0.0), 0, 255).astype(np.uint8)
        replaced = 0
        for run in (self._done, self._run):
            if run is None:
                continue
            inside = (event.clip_frame_index >= run.first_index) & (event.clip_frame_index <= run.last_index)
            if not inside.any():
                continue
            region = run.sum[box]
            region += inside.sum() * bg - clip[inside].astype(np.float32).sum(0)
            peak = run.peak[box]
            peak[grown] = np.minimum(peak[grown], quiet_peak[grown])
            replaced += int(inside.sum())
        if replaced:
            self._cached = None
        return replaced

    @property
    def n_frames(self) -> int:
        """Frames in the stack `current()` gives."""
        runs = [r for r in (self._done, self._run) if r is not None]
        return max((r.n for r in runs), default=0)

    @property
    def frames_wanted(self) -> int:
        """Frames the current stack lacks of a whole run (0 once a run has finished)."""
        return 0 if self._done is not None else self.frames - self.n_frames

    def current(self) -> StarStack | None:
        """The stack with the most frames (the last finished run, else the one in progress). Events
        in a row get the same object while the run is unchanged (their queue holds it once)."""
        runs = [r for r in (self._done, self._run) if r is not None and r.n > 0]
        if not runs:
            return None
        run = max(runs, key=lambda r: r.n)
        if self._cached is None or self._cached[:2] != (run.serial, run.n):
            self._cached = (run.serial, run.n, run.stack())
        return self._cached[2]
