"""Backend details: V4L2 frame conversion and timestamp mapping, picamera2's SensorTimestamp
mapping and dropped frames, replay's end and loop, genicam's errors, the factory's messages,
and a simulated meteor that the C detector finds in the sim camera's frames."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image

from edge.camera.backend import CameraError, CameraTimeError, EndOfStream, Frame, simulated_time_quality
from edge.camera.factory import open_camera
from edge.camera.picamera2 import Picamera2Camera
from edge.camera.recording import Recording, write_recording
from edge.camera.replay import ReplayCamera
from edge.camera.sim import SimulatedCamera
from edge.camera.v4l2 import V4L2Camera, frame_to_gray, v4l2_time_to_utc
from edge.protocol import TimeQuality, TimeSource

PPS_CLOCK = TimeQuality(source=TimeSource.GPS_PPS, estimated_error_s=1e-6, pps_locked=True)


def pattern(h, w, k):
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx + 2 * yy + 3 * k) % 251).astype(np.uint8)


# --------------------------------------------------------------------------- V4L2
def test_v4l2_conversions_grey_yuyv_with_padding_and_mjpeg():
    img = pattern(30, 40, 1)
    grey = np.zeros((30, 48), np.uint8)
    grey[:, :40] = img
    assert np.array_equal(frame_to_gray(grey.tobytes(), 40, 30, "GREY", 48), img)
    yuyv = np.full((30, 96), 77, np.uint8)
    yuyv[:, 0:80:2] = img
    assert np.array_equal(frame_to_gray(memoryview(yuyv.tobytes()), 40, 30, "YUYV", 96), img)
    jpeg = io.BytesIO()
    Image.fromarray(img).save(jpeg, "JPEG", quality=95)
    decoded = frame_to_gray(jpeg.getvalue(), 40, 30, "MJPG")
    assert decoded.shape == (30, 40) and np.abs(decoded.astype(int) - img).mean() < 3
    with pytest.raises(CameraError, match="too short"):
        frame_to_gray(b"\0" * 100, 40, 30, "GREY")
    with pytest.raises(CameraError, match="NV12"):
        frame_to_gray(b"\0" * 2000, 40, 30, "NV12")
    with pytest.raises(CameraError, match="undecodable"):
        frame_to_gray(b"not a jpeg", 40, 30, "MJPG")


def test_v4l2_time_mapping():
    # a monotonic stamp 0.25 s ago, 0.03 s latency: UTC = now - 0.25 - 0.03
    assert v4l2_time_to_utc(100.0, 0x2000, 100.25, 1.7e9, 0.03) == pytest.approx(1.7e9 - 0.28, abs=1e-9)
    # no monotonic flag: arrival time less latency
    assert v4l2_time_to_utc(100.0, 0x0, 100.25, 1.7e9, 0.03) == pytest.approx(1.7e9 - 0.03, abs=1e-9)


def test_v4l2_backend_maps_driver_stamps_and_converts_frames(fake_linuxpy):
    utc0, mono0 = 1.768e9, 5000.0
    cam = V4L2Camera(
        "/dev/video3",
        width_px=64,
        height_px=48,
        fps=25.0,
        time_quality=lambda: PPS_CLOCK,
        clocks=(lambda: utc0, lambda: mono0),
    )
    with cam:
        cap = cam._cap
        cap.t0_mono_s = mono0 - 1.0  # the fake driver's stamps: mono0 - 1 + k / 25
        frames = [cam.read() for _ in range(3)]
        cam.set_exposure_s(0.02)
        assert cam._dev.controls["auto_exposure"].value == 1
        assert cam._dev.controls["exposure_time_absolute"].value == 200
        with pytest.raises(CameraError, match="outside"):
            cam.set_gain(100.0)  # 16 * 100 > 255
    exposure = 0.0156  # the fake's exposure_time_absolute (156 x 100 us) when read
    for k, f in enumerate(frames):
        assert np.array_equal(f.image, pattern(48, 64, k))
        assert f.frame_index == k
        expected = utc0 - 1.0 + k / 25.0 - (0.5 * exposure + 1 / 25.0)  # EOF stamp less default latency
        assert f.utc_unix_s == pytest.approx(expected, abs=2e-6)
        assert f.time_quality.source == TimeSource.GPS_PPS
        assert f.time_quality.estimated_error_s == pytest.approx(np.hypot(1e-6, 0.01))
    assert cam.info.model == "Fake UVC Camera"


def test_v4l2_missing_device_is_a_clear_error(fake_linuxpy):
    with pytest.raises(CameraError, match="cannot open /dev/nothing"):
        V4L2Camera("/dev/nothing").open()


# --------------------------------------------------------------------------- picamera2
def test_picamera2_maps_sensor_timestamps_through_boottime(fake_picamera2):
    boot_now_s, utc_now = 7200.0, 1.768e9
    fake_picamera2.boottime_ns = staticmethod(lambda: int(7199.0 * 1e9))  # sensor started 1 s ago
    fake_picamera2.drop = {2, 3}  # frames the fake sensor drops
    cam = Picamera2Camera(
        width_px=64,
        height_px=40,
        fps=20.0,
        exposure_s=0.01,
        time_quality=lambda: PPS_CLOCK,
        clocks=(lambda: utc_now, lambda: boot_now_s),
    )
    with cam:
        frames = [cam.read() for _ in range(4)]
        cam.set_gain(4.0)
        assert fake_picamera2.instances[-1].controls["AnalogueGain"] == 4.0
        cam.set_fps(10.0)
        assert fake_picamera2.instances[-1].controls["FrameDurationLimits"] == (100000, 100000)
    assert fake_picamera2.instances[-1].closed
    # sensor frame k: ts = 7199 s - 0.05 s + k / 20 s; UTC = utc_now - (boot_now - ts) + exposure / 2
    for f, k in zip(frames, [0, 1, 4, 5], strict=True):
        ts = 7199.0 - 0.05 + k / 20.0
        assert f.sensor_timestamp_ns == round(ts * 1e9)
        assert f.utc_unix_s == pytest.approx(utc_now - (boot_now_s - ts) + 0.005, abs=1e-6)
        assert np.array_equal(f.image, pattern(40, 64, k))
    assert [f.frame_index for f in frames] == [0, 1, 4, 5]  # the dropped frames show as a gap


def test_picamera2_missing_module_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)
    with pytest.raises(CameraError, match="python3-picamera2"):
        Picamera2Camera().open()
    with pytest.raises(CameraError, match="python3-picamera2"):
        open_camera({"kind": "picamera2"})


def test_picamera2_bad_camera_number(fake_picamera2):
    with pytest.raises(CameraError, match="cannot open camera 3"):
        Picamera2Camera(camera_num=3).open()


# --------------------------------------------------------------------------- replay
@pytest.fixture
def short_recording(tmp_path):
    frames = np.stack([pattern(20, 30, k) for k in range(5)])
    meta = {"station_id": "st1", "camera_id": "cam2", "exposure_s": 0.04, "fps": 25.0}
    return write_recording(tmp_path / "cam2.npz", Recording(frames, 1.7e9 + np.arange(5) / 25.0, meta))


def test_replay_ends_loops_and_notes_missing_time_quality(short_recording):
    with ReplayCamera(short_recording) as cam:
        frames = list(cam.frames())
        with pytest.raises(EndOfStream):
            cam.read()
    assert [f.frame_index for f in frames] == [0, 1, 2, 3, 4]
    assert frames[0].time_quality.source == TimeSource.FREE_RUNNING
    assert "no time quality" in frames[0].time_quality.note
    with ReplayCamera(short_recording, loop=True) as cam:
        looped = list(cam.frames(max_frames=12))
    t = np.array([f.utc_unix_s for f in looped])
    assert np.allclose(np.diff(t), 1 / 25.0)  # the second lap continues one frame after the first
    assert np.array_equal(looped[7].image, frames[2].image) and looped[7].frame_index == 7


def test_replay_bad_files(tmp_path):
    with pytest.raises(CameraError, match="no recording"):
        ReplayCamera(tmp_path / "missing.npz").open()
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CameraError, match="junk.npz"):
        ReplayCamera(tmp_path / "junk.npz").open()


def test_replay_fps_must_divide_the_recorded_rate(short_recording):
    with ReplayCamera(short_recording) as cam:
        with pytest.raises(CameraError, match="drop frames evenly"):
            cam.set_fps(10.0)


# --------------------------------------------------------------------------- base class rules
def test_time_going_backwards_is_reported_and_the_camera_stays_usable(short_recording):
    class SteppingReplay(ReplayCamera):
        def _read(self, timeout_s):
            f = super()._read(timeout_s)
            step = -1.0 if f.frame_index == 2 else 0.0  # the system clock stepped back at frame 2
            return Frame(f.image, f.utc_unix_s + step, f.frame_index, f.time_quality)

    with SteppingReplay(short_recording) as cam:
        cam.read(), cam.read()
        with pytest.raises(CameraTimeError, match="before the previous frame"):
            cam.read()
        assert cam.read().frame_index == 3


def test_frame_rejects_bad_images():
    with pytest.raises(CameraError, match="uint8"):
        Frame(np.zeros((4, 4), np.uint16), 1.0, 0, simulated_time_quality())
    with pytest.raises(CameraError, match="uint8"):
        Frame(np.zeros((4, 4, 3), np.uint8), 1.0, 0, simulated_time_quality())


# --------------------------------------------------------------------------- genicam
def test_genicam_errors():
    from edge.camera.genicam import GenICamCamera, simulated_producer_path

    with pytest.raises(CameraError, match="does not exist"):
        GenICamCamera(cti="/nonexistent/producer.cti").open()
    with pytest.raises(CameraError, match="device 7 asked for, 3 found"):
        GenICamCamera(cti=simulated_producer_path(), device=7).open()
    with pytest.raises(CameraError, match="no device 'nope'"):
        GenICamCamera(cti=simulated_producer_path(), device="nope").open()


def test_genicam_picks_a_device_by_id_and_stamps_arrival_time():
    from edge.camera.genicam import GenICamCamera, simulated_producer_path

    cam = GenICamCamera(
        cti=simulated_producer_path(),
        device="VikyTL_DEV_blue",
        height_px=200,
        fps=40.0,
        latency_s=0.02,
        time_quality=lambda: PPS_CLOCK,
    )
    import time

    with cam:
        before = time.time()
        f = cam.read(timeout_s=10.0)
        after = time.time()
    assert f.image.shape == (200, 400)
    assert before - 0.02 <= f.utc_unix_s <= after - 0.02  # arrival time less the latency
    assert f.sensor_timestamp_ns is None  # viky.cti gives no timestamps
    assert f.time_quality.estimated_error_s == pytest.approx(np.hypot(1e-6, 0.005))


# --------------------------------------------------------------------------- factory
def test_factory_errors(monkeypatch):
    with pytest.raises(CameraError, match="unknown kind 'usb'.*sim, replay, v4l2, genicam, picamera2"):
        open_camera({"kind": "usb"})
    with pytest.raises(CameraError, match="unknown kind None"):
        open_camera({})
    with pytest.raises(CameraError, match="unknown key.*fps_hz"):
        open_camera({"kind": "sim", "fps_hz": 30})
    with pytest.raises(CameraError, match="bad night config"):
        open_camera({"kind": "sim", "night": {"binning": 0}})
    monkeypatch.setitem(sys.modules, "harvesters", None)
    with pytest.raises(CameraError, match=r"needs 'harvesters'.*skytrail\[hardware\]"):
        open_camera({"kind": "genicam"})
    monkeypatch.setitem(sys.modules, "linuxpy", None)
    with pytest.raises(CameraError, match=r"needs 'linuxpy'.*skytrail\[hardware\]"):
        open_camera({"kind": "v4l2"})


# --------------------------------------------------------------------------- sim + detector
def test_sim_camera_frames_carry_a_meteor_the_detector_finds():
    from edge.detect.detector import Detector

    night = {
        "seed": 2,
        "binning": 4,
        "duration_s": 4.0,
        "moon": False,
        "satellites_per_hour": 0.0,
        "aircraft_per_hour": 0.0,
        "hot_pixels": 5,
        "meteors": [{"peak_mag": -1.0, "frames": 20, "t_offset_s": 1.5}],
    }
    cam = open_camera({"kind": "sim", "night": night, "shift_to_now": True})
    assert isinstance(cam, SimulatedCamera)
    events, times = [], []
    with cam:
        truth = [o.truth for o in cam.plan.objects if o.truth.kind == "meteor"]
        info = cam.info
        det = Detector(info.width_px, info.height_px)
        for f in cam.frames():
            times.append(f.utc_unix_s)
            events += det.process(f.image, f.utc_unix_s, f.frame_index)
    events += det.flush()
    assert len(truth) == 1 and len(events) == 1
    ev, m = events[0], truth[0]
    assert ev.kind == "fast"
    overlap = set(ev.frame_index.tolist()) & set(m.frame_index[m.in_field].tolist())
    assert len(overlap) >= 0.7 * m.n_frames_in_field
    i = m.at(int(ev.frame_index[len(ev.frame_index) // 2]))
    j = len(ev.frame_index) // 2
    assert np.hypot(ev.x_px[j] - m.x_px[i], ev.y_px[j] - m.y_px[i]) < 2.0
    assert len(times) == 120 and np.allclose(np.diff(times), 1 / 30.0)
    import time

    assert abs(times[0] - time.time()) < 3600  # shifted to now, not the configured night


def test_replay_plays_a_directory_as_one_stream_and_loops_it(tmp_path):
    meta = {"station_id": "st1", "camera_id": "cam2", "exposure_s": 0.04, "fps": 25.0}
    first = np.stack([pattern(20, 30, k) for k in range(3)])
    second = np.stack([pattern(20, 30, k + 10) for k in range(2)])
    write_recording(tmp_path / "a.npz", Recording(first, 1.7e9 + np.arange(3) / 25.0, meta))
    write_recording(tmp_path / "b.npz", Recording(second, 1.7e9 + 60 + np.arange(2) / 25.0, meta))
    with ReplayCamera(tmp_path) as cam:
        frames = list(cam.frames())
    assert [f.frame_index for f in frames] == [0, 1, 2, 3, 4]
    assert frames[3].utc_unix_s - frames[2].utc_unix_s == pytest.approx(60 - 2 / 25.0)  # the pause is kept
    assert np.array_equal(frames[3].image, second[0])
    with ReplayCamera(tmp_path, loop=True) as cam:
        looped = list(cam.frames(max_frames=7))
    assert [f.frame_index for f in looped] == [0, 1, 2, 3, 4, 5, 6]
    assert looped[5].utc_unix_s == pytest.approx(frames[4].utc_unix_s + 1 / 25.0)
    assert np.array_equal(looped[6].image, first[1])


def test_replay_playlist_must_keep_time_order_and_frame_size(tmp_path):
    meta = {"station_id": "st1", "camera_id": "cam2", "exposure_s": 0.04, "fps": 25.0}
    frames = np.stack([pattern(20, 30, k) for k in range(3)])
    a = write_recording(tmp_path / "a.npz", Recording(frames, 1.7e9 + np.arange(3) / 25.0, meta))
    b = write_recording(tmp_path / "b.npz", Recording(frames, 1.7e9 + np.arange(3) / 25.0, meta))
    with ReplayCamera([a, b]) as cam, pytest.raises(CameraError, match="must follow each other in time"):
        list(cam.frames())
    small = np.stack([pattern(10, 30, k) for k in range(3)])
    c = write_recording(tmp_path / "c.npz", Recording(small, 1.7e9 + 9 + np.arange(3) / 25.0, meta))
    with ReplayCamera([a, c]) as cam, pytest.raises(CameraError, match="one frame size and rate"):
        list(cam.frames())
    (tmp_path / "empty").mkdir()
    with pytest.raises(CameraError, match="no recordings"):
        ReplayCamera(tmp_path / "empty")
