"""Every camera backend honours the same interface: frames with increasing UTC and index, the
size in `info`, a time-quality record, settings that change `info` or say they cannot.

sim, replay and genicam (harvesters with the simulated GenTL producer viky.cti) run for real;
v4l2 and picamera2 run through fakes of linuxpy's and picamera2's own API (conftest.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge.camera.backend import CameraError, CameraUnsupported
from edge.camera.factory import open_camera
from edge.camera.recording import Recording, write_recording
from edge.protocol import TimeQuality, TimeSource

SIM_NIGHT = {
    "seed": 4,
    "binning": 8,
    "duration_s": 2.0,
    "moon": False,
    "meteor_rate_per_hour": 0.0,
    "satellites_per_hour": 0.0,
    "aircraft_per_hour": 0.0,
}


@pytest.fixture(scope="module")
def recording_path(tmp_path_factory):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 60, size=(12, 48, 64), dtype=np.uint8)
    times = 1.768e9 + np.arange(12) / 25.0
    meta = {
        "station_id": "st1",
        "camera_id": "cam1",
        "exposure_s": 0.04,
        "fps": 25.0,
        "time_quality": {"source": "gps-pps", "estimated_error_s": 2e-6, "pps_locked": True},
    }
    return write_recording(tmp_path_factory.mktemp("rec") / "cam1.npz", Recording(frames, times, meta))


def _config(kind: str, recording_path) -> dict:
    if kind == "sim":
        return {"kind": "sim", "night": SIM_NIGHT}
    if kind == "replay":
        return {"kind": "replay", "path": str(recording_path)}
    if kind == "genicam":
        from edge.camera.genicam import simulated_producer_path

        return {"kind": "genicam", "cti": str(simulated_producer_path()), "width_px": 320, "fps": 50.0}
    if kind == "v4l2":
        return {"kind": "v4l2", "device": "/dev/video0", "width_px": 160, "height_px": 120}
    if kind == "picamera2":
        return {"kind": "picamera2", "width_px": 160, "height_px": 96, "fps": 30.0}
    raise AssertionError(kind)


# which settings each backend offers (the others must raise CameraUnsupported)
SUPPORTS = {
    "sim": {"exposure", "gain"},
    "replay": set(),
    "genicam": set(),  # viky.cti has no ExposureTime or Gain feature
    "v4l2": {"exposure", "gain"},
    "picamera2": {"exposure", "gain"},
}
KINDS = list(SUPPORTS)


@pytest.fixture(params=KINDS)
def camera(request, recording_path, fake_linuxpy, fake_picamera2):
    cam = open_camera(_config(request.param, recording_path))
    yield request.param, cam
    cam.close()


def test_frames_have_increasing_utc_and_index(camera):
    kind, cam = camera
    with cam:
        info = cam.info
        frames = list(cam.frames(max_frames=6, timeout_s=10.0))
    assert len(frames) == 6
    assert info.width_px > 0 and info.height_px > 0 and info.fps > 0 and info.model
    for f in frames:
        assert f.image.dtype == np.uint8 and f.image.shape == (info.height_px, info.width_px)
        assert isinstance(f.time_quality, TimeQuality)
        assert math.isfinite(f.utc_unix_s)
    assert np.all(np.diff([f.utc_unix_s for f in frames]) > 0)
    assert np.all(np.diff([f.frame_index for f in frames]) >= 1)
    assert not all(np.array_equal(frames[0].image, f.image) for f in frames[1:]), "frames never change"
    assert not cam.is_open
    with pytest.raises(CameraError, match="closed"):
        cam.read()


def test_settings_change_or_say_they_cannot(camera):
    kind, cam = camera
    with cam:
        fps0 = cam.info.fps
        cam.set_fps(fps0 / 2)
        assert cam.info.fps == pytest.approx(fps0 / 2)
        frames = list(cam.frames(max_frames=3, timeout_s=10.0))
        assert np.all(np.diff([f.utc_unix_s for f in frames]) > 0)
        if kind in ("sim", "replay", "v4l2", "picamera2"):  # stamps from the source's clock
            assert np.diff([f.utc_unix_s for f in frames]) == pytest.approx(2.0 / fps0, rel=1e-3)
        for name, value, setter in (
            ("exposure", 0.02, cam.set_exposure_s),
            ("gain", 2.0, cam.set_gain),
        ):
            if name in SUPPORTS[kind]:
                setter(value)
                got = cam.info.exposure_s if name == "exposure" else cam.info.gain
                assert got == pytest.approx(value, rel=0.02)
            else:
                with pytest.raises(CameraUnsupported):
                    setter(value)
        assert cam.read(timeout_s=10.0).image.shape == (cam.info.height_px, cam.info.width_px)


def test_bad_settings_are_refused(camera):
    kind, cam = camera
    with cam:
        for bad in (0, -1, math.nan, "fast"):
            with pytest.raises(CameraError, match="fps"):
                cam.set_fps(bad)
        with pytest.raises(CameraError, match="gain"):
            cam.set_gain(-2.0)
        with pytest.raises(CameraError, match="exposure_s"):
            cam.set_exposure_s(10.0 / cam.info.fps)  # longer than a frame
        cam.read(timeout_s=10.0)  # still usable


def test_sim_and_replay_time_quality_come_from_the_source(recording_path):
    with open_camera(_config("sim", recording_path)) as cam:
        assert cam.read().time_quality.source == TimeSource.SIMULATED
    with open_camera(_config("replay", recording_path)) as cam:
        tq = cam.read().time_quality
        assert tq.source == TimeSource.GPS_PPS and tq.estimated_error_s == 2e-6
