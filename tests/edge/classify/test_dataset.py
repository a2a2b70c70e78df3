"""Simulated classifier candidates (edge.classify.dataset) from one tiny simulated night."""

from __future__ import annotations

import numpy as np
import pytest

from edge.classify.dataset import CLASSES, METEOR, DataParams, night_candidates
from edge.classify.preprocess import N_CHANNELS, SPEED_RANGE_DEG_S

TINY = DataParams(
    night_s=3.0,
    meteors_per_hour=20000,
    satellites_per_hour=2000,
    aircraft_per_hour=2000,
    insects_per_hour=2000,
    lightning_per_night=2,
    noise_per_night=2,
    cloud_per_night=1,
)


@pytest.fixture(scope="module")
def night():
    return night_candidates(5, TINY)


def test_candidates_are_labelled_crops(night):
    n = len(night["labels"])
    assert n >= 20
    assert night["images"].shape == (n, 64, 64, N_CHANNELS) and night["images"].dtype == np.float32
    assert set(np.unique(night["labels"])) <= set(range(len(CLASSES)))
    for c in ("meteor", "satellite", "lightning", "noise"):
        assert CLASSES.index(c) in night["labels"], c


def test_meteor_crops_hold_their_track_and_show_motion(night):
    meteors = np.flatnonzero(night["labels"] == METEOR)
    assert meteors.size >= 3
    rising = []
    for i in meteors:
        ax, ay, bx, by = night["track_crop_px"][i]
        assert 0 <= min(ax, bx) and max(ax, bx) <= 63 and 0 <= min(ay, by) and max(ay, by) <= 63
        length = np.hypot(bx - ax, by - ay)
        if length < 6:
            continue
        # the time channel grows along the track: position along it vs frame of the maximum
        t = night["images"][i][..., 1]
        yy, xx = np.nonzero(t > 0)
        u = ((xx - ax) * (bx - ax) + (yy - ay) * (by - ay)) / length
        off = np.abs((xx - ax) * (by - ay) - (yy - ay) * (bx - ax)) / length
        near = (off < 2.0) & (u > -2) & (u < length + 2)
        if near.sum() >= 5:
            rising.append(np.corrcoef(u[near], t[yy[near], xx[near]])[0, 1])
    assert len(rising) >= 2 and np.median(rising) > 0.8
    # the speed channel: meteors move at several deg/s, satellites at well under one
    lo, hi = SPEED_RANGE_DEG_S
    speed = lo * (hi / lo) ** night["images"][:, 0, 0, 2]
    assert np.median(speed[meteors]) > 3.0
    assert np.median(speed[night["labels"] == CLASSES.index("satellite")]) < 1.5
    # no track truth for classes without one
    assert np.all(np.isnan(night["track_crop_px"][night["labels"] == CLASSES.index("noise")]))


def test_aggregates_near_the_track_give_the_crop_of_whole_frame_aggregates():
    """`aggregate` works on the crop's neighbourhood only (rendering budget); the crop must be the one
    the full-frame aggregates give, as the station computes them over the whole frame."""
    from edge.classify.dataset import TOP_LEFT_OUT, aggregate
    from edge.classify.preprocess import make_crop

    rng = np.random.default_rng(4)
    frames = rng.poisson(12.0, (50, 120, 200)).astype(np.uint8)
    lo, hi = 30, 41
    for k in range(lo, hi + 1):  # a moving source
        frames[k, 60 + (k - lo), 40 + 3 * (k - lo)] = 200
    x = 40 + 3 * np.arange(hi - lo + 1.0)
    y = 60 + np.arange(hi - lo + 1.0)
    t = np.arange(lo, hi + 1) / 25.0
    cand = aggregate(frames, lo, hi, x, y, t)
    win = frames[lo : hi + 1]
    bg = np.sort(frames[max(0, lo - 24) : hi + 1].astype(np.float32), axis=0)[:-TOP_LEFT_OUT]
    full = make_crop(win.max(0), win.argmax(0), bg.mean(0), bg.std(0), x, y, t, 0.09)
    near = make_crop(cand.max_pixel, cand.max_frame, cand.mean, cand.std, x, y, t, 0.09)
    assert (near.x0_px, near.y0_px, near.scale) == (full.x0_px, full.y0_px, full.scale)
    np.testing.assert_allclose(near.image, full.image, atol=1e-5)
    assert near.image[..., 0].max() > 0.5


def test_only_objects_the_detector_would_see_become_candidates():
    """An object is a candidate only in frames where it clears the detector's seed threshold
    (k_sigma background sigmas at its true position) in at least min_frames frames."""
    from edge.classify.dataset import DETECTOR, frames_detected

    rng = np.random.default_rng(5)
    sky = rng.normal(20.0, 2.0, (40, 80, 120)).clip(0, 255)
    k = np.arange(10, 20)
    x, y = 20.0 + 4 * (k - 10), np.full(k.size, 40.0)

    def hits(excess_adu: float, frames_lit: int) -> int:
        frames = sky.copy()
        frames[k[:frames_lit], 40, x[:frames_lit].astype(int)] += excess_adu
        frames = frames.astype(np.uint8)
        return frames_detected(frames, k, x, y)

    assert hits(2.0 * 2.0, 10) < DETECTOR.min_frames  # 2 sigma in every frame: never reported
    assert hits(15.0 * 2.0, DETECTOR.min_frames) == DETECTOR.min_frames
    assert hits(15.0 * 2.0, 10) == 10


def test_every_meteor_candidate_is_visible_on_its_track(night):
    """No meteor the detector could not have reported (e.g. behind cloud) is labelled as one."""
    threshold = np.arcsinh(5.0 / 2.0) / 5.0  # 5 sigma in the brightness channel's scale
    for i in np.flatnonzero(night["labels"] == METEOR):
        ax, ay, bx, by = night["track_crop_px"][i]
        n = int(max(abs(bx - ax), abs(by - ay))) + 1
        xs = np.clip(np.rint(np.linspace(ax, bx, n)).astype(int), 0, 63)
        ys = np.clip(np.rint(np.linspace(ay, by, n)).astype(int), 0, 63)
        brightness = night["images"][i][..., 0]
        on_track = max(
            brightness[max(0, r - 1) : r + 2, max(0, c - 1) : c + 2].max()
            for r, c in zip(ys, xs, strict=True)
        )
        assert on_track >= threshold, i
