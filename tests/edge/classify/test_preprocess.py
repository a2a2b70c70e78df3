"""The classifier input: one crop function for training and the station (edge.classify.preprocess)."""

from __future__ import annotations

import numpy as np
import pytest
from classify_events import DEG_PER_PX
from classify_events import line_event as _line_event

from edge.classify.preprocess import CROP_PX, N_CHANNELS, check_crop, crop_from_event, make_crop


def test_crop_shape_channels_and_motion():
    ev = _line_event(200, 100, 240, 130)
    crop = crop_from_event(ev, DEG_PER_PX)
    img = check_crop(crop.image)
    assert img.shape == (CROP_PX, CROP_PX, N_CHANNELS) and crop.scale == 1
    # the line's pixels are significant, the flat background is not
    cx, cy = crop.to_crop(np.array([200.0, 240.0]), np.array([100.0, 130.0]))
    assert img[int(round(cy[0])), int(round(cx[0])), 0] > 0.5
    assert img[2, 2, 0] == 0.0 and img[2, 2, 1] == 0.0
    # time channel: 0.1 at the start of the line, 1 at its end
    assert img[int(round(cy[0])), int(round(cx[0])), 1] == pytest.approx(0.1, abs=0.02)
    assert img[int(round(cy[1])), int(round(cx[1])), 1] == pytest.approx(1.0, abs=0.02)


def test_long_track_is_reduced_and_maps_back():
    ev = _line_event(20, 30, 400, 200)
    crop = crop_from_event(ev, DEG_PER_PX)
    assert crop.scale == int(np.ceil((380 + 16) / CROP_PX))
    # the whole line is inside the crop and frame <-> crop mapping is consistent
    cx, cy = crop.to_crop(np.array([20.0, 400.0]), np.array([30.0, 200.0]))
    assert np.all((cx >= 0) & (cx <= CROP_PX - 1) & (cy >= 0) & (cy <= CROP_PX - 1))
    fx, fy = crop.to_frame(cx, cy)
    np.testing.assert_allclose([fx, fy], [[20, 400], [30, 200]], atol=1e-9)
    # thin trail survives the block reduction: every crop pixel along it is significant
    t = np.linspace(0.05, 0.95, 30)
    px, py = crop.to_crop(20 + t * 380, 30 + t * 170)
    assert np.all(crop.image[np.rint(py).astype(int), np.rint(px).astype(int), 0] > 0.5)


def test_track_at_frame_edge_is_padded():
    ev = _line_event(0, 0, 10, 5)
    crop = crop_from_event(ev, DEG_PER_PX)
    assert crop.x0_px < 0 and crop.y0_px < 0
    assert np.all(np.isfinite(crop.image))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((32, 32, N_CHANNELS), np.float32), "shape"),
        (np.zeros((64, 64, N_CHANNELS), np.float64), "dtype"),
        (np.zeros((64, 64, N_CHANNELS - 1), np.float32), "shape"),
        ([[0.0]], "numpy array"),
        (np.full((64, 64, N_CHANNELS), np.nan, np.float32), "NaN"),
    ],
)
def test_bad_crops_raise_clear_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        check_crop(bad)


def test_bad_event_raises_clear_errors():
    ev = _line_event(200, 100, 240, 130)
    with pytest.raises(ValueError, match="mean shape"):
        make_crop(ev.max_pixel, ev.max_frame, ev.mean[:10], ev.std, ev.x_px, ev.y_px, ev.t_unix, DEG_PER_PX)
    with pytest.raises(ValueError, match="centroid"):
        make_crop(ev.max_pixel, ev.max_frame, ev.mean, ev.std, [np.nan], [np.nan], [0.0], DEG_PER_PX)
    with pytest.raises(ValueError, match="equal lengths"):
        make_crop(ev.max_pixel, ev.max_frame, ev.mean, ev.std, ev.x_px, ev.y_px, ev.t_unix[:3], DEG_PER_PX)
    with pytest.raises(ValueError, match="plate scale"):
        make_crop(ev.max_pixel, ev.max_frame, ev.mean, ev.std, ev.x_px, ev.y_px, ev.t_unix, 0.0)


def test_motion_planes_tell_speed_and_duration():
    """Channels 2 and 3: the track's angular speed and duration, the same for any binning."""
    from edge.classify.preprocess import DURATION_RANGE_S, SPEED_RANGE_DEG_S, motion_planes

    t = np.arange(20) / 25.0  # 0.76 s
    x = 100 + 2.0 * 25.0 * t  # 50 px/s
    speed, duration = motion_planes(x, np.full(20, 50.0), t, 0.1)  # 5 deg/s
    lo, hi = SPEED_RANGE_DEG_S
    assert speed == pytest.approx(np.log(5.0 / lo) / np.log(hi / lo), abs=1e-6)
    lo, hi = DURATION_RANGE_S
    assert duration == pytest.approx(np.log(0.76 / lo) / np.log(hi / lo), abs=1e-6)
    # the same motion seen binned 2x (half the pixels, twice the plate scale)
    assert motion_planes(x / 2, np.full(20, 25.0), t, 0.2) == pytest.approx((speed, duration))
    # a satellite's 0.5 deg/s is far below a meteor's
    assert motion_planes(100 + 5.0 * t, np.full(20, 50.0), t, 0.1)[0] < speed - 0.2
    # a single detection: no speed, no duration
    assert motion_planes([3.0], [4.0], [1.0], 0.1) == (0.0, 0.0)
    ev = _line_event(200, 100, 240, 130)
    img = crop_from_event(ev, DEG_PER_PX).image
    assert np.all(img[..., 2] == img[0, 0, 2]) and np.all(img[..., 3] == img[0, 0, 3]) and img[0, 0, 2] > 0
