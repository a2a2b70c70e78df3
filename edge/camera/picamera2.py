"""Raspberry Pi CSI cameras through `picamera2` (libcamera), behind the common camera interface.

`picamera2` only installs on a Raspberry Pi OS image (its libcamera bindings are not on PyPI or
in Debian 12), so it is imported when the camera opens, and tested on x86 through a fake of the
parts of its API used here: `Picamera2(camera_num)`, `create_video_configuration(main=...,
controls=..., buffer_count=...)`, `configure`, `start`, `set_controls`, `capture_request(wait=)`,
`request.make_array("main")`, `request.get_metadata()`, `request.release()`, `stop`, `close`,
`camera_properties["Model"]`.

The main stream is YUV420; its luma plane (the first H rows of `make_array`) is the 8-bit mono
frame the detector wants. Time: `SensorTimestamp` (ns of CLOCK_BOOTTIME, taken by the kernel when
the frame starts) is mapped to UTC through the system clock, UTC = now_utc - (boottime_now -
sensor_ts), read together; libcamera documents it as the start of the first row's exposure, so
half the exposure (metadata `ExposureTime`) is added for mid-exposure unless
`timestamp_offset_s` says otherwise (measure it once per sensor model with a GPS-timed LED).
Frame indices count frame durations between sensor timestamps, so dropped frames show as gaps.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable

import numpy as np

from edge.camera.backend import (
    CameraBackend,
    CameraError,
    CameraInfo,
    CameraTimeout,
    Frame,
    TimeQualityProvider,
    utc_from_clock,
    widen_time_quality,
)

INSTALL_HINT = (
    "picamera2 comes with Raspberry Pi OS (apt install python3-picamera2; make the venv with "
    "--system-site-packages); it cannot be installed from PyPI on other systems"
)


def _boottime_s() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


class Picamera2Camera(CameraBackend):
    """A libcamera camera via picamera2 (see the module docstring)."""

    kind = "picamera2"

    def __init__(
        self,
        camera_num: int = 0,
        width_px: int = 1920,
        height_px: int = 1080,
        fps: float = 30.0,
        exposure_s: float | None = None,
        gain: float | None = None,
        buffer_count: int = 6,
        timestamp_offset_s: float | None = None,
        timestamp_error_s: float = 100e-6,
        time_quality: TimeQualityProvider | None = None,
        clocks: tuple[Callable[[], float], Callable[[], float]] | None = None,
    ) -> None:
        super().__init__(time_quality)
        self.camera_num = camera_num
        self._size = (int(width_px), int(height_px))
        self._fps = float(fps)
        self._exposure_s = exposure_s if exposure_s is not None else 1.0 / self._fps
        self._gain = gain if gain is not None else 1.0
        self.buffer_count = buffer_count
        self.timestamp_offset_s = timestamp_offset_s
        self.timestamp_error_s = timestamp_error_s
        self._utc_now, self._boot_now = clocks or (time.time, _boottime_s)
        self._cam = None
        self._model = "?"
        self._last_ts_ns: int | None = None
        self._index = -1

    def _controls(self) -> dict:
        frame_us = int(round(1e6 / self._fps))
        return {
            "AeEnable": False,
            "AwbEnable": False,
            "FrameDurationLimits": (frame_us, frame_us),
            "ExposureTime": int(round(min(self._exposure_s, 1.0 / self._fps) * 1e6)),
            "AnalogueGain": float(self._gain),
        }

    def _open(self) -> None:
        try:
            mod = importlib.import_module("picamera2")
        except ImportError as exc:
            raise CameraError(f"picamera2 camera: the 'picamera2' module is missing; {INSTALL_HINT}") from exc
        try:
            cam = mod.Picamera2(self.camera_num)
        except Exception as exc:
            raise CameraError(f"picamera2 camera: cannot open camera {self.camera_num}: {exc}") from exc
        try:
            config = cam.create_video_configuration(
                main={"size": self._size, "format": "YUV420"},
                controls=self._controls(),
                buffer_count=self.buffer_count,
            )
            cam.configure(config)
            cam.start()
        except Exception as exc:
            cam.close()
            raise CameraError(f"picamera2 camera: cannot configure camera {self.camera_num}: {exc}") from exc
        self._model = str(getattr(cam, "camera_properties", {}).get("Model", "libcamera camera"))
        self._cam = cam
        self._last_ts_ns, self._index = None, -1

    def _close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is not None:
            try:
                cam.stop()
            finally:
                cam.close()

    def _read(self, timeout_s: float | None) -> Frame:
        try:
            request = self._cam.capture_request(wait=timeout_s)
        except TimeoutError as exc:
            raise CameraTimeout(f"picamera2 camera: no frame within {timeout_s} s") from exc
        try:
            array = request.make_array("main")
            metadata = request.get_metadata()
        finally:
            request.release()
        w, h = self._size
        if array.ndim != 2 or array.shape[0] < h or array.shape[1] < w or array.dtype != np.uint8:
            raise CameraError(
                f"picamera2 camera: expected a YUV420 array with {h} luma rows, got {array.shape}"
            )
        image = np.ascontiguousarray(array[:h, :w])
        if "SensorTimestamp" not in metadata:
            raise CameraError("picamera2 camera: frame metadata has no SensorTimestamp")
        ts_ns = int(metadata["SensorTimestamp"])
        utc_a = self._utc_now()
        boot = self._boot_now()
        utc_b = self._utc_now()
        exposure_s = float(metadata.get("ExposureTime", self._exposure_s * 1e6)) * 1e-6
        offset = self.timestamp_offset_s if self.timestamp_offset_s is not None else 0.5 * exposure_s
        utc = utc_from_clock(ts_ns * 1e-9, boot, 0.5 * (utc_a + utc_b)) + offset
        frame_s = float(metadata.get("FrameDuration", 1e6 / self._fps)) * 1e-6
        if self._last_ts_ns is None:
            self._index = 0
        else:
            self._index += max(1, int(round((ts_ns - self._last_ts_ns) * 1e-9 / frame_s)))
        self._last_ts_ns = ts_ns
        tq = widen_time_quality(
            self.clock_quality(),
            self.timestamp_error_s + abs(utc_b - utc_a),
            "picamera2: SensorTimestamp via CLOCK_BOOTTIME",
        )
        return Frame(image, utc, self._index, tq, ts_ns)

    def _apply(self) -> None:
        if self._cam is not None:
            try:
                self._cam.set_controls(self._controls())
            except Exception as exc:
                raise CameraError(f"picamera2 camera: cannot set controls: {exc}") from exc

    def _set_exposure_s(self, exposure_s: float) -> None:
        self._exposure_s = exposure_s
        self._apply()

    def _set_gain(self, gain: float) -> None:
        self._gain = gain
        self._apply()

    def _set_fps(self, fps: float) -> None:
        self._fps = fps
        self._exposure_s = min(self._exposure_s, 1.0 / fps)
        self._apply()

    def _info(self) -> CameraInfo:
        w, h = self._size
        return CameraInfo(w, h, self._fps, self._model, self._exposure_s, self._gain)
