"""Star extraction on synthetic frames with known stars, hot pixels and a streak."""

import numpy as np
import pytest

from edge.astrometry.extract import extract_stars


def _frame(rng, stars, shape=(300, 400), sigma_px=0.7, noise=3.0, level=20.0):
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.full(shape, level) + rng.normal(0, noise, shape)
    for x, y, flux in stars:
        img += flux / (2 * np.pi * sigma_px**2) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma_px**2))
    return img


def test_recovers_positions_fluxes_and_fwhm_of_known_stars():
    rng = np.random.default_rng(1)
    xs = rng.uniform(20, 380, 40)
    ys = rng.uniform(20, 280, 40)
    fluxes = rng.uniform(800, 5000, 40)
    img = _frame(rng, zip(xs, ys, fluxes, strict=True))
    stars = extract_stars(img)
    assert len(stars) >= 38
    d = np.hypot(stars.x_px[:, None] - xs[None], stars.y_px[:, None] - ys[None])
    nearest = d.argmin(axis=1)
    assert np.median(d.min(axis=1)) < 0.05
    assert np.all(np.diff(stars.flux_adu) <= 0)  # brightest first
    ratio = stars.flux_adu / fluxes[nearest]
    assert 0.85 < np.median(ratio) < 1.05
    assert np.median(stars.fwhm_px) == pytest.approx(0.7 * 2.3548, rel=0.2)


def test_hot_pixels_and_streaks_are_not_stars():
    rng = np.random.default_rng(2)
    img = _frame(rng, [(100.3, 100.6, 3000.0)])
    img[50, 300] += 400.0  # a hot pixel
    img[200, 50:120] += 60.0  # a streak (meteor trail in the stack)
    img[201, 50:120] += 30.0
    stars = extract_stars(img)
    assert len(stars) == 1
    assert stars.x_px[0] == pytest.approx(100.3, abs=0.05)
    assert stars.y_px[0] == pytest.approx(100.6, abs=0.05)


def test_empty_and_flat_frames_give_no_stars():
    rng = np.random.default_rng(3)
    assert len(extract_stars(_frame(rng, []))) <= 1  # pure noise: at most a chance 5-sigma blip
    assert len(extract_stars(np.full((200, 200), 17.0))) == 0
    assert len(extract_stars(np.zeros((200, 200), np.uint8))) == 0


def test_mask_and_non_finite_pixels():
    rng = np.random.default_rng(4)
    img = _frame(rng, [(100.0, 100.0, 3000.0), (250.0, 150.0, 3000.0)])
    mask = np.zeros(img.shape, bool)
    mask[:, 200:] = True
    img[10, 10] = np.nan
    stars = extract_stars(img, mask=mask)
    assert len(stars) == 1 and stars.x_px[0] < 200
    assert np.all(np.isfinite(stars.x_px))


@pytest.mark.parametrize(
    "image, kwargs, match",
    [
        (np.zeros((10, 10, 3)), {}, "2-D"),
        (np.zeros((8, 8)), {}, "too small"),
        (np.zeros((100, 100)), {"mask": np.zeros((50, 50), bool)}, "mask"),
        (np.zeros((100, 100)), {"threshold_sigma": -1.0}, "threshold_sigma"),
    ],
)
def test_bad_input_is_a_clear_error(image, kwargs, match):
    with pytest.raises(ValueError, match=match):
        extract_stars(image, **kwargs)
