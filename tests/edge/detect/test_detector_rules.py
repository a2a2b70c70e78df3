"""The detector's rules against false events and for slow movers, on synthetic numpy frames:
noise alone gives nothing, weak noise peaks lined up across frames are not enough evidence,
one flash linked with noise is not enough, a wide blob (an insect near the lens) is not tracked,
a faint satellite-like mover at 0.1 px/frame is reported as "slow" with its speed, and a bright
meteor that travels only 3 px is still reported."""

import numpy as np
import pytest

from edge.detect.detector import Detector, DetectorConfig, Event

H, W = 96, 128
YY, XX = np.mgrid[0:H, 0:W].astype(np.float64)
LEVEL, SIGMA = 20.0, 2.0


def spot(x: float, y: float, amp: float, sigma: float = 1.0) -> np.ndarray:
    return amp * np.exp(-((XX - x) ** 2 + (YY - y) ** 2) / (2 * sigma**2))


def to_u8(f: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(f), 0, 255).astype(np.uint8)


def run(frames, det: Detector | None = None) -> list[Event]:
    det = det or Detector(W, H)
    events = []
    for i, f in enumerate(frames):
        events += det.process(f, 1.7e9 + i / 30.0, i)
    return events + det.flush()


def noise(rng: np.random.Generator) -> np.ndarray:
    return LEVEL + rng.normal(0, SIGMA, (H, W))


def test_noise_only_stream_gives_no_event():
    rng = np.random.default_rng(21)
    det = Detector(W, H)
    events = run((to_u8(noise(rng)) for _ in range(3000)), det)
    assert events == []
    assert det.stats()["frames"] == 3000


def test_weak_peaks_lined_up_over_three_frames_are_not_an_event():
    """Single pixels at ~7 sigma on a straight line at 6 px/frame: what chance alignments of
    noise look like. A bright spot on the same path is an event."""
    rng = np.random.default_rng(22)
    frames_weak, frames_bright = [], []
    for i in range(60):
        f = noise(rng)
        weak, bright = f.copy(), f.copy()
        if 30 <= i < 33:
            x, y = 20 + 6 * (i - 30), 40
            weak[y, x] += 7 * SIGMA
            bright += spot(x, y, 80)
        frames_weak.append(to_u8(weak))
        frames_bright.append(to_u8(bright))
    assert run(frames_weak) == []
    (ev,) = run(frames_bright)
    assert list(ev.frame_index) == [30, 31, 32]
    assert ev.snr > 12


def test_one_flash_linked_with_noise_peaks_is_not_an_event():
    rng = np.random.default_rng(23)
    frames = []
    for i in range(60):
        f = noise(rng)
        if i in (30, 31):
            f[50, 30 + 4 * (i - 30)] += 7 * SIGMA
        if i == 32:
            f += spot(38, 50, 200)  # a strobe where the line of weak peaks leads
        frames.append(to_u8(f))
    assert run(frames) == []


def test_wide_fast_blob_is_not_tracked():
    """A lit insect near the lens: a blob of sigma 6 px darting at 8 px/frame on a curve."""
    rng = np.random.default_rng(24)
    frames = []
    for i in range(60):
        f = noise(rng)
        if 30 <= i < 40:
            a = 0.3 * (i - 30)
            f += spot(30 + 40 * np.sin(a), 30 + 25 * (1 - np.cos(a)), 60, sigma=6.0)
        frames.append(to_u8(f))
    assert run(frames) == []


def test_satellite_at_a_tenth_of_a_pixel_per_frame_is_reported_slow():
    """0.1 px/frame for 400 frames, peak 12 sigma: pixels lit for tens of frames in a row,
    which the static-pixel rule must not swallow. Hot pixels beside it stay silent."""
    rng = np.random.default_rng(25)
    hot = rng.integers(0, H * W, 10)
    frames = []
    vx, vy = 0.09, 0.04
    for i in range(450):
        f = noise(rng)
        if i >= 30:
            f += spot(30 + vx * (i - 30), 40 + vy * (i - 30), 12 * SIGMA, sigma=1.2)
        f.reshape(-1)[hot] += 120
        frames.append(to_u8(f))
    events = run(frames, Detector(W, H, DetectorConfig(max_event_frames=600)))
    assert events, "the slow mover was not reported"
    assert all(e.kind == "slow" for e in events)
    assert all(
        np.hypot(e.x_px - 30 - vx * (e.frame_index - 30), e.y_px - 40 - vy * (e.frame_index - 30)).max() < 2
        for e in events
    )
    # it may come in pieces (a gap of more than max_gap_frames ends a track) but covers most frames
    covered = np.unique(np.concatenate([e.frame_index for e in events]))
    assert covered.size > 200
    longest = max(events, key=lambda e: len(e.frame_index))
    assert longest.speed_px_per_frame == pytest.approx(np.hypot(vx, vy), rel=0.3)


def test_bright_meteor_travelling_three_pixels_is_reported():
    """A bright meteor near its radiant: 6 frames at 0.6 px/frame (3 px in all)."""
    rng = np.random.default_rng(26)
    frames = []
    for i in range(60):
        f = noise(rng)
        if 30 <= i < 36:
            f += spot(60 + 0.6 * (i - 30), 50 - 0.2 * (i - 30), 150)
        frames.append(to_u8(f))
    (ev,) = run(frames)
    assert list(ev.frame_index) == list(range(30, 36))
    assert ev.speed_px_per_frame == pytest.approx(np.hypot(0.6, 0.2), rel=0.15)


def test_auto_settings_follow_the_frame_size():
    """max_speed, slow_speed and max_width of 0 mean "from the frame diagonal": a 60 px/frame jump
    is out of reach at 128x96 (gate 8 px) but not at 1920x1080 (gate 66 px); checked at 128x96."""
    rng = np.random.default_rng(27)
    frames = []
    for i in range(60):
        f = noise(rng)
        if 30 <= i < 34:
            f += spot(5 + 30 * (i - 30), 50, 150)  # 30 px/frame: faster than the 8 px gate
        frames.append(to_u8(f))
    assert run(frames) == []
    (ev,) = run(frames, Detector(W, H, DetectorConfig(max_speed_px_per_frame=40.0)))
    assert ev.kind == "fast" and ev.speed_px_per_frame == pytest.approx(30.0, rel=0.05)


def test_a_short_track_that_never_leaves_the_border_is_not_an_event():
    """A source cut by the frame's edge moves its centroid as it twinkles; three detections along
    the border are not enough, five are, and three inside the frame are."""

    def stream(path):
        rng = np.random.default_rng(24)
        frames = []
        for i in range(70):
            f = noise(rng)
            if 30 <= i < 30 + len(path):
                f += spot(*path[i - 30], 80)
            frames.append(to_u8(f))
        return run(frames)

    along_border = [(W - 1.0, 20.0 + 6 * k) for k in range(3)]
    assert stream(along_border) == []
    (ev,) = stream([(W - 1.0, 20.0 + 6 * k) for k in range(5)])
    assert len(ev.frame_index) == 5
    (ev,) = stream([(60.0, 20.0 + 6 * k) for k in range(3)])
    assert list(ev.frame_index) == [30, 31, 32]
