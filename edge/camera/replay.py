"""Replay of recorded frame files (`edge.camera.recording`, `.npz`) as a camera.

The frames and their stamped UTC times come from the file (what the simulator or a station
recorded); the time quality from the file's `meta.time_quality` when it has one, otherwise
free-running with a note. `path` is one file, a list of files, or a directory (its `*.npz`,
sorted by name): a playlist, played in order; its files must follow each other in time and share
frame size and rate. The frame index runs on across files, and the jump in time between two
files is kept (a camera that was paused).

Frames are delivered at the recorded pace (`speed=1`), faster, or as
fast as possible (`speed=None`). `loop=True` starts again at the end, shifting the times by the
recording's length plus one frame so that they keep increasing; `shift_to_now=True` moves the
times so that the first frame is stamped with the wall clock's UTC.

The recorded exposure and gain cannot be changed; the frame rate can be lowered to the
recorded rate divided by a whole number (frames are dropped evenly, which shows as gaps in the
frame index).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
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
        path: str | Path | Sequence[str | Path],
        speed: float | None = None,
        loop: bool = False,
        shift_to_now: bool = False,
        time_quality: TimeQualityProvider | None = None,
    ) -> None:
        super().__init__(time_quality)
        self.paths = playlist(path)
        self.path = self.paths[0]
        self._pacer = Pacer(speed)
        self.loop = loop
        self.shift_to_now = shift_to_now
        self._rec: Recording | None = None
        self._file = 0  # playlist position of self._rec
        self._offset = 0  # frames in the playlist before self._rec
        self._n_total: int | None = None  # frames in the whole playlist (known after the first lap)
        self._pos = 0
        self._lap = 0
        self._step = 1
        self._shift_s: float | None = None
        self._tq: TimeQuality | None = None

    def _load(self) -> Recording:
        if self._rec is None:
            self._rec = self._read_file(self._file)
            self._tq = self._recorded_time_quality(self._rec.meta)
        return self._rec

    def _read_file(self, k: int) -> Recording:
        path = self.paths[k]
        try:
            rec = read_recording(path)
        except FileNotFoundError:
            raise CameraError(f"replay camera: no recording at {path}") from None
        except ValueError as exc:
            where = "" if str(path) in str(exc) else f"{path}: "
            raise CameraError(f"replay camera: {where}{exc}") from exc
        if self._rec is not None:
            prev = self._rec
            if rec.frames.shape[1:] != prev.frames.shape[1:] or rec.meta["fps"] != prev.meta["fps"]:
                raise CameraError(
                    f"replay camera: {path.name} has frames {rec.frames.shape[1:]} at {rec.meta['fps']} "
                    f"frames/s, but {self.paths[k - 1].name} had {prev.frames.shape[1:]} at "
                    f"{prev.meta['fps']}: a playlist must keep one frame size and rate"
                )
            if rec.utc_unix_s[0] <= prev.utc_unix_s[-1]:
                raise CameraError(
                    f"replay camera: {path.name} starts before {self.paths[k - 1].name} ends: "
                    "the files of a playlist must follow each other in time"
                )
        return rec

    def _next_file(self) -> bool:
        """Move to the playlist's next file (False at its end)."""
        if self._file + 1 >= len(self.paths):
            return False
        self._offset += len(self._load().utc_unix_s)
        self._rec = self._read_file(self._file + 1)
        self._file += 1
        self._tq = self._recorded_time_quality(self._rec.meta)
        self._pos = 0
        return True

    def _recorded_time_quality(self, meta: dict) -> TimeQuality:
        if "time_quality" not in meta:
            return TimeQuality(
                source=TimeSource.FREE_RUNNING,
                estimated_error_s=1.0,
                pps_locked=False,
                note=f"replay of {self.paths[self._file].name}: the recording carries no time quality",
            )
        try:
            return TimeQuality.model_validate(meta["time_quality"])
        except ValidationError as exc:
            raise CameraError(
                f"replay camera: {self.paths[self._file]}: bad meta.time_quality: {exc}"
            ) from exc

    def _open(self) -> None:
        self._rewind()
        self._lap, self._shift_s = 0, None
        self._pacer.reset()

    def _close(self) -> None:
        pass

    def _rewind(self) -> None:
        if self._file != 0:
            self._rec, self._file = None, 0
        self._load()
        self._pos, self._offset = 0, 0
        self._t_first = float(self._rec.utc_unix_s[0])

    def _read(self, timeout_s: float | None) -> Frame:
        rec = self._load()
        while True:
            if self._pos >= len(rec.utc_unix_s):
                if self._next_file():
                    rec = self._load()
                    continue
                if not self.loop:
                    raise EndOfStream(
                        f"replay camera: end of {self.paths[-1].name} after {self._offset + self._pos} frames"
                    )
                self._n_total = self._offset + self._pos
                self._t_last = float(rec.utc_unix_s[-1])
                self._rewind()
                self._lap += 1
                rec = self._load()
            i = self._pos
            self._pos += 1
            if (self._offset + i) % self._step == 0:
                break
        t = float(rec.utc_unix_s[i])
        if self._lap:
            # a lap starts one frame after the previous one ended, so times keep increasing
            t += self._lap * (self._t_last - self._t_first + 1.0 / float(rec.meta["fps"]))
        self._pacer.wait_for(t, timeout_s)
        if self.shift_to_now and self._shift_s is None:
            self._shift_s = time.time() - t
        return Frame(
            image=np.ascontiguousarray(rec.frames[i]),
            utc_unix_s=t + (self._shift_s or 0.0),
            frame_index=self._offset + i + self._lap * (self._n_total or 0),
            time_quality=self._tq,
        )

    def _info(self) -> CameraInfo:
        rec = self._load()
        _, h, w = rec.frames.shape
        return CameraInfo(
            width_px=int(w),
            height_px=int(h),
            fps=float(rec.meta["fps"]) / self._step,
            model=f"replay of {self.paths[self._file].name} "
            f"({rec.meta['station_id']}/{rec.meta['camera_id']})",
            exposure_s=float(rec.meta["exposure_s"]),
            gain=rec.meta.get("gain"),
        )

    def _set_fps(self, fps: float) -> None:
        self._step = decimation_step(float(self._load().meta["fps"]), fps)


def playlist(path: str | Path | Sequence[str | Path]) -> list[Path]:
    """The files a replay camera plays: one file, a list, or a directory's `*.npz` (sorted by name;
    the camera checks their time order as it goes). CameraError for an empty playlist."""
    if isinstance(path, str | Path):
        p = Path(path)
        paths = sorted(p.glob("*.npz")) if p.is_dir() else [p]
        if not paths:
            raise CameraError(f"replay camera: no recordings (*.npz) in {p}")
        return paths
    paths = [Path(x) for x in path]
    if not paths:
        raise CameraError("replay camera: the playlist is empty")
    return paths
