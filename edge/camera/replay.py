"""Replay of a recorded frame file (`edge.camera.recording`, `.npz`) as a camera.

The frames and their stamped UTC times come from the file (what the simulator or a station
recorded); the time quality from the file's `meta.time_quality` when it has one, otherwise
free-running with a note. Frames are delivered at the recorded pace (`speed=1`), faster, or as
fast as possible (`speed=None`). `loop=True` starts again at the end, shifting the times by the
recording's length plus one frame so that they keep increasing; `shift_to_now=True` moves the
times so that the first frame is stamped with the wall clock's UTC.

The recorded exposure and gain cannot be changed; the frame rate can be lowered to the
recorded rate divided by a whole number (frames are dropped evenly, which shows as gaps in the
frame index).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from edge.camera.backend import (
    CameraBackend,
    CameraError,
    CameraInfo,
    EndOfStream,
    Frame,
    Pacer,
    TimeQualityProvider,
    decimation_step,
)
from edge.camera.recording import Recording, read_recording
from edge.protocol import TimeQuality, TimeSource


class ReplayCamera(CameraBackend):
    """A recording file played back as a camera (see the module docstring)."""

    kind = "replay"

    def __init__(
        self,
        path: str | Path,
        speed: float | None = None,
        loop: bool = False,
        shift_to_now: bool = False,
        time_quality: TimeQualityProvider | None = None,
    ) -> None:
        super().__init__(time_quality)
        self.path = Path(path)
        self._pacer = Pacer(speed)
        self.loop = loop
        self.shift_to_now = shift_to_now
        self._rec: Recording | None = None
        self._pos = 0
        self._lap = 0
        self._step = 1
        self._shift_s: float | None = None
        self._tq: TimeQuality | None = None

    def _load(self) -> Recording:
        if self._rec is None:
            try:
                self._rec = read_recording(self.path)
            except FileNotFoundError:
                raise CameraError(f"replay camera: no recording at {self.path}") from None
            except ValueError as exc:
                where = "" if str(self.path) in str(exc) else f"{self.path}: "
                raise CameraError(f"replay camera: {where}{exc}") from exc
            self._tq = self._recorded_time_quality(self._rec.meta)
        return self._rec

    def _recorded_time_quality(self, meta: dict) -> TimeQuality:
        if "time_quality" not in meta:
            return TimeQuality(
                source=TimeSource.FREE_RUNNING,
                estimated_error_s=1.0,
                pps_locked=False,
                note=f"replay of {self.path.name}: the recording carries no time quality",
            )
        try:
            return TimeQuality.model_validate(meta["time_quality"])
        except ValidationError as exc:
            raise CameraError(f"replay camera: {self.path}: bad meta.time_quality: {exc}") from exc

    def _open(self) -> None:
        self._load()
        self._pos, self._lap, self._shift_s = 0, 0, None
        self._pacer.reset()

    def _close(self) -> None:
        pass

    def _read(self, timeout_s: float | None) -> Frame:
        rec = self._load()
        n = len(rec.utc_unix_s)
        while True:
            if self._pos >= n:
                if not self.loop:
                    raise EndOfStream(f"replay camera: end of {self.path.name} after {n} frames")
                self._pos, self._lap = 0, self._lap + 1
            i = self._pos
            self._pos += 1
            if i % self._step == 0:
                break
        period_s = float(rec.utc_unix_s[-1] - rec.utc_unix_s[0]) + 1.0 / float(rec.meta["fps"])
        t = float(rec.utc_unix_s[i]) + self._lap * period_s
        self._pacer.wait_for(t, timeout_s)
        if self.shift_to_now and self._shift_s is None:
            self._shift_s = time.time() - t
        return Frame(
            image=np.ascontiguousarray(rec.frames[i]),
            utc_unix_s=t + (self._shift_s or 0.0),
            frame_index=i + self._lap * n,
            time_quality=self._tq,
        )

    def _info(self) -> CameraInfo:
        rec = self._load()
        _, h, w = rec.frames.shape
        return CameraInfo(
            width_px=int(w),
            height_px=int(h),
            fps=float(rec.meta["fps"]) / self._step,
            model=f"replay of {self.path.name} ({rec.meta['station_id']}/{rec.meta['camera_id']})",
            exposure_s=float(rec.meta["exposure_s"]),
            gain=rec.meta.get("gain"),
        )

    def _set_fps(self, fps: float) -> None:
        self._step = decimation_step(float(self._load().meta["fps"]), fps)
