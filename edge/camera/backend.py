"""One interface for every camera a station can run: frames with UTC times and their time quality.

Backends (`sim`, `replay`, `v4l2`, `genicam`, `picamera2`, made by `edge.camera.factory`) differ
in where pixels and clocks come from; the capture process sees only this interface. A frame's
`utc_unix_s` is the mid-exposure instant in POSIX seconds (UTC), mapped from whatever clock the
camera offers (a sensor timestamp, a driver timestamp, or the arrival time less a calibrated
latency); `time_quality` says how well that instant is known (`edge.protocol.TimeQuality`: the
system clock's quality from `edge.timing`, widened by the mapping's own uncertainty).

The base class checks what every backend must guarantee: frames are (H, W) uint8 of the size in
`info`, frame indices and UTC times strictly increase, settings are positive and finite. A
violation raises `CameraError` (or a subclass) naming the problem; the camera stays usable.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from edge.protocol import TimeQuality, TimeSource

TimeQualityProvider = Callable[[], TimeQuality]


class CameraError(RuntimeError):
    """A camera could not be opened, read or configured; the message says why."""


class CameraTimeout(CameraError):
    """No frame arrived within the time asked for."""


class CameraUnsupported(CameraError):
    """The camera (or its driver) does not offer this setting."""


class EndOfStream(CameraError):
    """A finite source (a recording, a simulated night) has no more frames."""


class CameraTimeError(CameraError):
    """A frame's UTC time is not after the previous frame's (the system clock stepped back?)."""


@dataclass(frozen=True)
class CameraInfo:
    """What a camera delivers now: frame size (px), frame rate (1/s), settings and model name."""

    width_px: int
    height_px: int
    fps: float
    model: str
    exposure_s: float | None = None
    gain: float | None = None


@dataclass(frozen=True)
class Frame:
    """One exposure: an (H, W) uint8 image, its mid-exposure UTC (POSIX s) and the camera's frame
    counter (gaps mean dropped frames), the time quality, and the camera's own timestamp (ns of
    the camera's clock) when it gives one."""

    image: np.ndarray
    utc_unix_s: float
    frame_index: int
    time_quality: TimeQuality
    sensor_timestamp_ns: int | None = None

    def __post_init__(self) -> None:
        img = self.image
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 2:
            raise CameraError(
                f"frame: expected an (H, W) uint8 array, got {getattr(img, 'dtype', type(img))} "
                f"with shape {getattr(img, 'shape', None)}"
            )
        if not math.isfinite(self.utc_unix_s):
            raise CameraError(f"frame {self.frame_index}: UTC time is not finite ({self.utc_unix_s})")


def simulated_time_quality(error_s: float = 0.0, note: str | None = None) -> TimeQuality:
    """Time quality of simulated frames: exact unless the simulation says otherwise."""
    return TimeQuality(source=TimeSource.SIMULATED, estimated_error_s=error_s, pps_locked=False, note=note)


def widen_time_quality(clock: TimeQuality, mapping_error_s: float, note: str | None = None) -> TimeQuality:
    """The clock's quality with a timestamp mapping's own error added in quadrature (seconds)."""
    err = math.hypot(clock.estimated_error_s, max(mapping_error_s, 0.0))
    text = "; ".join(t for t in (clock.note, note) if t) or None
    return replace_tq(clock, estimated_error_s=err, note=text[:200] if text else None)


def replace_tq(tq: TimeQuality, **changes) -> TimeQuality:
    """A copy of a TimeQuality with fields changed (validated again)."""
    return TimeQuality.model_validate({**tq.model_dump(), **changes})


def check_setting(name: str, value: float) -> float:
    """A setting as a positive finite float, or a CameraError naming it."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise CameraError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise CameraError(f"{name}: must be positive and finite, got {value!r}")
    return v


def decimation_step(native_fps: float, fps: float) -> int:
    """Keep every n-th frame of a fixed-rate source to reach `fps`; n must be a whole number."""
    n = native_fps / fps
    step = int(round(n))
    if step < 1 or abs(n - step) > 1e-6 * n:
        raise CameraUnsupported(
            f"fps: this source runs at {native_fps:g} frames/s and can only drop frames evenly; "
            f"choose {native_fps:g}/n (e.g. {native_fps:g}, {native_fps / 2:g}, {native_fps / 3:g})"
        )
    return step


class Pacer:
    """Sleeps so that source time advances `speed` times as fast as wall time (None: no pacing)."""

    def __init__(self, speed: float | None) -> None:
        if speed is not None:
            check_setting("speed", speed)
        self.speed = speed
        self._origin: tuple[float, float] | None = None

    def wait_for(self, source_t_s: float, timeout_s: float | None) -> None:
        if self.speed is None:
            return
        now = time.monotonic()
        if self._origin is None:
            self._origin = (now, source_t_s)
        due = self._origin[0] + (source_t_s - self._origin[1]) / self.speed
        delay = due - now
        if timeout_s is not None and delay > timeout_s:
            time.sleep(max(timeout_s, 0.0))
            raise CameraTimeout(f"next frame is due in {delay:.3f} s, after the {timeout_s} s timeout")
        if delay > 0:
            time.sleep(delay)

    def reset(self) -> None:
        self._origin = None


class CameraBackend(ABC):
    """A camera: open it (or use it as a context manager), read frames, change settings.

    Subclasses implement `_open`, `_close`, `_read(timeout_s)` returning a `Frame`, `_info`, and
    `_set_exposure_s` / `_set_gain` / `_set_fps` (raise `CameraUnsupported` where the hardware
    has no such control). `time_quality` supplies the system clock's quality (e.g.
    `edge.timing.quality.TimeQualityMonitor.current`); backends widen it by their own mapping
    error.
    """

    kind: str = "?"

    def __init__(self, time_quality: TimeQualityProvider | None = None) -> None:
        self._time_quality = time_quality
        self._is_open = False
        self._last: tuple[int, float] | None = None

    # ---------------------------------------------------------------- lifecycle
    def open(self) -> CameraBackend:
        """Start the camera; opening an open camera does nothing."""
        if not self._is_open:
            self._open()
            self._is_open = True
            self._last = None
        return self

    def close(self) -> None:
        """Stop the camera and free it; closing a closed camera does nothing."""
        if self._is_open:
            self._is_open = False
            self._close()

    @property
    def is_open(self) -> bool:
        return self._is_open

    def __enter__(self) -> CameraBackend:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- frames
    def read(self, timeout_s: float | None = 5.0) -> Frame:
        """The next frame; waits at most `timeout_s` seconds (None: forever) or raises
        `CameraTimeout`. Raises `EndOfStream` at the end of a finite source."""
        if not self._is_open:
            raise CameraError(f"{self.kind} camera: read() on a closed camera; call open() first")
        frame = self._read(timeout_s)
        info = self.info
        if frame.image.shape != (info.height_px, info.width_px):
            raise CameraError(
                f"{self.kind} camera: frame {frame.frame_index} is {frame.image.shape[::-1]} (W, H), "
                f"expected {(info.width_px, info.height_px)}"
            )
        if self._last is not None:
            last_index, last_utc = self._last
            if frame.frame_index <= last_index:
                raise CameraError(
                    f"{self.kind} camera: frame index {frame.frame_index} is not after {last_index}"
                )
            if frame.utc_unix_s <= last_utc:
                self._last = (frame.frame_index, self._last[1])
                raise CameraTimeError(
                    f"{self.kind} camera: frame {frame.frame_index} at UTC {frame.utc_unix_s:.6f} is "
                    f"{last_utc - frame.utc_unix_s:.6f} s before the previous frame (clock stepped back?)"
                )
        self._last = (frame.frame_index, frame.utc_unix_s)
        return frame

    def frames(self, max_frames: int | None = None, timeout_s: float | None = 5.0) -> Iterator[Frame]:
        """Iterate over frames until `max_frames` or the end of a finite source."""
        n = 0
        while max_frames is None or n < max_frames:
            try:
                frame = self.read(timeout_s)
            except EndOfStream:
                return
            n += 1
            yield frame

    # ---------------------------------------------------------------- settings
    def set_exposure_s(self, exposure_s: float) -> None:
        """Exposure time, seconds (no longer than a frame)."""
        v = check_setting("exposure_s", exposure_s)
        fps = self.info.fps
        if v > 1.0 / fps + 1e-9:
            raise CameraError(f"exposure_s: {v} s is longer than a frame at {fps:g} frames/s")
        self._set_exposure_s(v)

    def set_gain(self, gain: float) -> None:
        """Analogue gain, as a factor over the sensor's lowest gain (1.0)."""
        self._set_gain(check_setting("gain", gain))

    def set_fps(self, fps: float) -> None:
        """Frame rate, frames per second."""
        self._set_fps(check_setting("fps", fps))

    @property
    def info(self) -> CameraInfo:
        """Frame size, frame rate, settings and model name as they are now."""
        return self._info()

    # ---------------------------------------------------------------- helpers for subclasses
    def clock_quality(self) -> TimeQuality:
        """The system clock's quality (free-running with a note when nobody provides it)."""
        if self._time_quality is None:
            return TimeQuality(
                source=TimeSource.FREE_RUNNING,
                estimated_error_s=1.0,
                pps_locked=False,
                note="no time-quality provider given to the camera",
            )
        return self._time_quality()

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _read(self, timeout_s: float | None) -> Frame: ...

    @abstractmethod
    def _info(self) -> CameraInfo: ...

    def _set_exposure_s(self, exposure_s: float) -> None:
        raise CameraUnsupported(f"{self.kind} camera: exposure cannot be set")

    def _set_gain(self, gain: float) -> None:
        raise CameraUnsupported(f"{self.kind} camera: gain cannot be set")

    def _set_fps(self, fps: float) -> None:
        raise CameraUnsupported(f"{self.kind} camera: frame rate cannot be set")


def with_info(info: CameraInfo, **changes) -> CameraInfo:
    """A copy of a CameraInfo with fields changed."""
    return replace(info, **changes)


def utc_from_clock(stamp_s: float, clock_now_s: float, utc_now_s: float) -> float:
    """Map a timestamp on some clock (monotonic, boottime, ...) to UTC through the system clock:
    UTC = now_utc - (clock_now - stamp). All in seconds."""
    return utc_now_s - (clock_now_s - stamp_s)
