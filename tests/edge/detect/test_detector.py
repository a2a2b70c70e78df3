"""The detector on small synthetic frames made with numpy: moving spots against their known
positions, static sources, slow movers, masks, background changes, bad input, fixed memory,
and the event aggregates against a numpy reference."""

import numpy as np
import pytest

from edge.detect.detector import Detector, DetectorConfig, Event

H, W = 96, 128
YY, XX = np.mgrid[0:H, 0:W].astype(np.float64)


def spot(x: float, y: float, amp: float, sigma: float = 1.2) -> np.ndarray:
    return amp * np.exp(-((XX - x) ** 2 + (YY - y) ** 2) / (2 * sigma**2))


def to_u8(f: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(f), 0, 255).astype(np.uint8)


def run(frames, det: Detector | None = None, indices=None, t0: float = 1.7e9) -> list[Event]:
    det = det or Detector(W, H)
    events = []
    for k, f in enumerate(frames):
        i = k if indices is None else indices[k]
        events += det.process(f, t0 + i / 30.0, i)
    return events + det.flush()


def noise_frames(n: int, seed: int, level: float = 20.0, sigma: float = 2.0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield level + rng.normal(0, sigma, (H, W))


def meteor_frames(n=60, start=20, length=15, x0=10.3, y0=20.1, vx=5.0, vy=2.5, amp=120.0, seed=1):
    truth = {}
    frames = []
    for i, f in enumerate(noise_frames(n, seed)):
        if start <= i < start + length:
            x, y = x0 + vx * (i - start), y0 + vy * (i - start)
            truth[i] = (x, y)
            f = f + spot(x, y, amp)
        frames.append(to_u8(f))
    return frames, truth


def test_moving_spot_is_one_event_with_accurate_centroids():
    frames, truth = meteor_frames()
    events = run(frames)
    assert len(events) == 1
    ev = events[0]
    assert ev.kind == "fast"
    assert list(ev.frame_index) == sorted(truth)
    tx = np.array([truth[i][0] for i in ev.frame_index])
    ty = np.array([truth[i][1] for i in ev.frame_index])
    assert np.max(np.hypot(ev.x_px - tx, ev.y_px - ty)) < 0.3
    assert ev.speed_px_per_frame == pytest.approx(np.hypot(5.0, 2.5), rel=0.02)
    np.testing.assert_allclose(ev.t_unix, 1.7e9 + ev.frame_index / 30.0)
    # clip: margins of 5 frames, crop holds the whole track
    assert list(ev.clip_frame_index) == list(range(15, 40))
    assert ev.clip.shape[0] == 25 and ev.clip.dtype == np.uint8
    x0, y0 = ev.clip_origin
    assert x0 <= ev.bbox[:, 0].min() and x0 + ev.clip.shape[2] > ev.bbox[:, 2].max()
    assert y0 <= ev.bbox[:, 1].min() and y0 + ev.clip.shape[1] > ev.bbox[:, 3].max()
    np.testing.assert_array_equal(
        ev.clip[7], frames[22][y0 : y0 + ev.clip.shape[1], x0 : x0 + ev.clip.shape[2]]
    )
    assert np.all(ev.flux_adu > 0.5 * 120 * 2 * np.pi * 1.2**2)


def test_dropped_frame_keeps_one_event():
    frames, truth = meteor_frames()
    keep = [i for i in range(len(frames)) if i != 27]
    events = run([frames[i] for i in keep], indices=keep)
    assert len(events) == 1
    assert 27 not in events[0].frame_index
    assert events[0].frame_index[0] == 20 and events[0].frame_index[-1] == 34


def test_stars_twinkle_and_hot_pixels_give_no_event():
    rng = np.random.default_rng(5)
    sx, sy = rng.uniform(5, W - 5, 30), rng.uniform(5, H - 5, 30)
    stars = sum(spot(x, y, a) for x, y, a in zip(sx, sy, rng.uniform(20, 200, 30), strict=True))
    hot = rng.integers(0, H * W, 20)
    frames = []
    for f in noise_frames(300, 6):
        twinkle = stars * rng.lognormal(0, 0.3, 30).mean()  # whole-field scintillation
        f = f + twinkle * rng.uniform(0.6, 1.4)
        flicker = f.reshape(-1)
        flicker[hot] += 150 * (rng.uniform(size=20) < 0.3)  # flickering hot pixels
        frames.append(to_u8(f))
    assert run(frames) == []


def test_slow_mover_is_reported_slow_with_its_speed():
    frames = []
    for i, f in enumerate(noise_frames(200, 7)):
        if i >= 10:
            f = f + spot(20 + 0.5 * (i - 10), 30 + 0.2 * (i - 10), 60)
        frames.append(to_u8(f))
    events = run(frames)
    assert len(events) == 1
    assert events[0].kind == "slow"
    assert events[0].speed_px_per_frame == pytest.approx(np.hypot(0.5, 0.2), rel=0.05)


def test_sky_mask_hides_a_region():
    frames, _ = meteor_frames()
    mask = np.ones((H, W), bool)
    mask[:, :70] = False  # the track runs from x=10 to x=80
    events = run(frames, Detector(W, H, sky_mask=mask))
    assert len(events) <= 1
    if events:
        assert events[0].x_px.min() > 68
    mask[:] = False
    assert run(frames, Detector(W, H, sky_mask=mask)) == []


def test_slow_background_changes_give_no_event():
    rng = np.random.default_rng(8)
    frames = []
    for i in range(1000):  # twilight-like ramp: 20 -> 80 ADU over 1000 frames
        frames.append(to_u8(20 + 60 * i / 1000 + rng.normal(0, 2, (H, W))))
    assert run(frames) == []
    frames = []
    for i in range(400):  # a bright cloud edge drifting across at 0.3 px/frame
        edge_x = -40 + 0.3 * i
        cloud = 25 / (1 + np.exp(-(XX - edge_x) / 8.0))
        frames.append(to_u8(20 + cloud + rng.normal(0, 2, (H, W))))
    assert run(frames) == []


def test_bad_input_raises_and_the_detector_keeps_working():
    frames, truth = meteor_frames()
    det = Detector(W, H)
    events = []
    for i, f in enumerate(frames):
        events += det.process(f, 1.7e9 + i / 30.0, i)
        if i == 22:
            t = 1.7e9 + i / 30.0
            with pytest.raises(ValueError, match="shape"):
                det.process(np.zeros((H + 1, W), np.uint8), t + 0.01, i + 100)
            with pytest.raises(ValueError, match="dtype"):
                det.process(f.astype(np.uint16), t + 0.01, i + 100)
            with pytest.raises(ValueError, match="contiguous"):
                det.process(np.asfortranarray(f), t + 0.01, i + 100)
            with pytest.raises(ValueError, match="contiguous"):
                det.process(np.zeros((H, 2 * W), np.uint8)[:, ::2], t + 0.01, i + 100)
            with pytest.raises(ValueError, match="time"):
                det.process(f, t - 1.0, i + 1)
            with pytest.raises(ValueError, match="time"):
                det.process(f, float("nan"), i + 1)
            with pytest.raises(ValueError, match="index"):
                det.process(f, t + 0.01, i)
            with pytest.raises(ValueError, match="shape"):
                det.process(np.zeros((H, W, 3), np.uint8), t + 0.01, i + 1)
    events += det.flush()
    assert len(events) == 1 and len(events[0].frame_index) == len(truth)


def test_bad_construction_is_rejected():
    with pytest.raises(ValueError, match="out of range"):
        Detector(0, 10)
    with pytest.raises(ValueError, match="k_sigma"):
        Detector(10, 10, DetectorConfig(k_sigma=float("nan")))
    with pytest.raises(ValueError, match="sky_mask"):
        Detector(10, 10, sky_mask=np.ones((5, 5), bool))


def test_memory_is_fixed_over_a_long_run():
    det = Detector(W, H, DetectorConfig(max_event_frames=50))
    before = det.memory_bytes
    rng = np.random.default_rng(9)
    n_events = 0
    for i in range(1500):
        f = 20 + rng.normal(0, 2, (H, W))
        if i % 100 >= 20 and i % 100 < 90:  # a long mover every 100 frames, cut at 50 frames
            f = f + spot(5 + 1.5 * (i % 100 - 20), 40, 80)
        n_events += len(det.process(to_u8(f), 1.0 + i, i))
    assert det.memory_bytes == before
    assert n_events >= 15


def test_aggregates_equal_numpy_with_the_event_pixels_left_out():
    rng = np.random.default_rng(10)
    frames, truth_px = [], {}
    for i in range(50):
        f = rng.integers(18, 23, (H, W)).astype(np.float64)  # flat noise that never passes a threshold
        if 20 <= i < 30:
            x, y = 10 + 6 * (i - 20), 30 + 3 * (i - 20)
            f[y : y + 2, x : x + 3] = 200  # a 3x2 block: exactly these pixels belong to the event
            truth_px[i] = (slice(y, y + 2), slice(x, x + 3))
        frames.append(to_u8(f))
    (ev,) = run(frames)
    clip = np.stack([frames[i] for i in ev.clip_frame_index]).astype(np.float64)
    excluded = np.zeros(clip.shape, bool)
    for j, i in enumerate(ev.clip_frame_index):
        if i in truth_px:
            excluded[(j, *truth_px[i])] = True
    np.testing.assert_array_equal(ev.mask, excluded.any(axis=0))
    np.testing.assert_array_equal(ev.max_pixel, clip.max(axis=0))
    np.testing.assert_array_equal(ev.max_frame, clip.argmax(axis=0))
    kept = np.ma.masked_array(clip, excluded)
    np.testing.assert_allclose(ev.mean, kept.mean(axis=0).filled(np.nan), rtol=1e-5)
    np.testing.assert_allclose(ev.std, kept.std(axis=0).filled(np.nan), rtol=1e-4, atol=1e-4)
    assert ev.mean[truth_px[25]].max() < 23  # the meteor does not bias its own background
