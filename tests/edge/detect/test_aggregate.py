"""The C frame stack against a plain numpy computation of the same four images."""

import numpy as np
import pytest

from edge.detect.aggregate import FrameStack, aggregate


def numpy_reference(frames: np.ndarray):
    f = frames.astype(np.float64)
    mx = f.max(axis=0)
    n = len(f) - 1
    mean = (f.sum(axis=0) - mx) / n
    var = ((f**2).sum(axis=0) - mx**2) / n - mean**2
    return mx.astype(np.uint8), frames.argmax(axis=0), mean, np.sqrt(np.clip(var, 0, None))


def test_matches_numpy_on_noise_with_a_moving_spot():
    rng = np.random.default_rng(3)
    frames = rng.poisson(20, size=(40, 37, 53)).astype(np.uint8)
    for i in range(40):
        frames[i, 10, i] = 250  # a "meteor" crossing row 10
    images = aggregate(frames)
    mx, arg, mean, std = numpy_reference(frames)
    np.testing.assert_array_equal(images.max_pixel, mx)
    np.testing.assert_array_equal(images.max_frame, arg)
    np.testing.assert_allclose(images.mean, mean, rtol=1e-5)
    np.testing.assert_allclose(images.std, std, rtol=1e-4, atol=1e-3)
    # the meteor's pixels do not bias the background: the max is left out
    assert abs(images.mean[10, 5] - 20) < 3
    assert images.max_frame[10, 5] == 5


def test_non_contiguous_rows_are_accepted():
    rng = np.random.default_rng(4)
    big = rng.integers(0, 255, size=(5, 20, 30), dtype=np.uint8)
    view = big[:, :, 5:25]  # row stride 30, width 20
    assert not view[0].flags.c_contiguous
    np.testing.assert_array_equal(aggregate(view).max_pixel, view.max(axis=0))


@pytest.mark.parametrize(
    "frame, message",
    [
        (np.zeros((4, 6), np.uint16), "dtype"),
        (np.zeros((5, 6), np.uint8), "shape"),
        (np.zeros((4, 6, 3), np.uint8), "shape"),
    ],
)
def test_bad_frames_are_rejected_and_the_stack_stays_usable(frame, message):
    stack = FrameStack(6, 4)
    stack.add(np.zeros((4, 6), np.uint8))
    with pytest.raises(ValueError, match=message):
        stack.add(frame)
    stack.add(np.ones((4, 6), np.uint8))
    assert stack.count == 2
    assert stack.result().max_pixel.max() == 1


def test_result_needs_two_frames_and_sizes_are_checked():
    stack = FrameStack(3, 3)
    stack.add(np.zeros((3, 3), np.uint8))
    with pytest.raises(ValueError, match="at least 2 frames"):
        stack.result()
    with pytest.raises(ValueError, match="out of range"):
        FrameStack(0, 10)
