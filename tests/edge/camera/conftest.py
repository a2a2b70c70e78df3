"""Fakes of the camera libraries that cannot run here, built on their own public API.

- picamera2 (does not import on x86): a small fake module with the calls our adapter uses; it
  runs a virtual sensor whose SensorTimestamp is on a given CLOCK_BOOTTIME-like clock.
- linuxpy (no /dev/video device here, no v4l2loopback module): fake `Device` and `VideoCapture`
  that hand out linuxpy's real `Frame` objects (real `v4l2_buffer` structs and `Format`).
"""

from __future__ import annotations

import fractions
import os
import sys
import time
import types

import numpy as np
import pytest


def pattern_frame(h: int, w: int, k: int) -> np.ndarray:
    """A frame whose content says which frame it is: a ramp plus k."""
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx + 2 * yy + 3 * k) % 251).astype(np.uint8)


# --------------------------------------------------------------------------- picamera2 fake
class FakeRequest:
    def __init__(self, cam, k: int, ts_ns: int):
        self.cam, self.k, self.ts_ns = cam, k, ts_ns
        self.released = False

    def make_array(self, name: str) -> np.ndarray:
        assert name == "main"
        w, h = self.cam.config["main"]["size"]
        assert self.cam.config["main"]["format"] == "YUV420"
        out = np.full((h * 3 // 2, w), 128, np.uint8)  # luma plane, then chroma
        out[:h] = pattern_frame(h, w, self.k)
        return out

    def get_metadata(self) -> dict:
        c = self.cam.controls
        return {
            "SensorTimestamp": self.ts_ns,
            "ExposureTime": c["ExposureTime"],
            "FrameDuration": c["FrameDurationLimits"][0],
            "AnalogueGain": c["AnalogueGain"],
        }

    def release(self) -> None:
        self.released = True


class FakePicamera2:
    """The parts of picamera2.Picamera2 that edge.camera.picamera2 uses."""

    instances: list = []
    boottime_ns = staticmethod(lambda: time.clock_gettime_ns(time.CLOCK_BOOTTIME))
    drop: set = set()

    def __init__(self, camera_num: int = 0):
        if camera_num != 0:
            raise IndexError(f"camera {camera_num} not found")
        self.camera_properties = {"Model": "imx462"}
        self.config = None
        self.controls = {}
        self.started = False
        self.closed = False
        self.k = 0
        self.t0_ns = None
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, main=None, controls=None, buffer_count=6):
        return {"main": dict(main), "controls": dict(controls or {}), "buffer_count": buffer_count}

    def configure(self, config):
        self.config = config
        self.controls = dict(config["controls"])

    def set_controls(self, controls):
        self.controls.update(controls)

    def start(self):
        self.started = True
        self.t0_ns = self.boottime_ns() - 50_000_000

    def capture_request(self, wait=None):
        if not self.started:
            raise RuntimeError("camera not started")
        while self.k in self.drop:
            self.k += 1
        frame_ns = self.controls["FrameDurationLimits"][0] * 1000
        req = FakeRequest(self, self.k, self.t0_ns + self.k * frame_ns)
        self.k += 1
        return req

    def stop(self):
        self.started = False

    def close(self):
        self.closed = True


@pytest.fixture
def fake_picamera2(monkeypatch):
    mod = types.ModuleType("picamera2")
    mod.Picamera2 = FakePicamera2
    FakePicamera2.instances = []
    FakePicamera2.drop = set()
    monkeypatch.setitem(sys.modules, "picamera2", mod)
    return FakePicamera2


# --------------------------------------------------------------------------- linuxpy fake
class FakeControl:
    def __init__(self, minimum: int, maximum: int, value: int):
        self.minimum, self.maximum, self.value = minimum, maximum, value


class FakeInfo:
    card = "Fake UVC Camera"


class FakeV4L2Device:
    """linuxpy.video.device.Device as our backend uses it: open/close, fileno (for select),
    info.card and controls by name."""

    def __init__(self, path, **kwargs):
        if not str(path).startswith("/dev/video"):
            raise OSError(2, "No such file or directory", str(path))
        self.path = path
        self.info = FakeInfo()
        self.controls = {
            "auto_exposure": FakeControl(0, 3, 3),
            "exposure_time_absolute": FakeControl(1, 5000, 156),
            "gain": FakeControl(16, 255, 16),
        }
        self._r = self._w = None

    def open(self):
        self._r, self._w = os.pipe()
        os.write(self._w, b"x")  # always readable: frames are ready at once

    def close(self):
        for fd in (self._r, self._w):
            if fd is not None:
                os.close(fd)
        self._r = self._w = None

    def fileno(self):
        return self._r


class FakeBuffer:
    """MemoryMap-like source: raw_read() returns a real linuxpy Frame."""

    def __init__(self, cap):
        self.cap = cap
        self.k = 0

    def raw_read(self):
        from linuxpy.video import raw
        from linuxpy.video.device import Frame

        cap = self.cap
        fmt = cap.get_format()
        w, h = fmt.width, fmt.height
        luma = pattern_frame(h, w, self.k)
        packed = np.full((h, fmt.bytes_per_line), 128, np.uint8)
        packed[:, 0 : 2 * w : 2] = luma
        buf = raw.v4l2_buffer()
        buf.sequence = self.k
        buf.flags = 0x2000 | 0x0  # TIMESTAMP_MONOTONIC, stamp at end of frame
        stamp = cap.t0_mono_s + self.k / float(cap.fps)
        buf.timestamp.secs = int(stamp)
        buf.timestamp.usecs = int(round((stamp - int(stamp)) * 1e6))
        buf.bytesused = packed.size
        self.k += 1
        return Frame(packed.tobytes(), buf, fmt)


class FakeVideoCapture:
    def __init__(self, device, size=2, buffer_type=None):
        self.device = device
        self.fmt = None
        self.fps = fractions.Fraction(30)
        self.buffer = None
        self.t0_mono_s = time.monotonic() - 0.5

    def set_format(self, width, height, pixel_format="MJPG"):
        from linuxpy.video import raw

        assert pixel_format == "YUYV"
        self.fmt = (width, height, raw.PixelFormat.YUYV)

    def get_format(self):
        from linuxpy.video.device import Format

        w, h, pf = self.fmt
        bpl = 2 * w + 64  # padded rows, as some drivers give
        return Format(width=w, height=h, pixel_format=pf, size=bpl * h, bytes_per_line=bpl)

    def set_fps(self, fps):
        self.fps = fractions.Fraction(fps).limit_denominator(1000)

    def get_fps(self):
        return self.fps

    def open(self):
        self.buffer = FakeBuffer(self)

    def close(self):
        self.buffer = None


@pytest.fixture
def fake_linuxpy(monkeypatch):
    import linuxpy.video.device as dev

    monkeypatch.setattr(dev, "Device", FakeV4L2Device)
    monkeypatch.setattr(dev, "VideoCapture", FakeVideoCapture)
    return dev
