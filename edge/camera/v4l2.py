"""V4L2 / UVC cameras (USB cameras, capture cards) through `linuxpy`, behind the common interface.

`linuxpy` (`linuxpy.video.device`: `Device`, `VideoCapture`, `Frame`) talks to `/dev/videoN`
with mmap streaming. Frames in `GREY`, `YUYV` (the luma bytes are kept) or `MJPG` (decoded to
grey with Pillow) become (H, W) uint8 images; row padding (`bytes_per_line`) is removed.

Time: the driver's buffer timestamp is on CLOCK_MONOTONIC when the buffer says so
(`TIMESTAMP_MONOTONIC`); it is mapped to UTC through the system clock, UTC = now_utc -
(monotonic_now - stamp). Without a monotonic stamp the arrival time is used. Either way the
instant is the end of the frame (UVC stamps the first or last USB packet) or, with
`TSTAMP_SRC_SOE`, the start of exposure; `latency_s` is the calibrated time from mid-exposure to
that stamp (default: half the exposure plus one frame of transfer for end-of-frame stamps, minus
half the exposure for start-of-exposure stamps; measure it per camera model with a GPS-timed
LED) and `latency_error_s` is added to the clock's error. Frame indices are the driver's
sequence numbers, so dropped frames show as gaps.

Settings: exposure through `exposure_time_absolute` (100 us units, with `auto_exposure` set to
manual), gain through `gain` (device units: `gain_unity` is the control value taken as gain 1.0),
frame rate through VIDIOC_S_PARM with streaming stopped and restarted.
"""

from __future__ import annotations

import importlib
import io
import select
import time
from collections.abc import Callable

import numpy as np

from edge.camera.backend import (
    CameraBackend,
    CameraError,
    CameraInfo,
    CameraTimeout,
    CameraUnsupported,
    Frame,
    TimeQualityProvider,
    utc_from_clock,
    widen_time_quality,
)

INSTALL_HINT = "install the 'hardware' extra: pip install 'skytrail[hardware]' (linuxpy)"
FLAG_TIMESTAMP_MONOTONIC = 0x2000  # V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC
FLAG_TSTAMP_SRC_MASK = 0x70000
FLAG_TSTAMP_SRC_SOE = 0x10000
AUTO_EXPOSURE_MANUAL = 1  # V4L2_EXPOSURE_MANUAL


def _fourcc(code: int) -> str:
    return "".join(chr((int(code) >> (8 * i)) & 0xFF) for i in range(4))


def frame_to_gray(data, width: int, height: int, pixel_format: str, bytes_per_line: int = 0) -> np.ndarray:
    """Convert one V4L2 frame's bytes to an (H, W) uint8 copy. `pixel_format` is the fourcc
    ("GREY", "YUYV", "MJPG"); `bytes_per_line` the row stride (0: packed)."""
    if pixel_format in ("MJPG", "JPEG"):
        from PIL import Image, UnidentifiedImageError

        try:
            img = Image.open(io.BytesIO(bytes(data))).convert("L")
        except (UnidentifiedImageError, OSError) as exc:
            raise CameraError(f"v4l2 camera: undecodable {pixel_format} frame ({exc})") from exc
        out = np.asarray(img, dtype=np.uint8)
        if out.shape != (height, width):
            raise CameraError(f"v4l2 camera: decoded frame is {out.shape[::-1]}, expected {(width, height)}")
        return out.copy()
    bpp = {"GREY": 1, "YUYV": 2}.get(pixel_format)
    if bpp is None:
        raise CameraUnsupported(
            f"v4l2 camera: pixel format {pixel_format!r} not supported (GREY, YUYV, MJPG)"
        )
    stride = bytes_per_line or width * bpp
    buf = np.frombuffer(data, dtype=np.uint8)
    if stride < width * bpp or buf.size < stride * (height - 1) + width * bpp:
        raise CameraError(
            f"v4l2 camera: {pixel_format} frame of {buf.size} bytes is too short for "
            f"{width}x{height} with stride {stride}"
        )
    if buf.size < stride * height:  # the last row may lack its padding
        buf = np.concatenate([buf, np.zeros(stride * height - buf.size, np.uint8)])
    rows = buf[: stride * height].reshape(height, stride)
    return np.ascontiguousarray(rows[:, 0 : width * bpp : bpp])


def v4l2_time_to_utc(
    stamp_s: float, flags: int, monotonic_now_s: float, utc_now_s: float, latency_s: float
) -> float:
    """Mid-exposure UTC of a V4L2 buffer: its monotonic stamp (or, without one, the arrival
    time `utc_now_s`) mapped through the system clock, less the latency from mid-exposure to the
    stamp. All seconds."""
    if flags & FLAG_TIMESTAMP_MONOTONIC and stamp_s > 0:
        t = utc_from_clock(stamp_s, monotonic_now_s, utc_now_s)
    else:
        t = utc_now_s
    return t - latency_s


class V4L2Camera(CameraBackend):
    """A V4L2 capture device via linuxpy (see the module docstring)."""

    kind = "v4l2"

    def __init__(
        self,
        device: str | int = "/dev/video0",
        width_px: int = 1920,
        height_px: int = 1080,
        pixel_format: str = "YUYV",
        fps: float = 30.0,
        exposure_s: float | None = None,
        gain: float | None = None,
        gain_unity: int | None = None,
        latency_s: float | None = None,
        latency_error_s: float = 0.01,
        buffers: int = 4,
        time_quality: TimeQualityProvider | None = None,
        clocks: tuple[Callable[[], float], Callable[[], float]] | None = None,
    ) -> None:
        super().__init__(time_quality)
        self.device = f"/dev/video{device}" if isinstance(device, int) else str(device)
        self._size = (int(width_px), int(height_px))
        self.pixel_format = pixel_format
        self._fps = float(fps)
        self._want_exposure_s = exposure_s
        self._want_gain = gain
        self.gain_unity = gain_unity
        self.latency_s = latency_s
        self.latency_error_s = latency_error_s
        self.buffers = buffers
        self._utc_now, self._mono_now = clocks or (time.time, time.monotonic)
        self._lib = None
        self._dev = None
        self._cap = None
        self._format = None
        self._model = "?"

    # ------------------------------------------------------------------ lifecycle
    def _open(self) -> None:
        try:
            self._lib = importlib.import_module("linuxpy.video.device")
        except ImportError as exc:
            raise CameraError(f"v4l2 camera: 'linuxpy' is not installed; {INSTALL_HINT}") from exc
        try:
            dev = self._lib.Device(self.device)
            dev.open()
        except OSError as exc:
            raise CameraError(f"v4l2 camera: cannot open {self.device}: {exc}") from exc
        self._dev = dev
        try:
            self._model = str(getattr(dev.info, "card", "") or self.device)
            self._start_stream()
            if self._want_exposure_s is not None:
                self.set_exposure_s(self._want_exposure_s)
            if self._want_gain is not None:
                self.set_gain(self._want_gain)
        except Exception as exc:
            self._close()
            if isinstance(exc, CameraError):
                raise
            raise CameraError(f"v4l2 camera: cannot start {self.device}: {exc}") from exc

    def _start_stream(self) -> None:
        cap = self._lib.VideoCapture(self._dev, size=self.buffers)
        w, h = self._size
        cap.set_format(w, h, self.pixel_format)
        cap.set_fps(self._fps)
        fmt = cap.get_format()
        got = _fourcc(fmt.pixel_format)
        if (fmt.width, fmt.height) != (w, h) or got != self.pixel_format:
            raise CameraUnsupported(
                f"v4l2 camera: {self.device} offers {fmt.width}x{fmt.height} {got}, "
                f"not {w}x{h} {self.pixel_format}"
            )
        self._fps = float(cap.get_fps())
        cap.open()
        self._cap, self._format = cap, fmt

    def _stop_stream(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.close()

    def _close(self) -> None:
        try:
            self._stop_stream()
        finally:
            dev, self._dev = self._dev, None
            if dev is not None:
                dev.close()

    # ------------------------------------------------------------------ frames
    def _read(self, timeout_s: float | None) -> Frame:
        ready, _, _ = select.select([self._dev], [], [], timeout_s)
        if not ready:
            raise CameraTimeout(f"v4l2 camera: no frame from {self.device} within {timeout_s} s")
        try:
            vframe = self._cap.buffer.raw_read()
            utc_now, mono_now = self._utc_now(), self._mono_now()
            image = frame_to_gray(
                vframe.data,
                vframe.width,
                vframe.height,
                _fourcc(vframe.format.pixel_format),
                int(vframe.format.bytes_per_line or 0),
            )
        except OSError as exc:
            raise CameraError(f"v4l2 camera: reading {self.device} failed: {exc}") from exc
        flags = int(vframe.buff.flags)
        utc = v4l2_time_to_utc(float(vframe.timestamp), flags, mono_now, utc_now, self._latency_s(flags))
        has_stamp = bool(flags & FLAG_TIMESTAMP_MONOTONIC)
        tq = widen_time_quality(
            self.clock_quality(),
            self.latency_error_s,
            "v4l2: driver timestamp less latency" if has_stamp else "v4l2: arrival time less latency",
        )
        stamp_ns = int(round(float(vframe.timestamp) * 1e9)) if has_stamp else None
        return Frame(image, utc, int(vframe.frame_nb), tq, stamp_ns)

    def _latency_s(self, flags: int) -> float:
        if self.latency_s is not None:
            return self.latency_s
        exposure = self._exposure_s() or 1.0 / self._fps
        if flags & FLAG_TSTAMP_SRC_MASK == FLAG_TSTAMP_SRC_SOE:
            return -0.5 * exposure
        return 0.5 * exposure + 1.0 / self._fps

    # ------------------------------------------------------------------ settings
    def _control(self, name: str):
        if self._dev is None:
            raise CameraError("v4l2 camera: not open")
        try:
            return self._dev.controls[name]
        except KeyError:
            raise CameraUnsupported(f"v4l2 camera: {self.device} has no '{name}' control") from None

    def _write(self, name: str, value: int) -> None:
        ctrl = self._control(name)
        if not ctrl.minimum <= value <= ctrl.maximum:
            raise CameraError(f"v4l2 camera: {name}={value} is outside {ctrl.minimum}..{ctrl.maximum}")
        try:
            ctrl.value = value
        except OSError as exc:
            raise CameraError(f"v4l2 camera: cannot set {name}={value}: {exc}") from exc

    def _exposure_s(self) -> float | None:
        try:
            return float(self._control("exposure_time_absolute").value) * 1e-4
        except CameraError:
            return None

    def _set_exposure_s(self, exposure_s: float) -> None:
        self._control("exposure_time_absolute")
        try:
            self._write("auto_exposure", AUTO_EXPOSURE_MANUAL)
        except CameraUnsupported:
            pass  # devices without auto exposure are always manual
        self._write("exposure_time_absolute", max(1, int(round(exposure_s * 1e4))))

    def _unity(self) -> int:
        if self.gain_unity is not None:
            return self.gain_unity
        return max(1, int(self._control("gain").minimum))

    def _set_gain(self, gain: float) -> None:
        self._write("gain", int(round(self._unity() * gain)))

    def _set_fps(self, fps: float) -> None:
        old = self._fps
        self._fps = fps
        if self._cap is not None:
            self._stop_stream()
            try:
                self._start_stream()
            except Exception as exc:
                self._fps = old
                self._start_stream()
                raise CameraError(f"v4l2 camera: cannot set {fps} frames/s: {exc}") from exc

    def _info(self) -> CameraInfo:
        w, h = self._size
        gain = None
        if self._dev is not None:
            try:
                gain = float(self._control("gain").value) / self._unity()
            except CameraError:
                gain = None
        return CameraInfo(w, h, self._fps, self._model, self._exposure_s() if self._dev else None, gain)
