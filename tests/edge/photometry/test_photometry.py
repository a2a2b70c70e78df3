"""Star aperture photometry, the M3 photometric fit and meteor fluxes, against synthetic images with
known fluxes and against the simulator's ground truth (zero point, extinction, meteor magnitudes)."""

import numpy as np
import pytest

from edge.camera.profiles import get_profile
from edge.camera.recording import read_recording
from edge.catalogue.stars import load_bright_stars
from edge.photometry.extinction import airmass
from edge.photometry.fit import absolute_magnitude, fit_photometry, magnitude
from edge.photometry.meteor import meteor_fluxes, saturated_frames
from edge.photometry.stars import aperture_fluxes, peak_values


def gaussian_image(shape, xs, ys, fluxes, sigma, background=10.0):
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.full(shape, background, float)
    for x, y, f in zip(xs, ys, fluxes, strict=True):
        img += f / (2 * np.pi * sigma**2) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    return img


def test_aperture_fluxes_recover_known_fluxes_and_errors():
    rng = np.random.default_rng(1)
    xs = np.array([20.3, 50.7, 80.1, 30.0, 70.4])
    ys = np.array([20.6, 30.2, 60.9, 70.5, 15.0])
    true = np.array([500.0, 1200.0, 300.0, 800.0, 2000.0])
    clean = gaussian_image((90, 100), xs, ys, true, sigma=1.0, background=12.0)
    fluxes = []
    for _ in range(200):
        img = clean + rng.normal(0, 2.0, clean.shape)
        f, e = aperture_fluxes(img, xs, ys, radius_px=4.0, annulus_px=(7.0, 11.0), noise_adu=2.0)
        fluxes.append(f)
    fluxes = np.array(fluxes)
    # the 4-sigma aperture holds all but exp(-8) of the light; the annulus removes the pedestal
    assert np.allclose(fluxes.mean(0), true, rtol=0.01)
    # the stated error describes the scatter (background noise over the aperture, plus annulus)
    assert np.allclose(fluxes.std(0), e, rtol=0.25)


def test_aperture_off_the_image_is_nan_and_bad_input_raises():
    img = np.zeros((30, 30))
    f, e = aperture_fluxes(img, [1.0, 15.0, np.nan], [15.0, 15.0, 3.0])
    assert np.isnan(f[0]) and np.isfinite(f[1]) and np.isnan(f[2])
    with pytest.raises(ValueError, match="non-finite"):
        aperture_fluxes(np.full((10, 10), np.nan), [5.0], [5.0])
    with pytest.raises(ValueError, match="radius"):
        aperture_fluxes(img, [15.0], [15.0], radius_px=8.0, annulus_px=(6.0, 9.0))
    assert peak_values(np.arange(100.0).reshape(10, 10), [5.0], [5.0], radius_px=1.0)[0] == 65.0


def test_fit_recovers_zero_point_extinction_colour_and_clips_outliers():
    rng = np.random.default_rng(2)
    n = 80
    v = rng.uniform(1.0, 5.5, n)
    bv = rng.uniform(-0.2, 1.6, n)
    vi = bv * 1.1
    X = airmass(rng.uniform(20, 80, n))
    zp, k, c = 9.1, 0.28, 0.07
    flux = 10 ** (-0.4 * (v - zp + k * X - c * bv + rng.normal(0, 0.03, n)))
    flux[:4] *= 3.0  # blends / wrong matches
    vi[4:7] = 2.6  # very red stars: Hipparcos V is off for them, make them wildly so
    flux[4:7] *= 2.0
    fit = fit_photometry(flux, v, bv, X, vi=vi)
    assert fit.ok, fit.reason
    assert abs(fit.zero_point - zp) < 0.03 and abs(fit.extinction_coeff - k) < 0.03
    assert abs(fit.colour_term - c) < 0.02 and fit.rms_mag < 0.04
    assert not fit.used[:7].any() and fit.n_stars >= 70
    # magnitude() inverts the equation (B - V given), above the atmosphere
    back = magnitude(fit, flux[10:], X[10:], bv[10:])
    assert np.allclose(back, v[10:], atol=0.12)
    assert np.isnan(magnitude(fit, [0.0, -1.0, np.nan], 1.0)).all()


def test_fit_degenerate_cases_are_flagged():
    v = np.linspace(2, 5, 12)
    flux = 10 ** (-0.4 * (v - 8.0 + 0.25 * 1.3))
    narrow = fit_photometry(flux, v, np.linspace(0, 1, 12), np.full(12, 1.3))
    assert narrow.ok and "extinction held" in narrow.reason
    assert abs(narrow.zero_point - 8.0) < 1e-6
    few = fit_photometry(flux[:5], v[:5], np.zeros(5), np.full(5, 1.3))
    assert not few.ok and "too few" in few.reason and np.isnan(few.zero_point)
    clouds = fit_photometry(
        flux * np.random.default_rng(3).lognormal(0, 1.0, 12), v, np.zeros(12), np.linspace(1, 2, 12)
    )
    assert not clouds.ok and "rms" in clouds.reason
    with pytest.raises(ValueError, match="one length"):
        fit_photometry(flux, v[:3], v, v)
    assert np.isclose(absolute_magnitude(3.0, 200e3), 3.0 - 5 * np.log10(2.0))


def test_meteor_flux_of_a_synthetic_streak():
    rng = np.random.default_rng(4)
    h, w = 80, 120
    n_frames = 8
    frames = np.zeros((n_frames, h, w))
    x0, y0, dx, dy = 20.0, 20.0, 9.0, 5.0  # 10 px per frame, a streak the length of one frame's motion
    true = np.linspace(200, 900, n_frames)
    xs, ys = [], []
    for k in range(n_frames):
        s = np.linspace(-0.5, 0.5, 40)
        px, py = x0 + dx * (k + s), y0 + dy * (k + s)
        frames[k] = gaussian_image((h, w), px, py, np.full(40, true[k] / 40), 1.0, background=0.0)
        xs.append(x0 + dx * k)
        ys.append(y0 + dy * k)
    background = gaussian_image((h, w), [100.0], [60.0], [3000.0], 1.0, background=15.0)
    frames = frames + background + rng.normal(0, 1.0, frames.shape)
    f = meteor_fluxes(frames, np.array(xs), np.array(ys), np.arange(n_frames), background, radius_px=4.0)
    assert np.allclose(f, true, rtol=0.03, atol=6.0)
    # a generous circle of the same radius loses the streak's ends: the ellipse is needed
    circle, _ = aperture_fluxes(frames[3] - background, [xs[3]], [ys[3]], radius_px=4.0, annulus_px=(12, 15))
    assert circle[0] < 0.9 * true[3]
    clipped = np.clip(frames, 0, 255).astype(np.uint8)
    clipped[5, int(ys[5]), int(xs[5])] = 255
    assert saturated_frames(clipped, np.array(xs), np.array(ys), np.arange(n_frames)).tolist() == [
        False,
        False,
        False,
        False,
        False,
        True,
        False,
        False,
    ]
    with pytest.raises(ValueError, match="frame_index"):
        meteor_fluxes(frames, np.array(xs), np.array(ys), np.arange(n_frames) + 1, background)


def _stars_and_fit(out, truth):
    cam = truth["cameras"][0]
    rec = read_recording(out / cam["file"])
    frames = rec.frames.astype(float)
    mean = frames.mean(0)
    noise = frames.std(0) / np.sqrt(len(frames))
    stars = cam["stars_mid_frame"]["stars"]
    cat = load_bright_stars()
    idx = np.array([cat.by_hip(s["hip"]) for s in stars])
    x = np.array([s["x_px"] for s in stars])
    y = np.array([s["y_px"] for s in stars])
    v = np.array([s["vmag"] for s in stars])
    X = (np.array([s["apparent_mag"] for s in stars]) - v) / truth["scenario"]["sky"][
        "extinction_mag_per_airmass"
    ]
    sel = v < 5.0
    f, e = aperture_fluxes(mean, x[sel], y[sel], radius_px=2.5, annulus_px=(5.0, 8.0), noise_adu=noise)
    good = (peak_values(rec.frames.max(0), x[sel], y[sel]) < 250) & (f > 10 * e)
    fit = fit_photometry(
        f[good],
        v[sel][good],
        cat.bv[idx][sel][good],
        X[sel][good],
        flux_err_adu=e[good],
        vi=cat.vi[idx][sel][good],
    )
    return rec, fit


def test_fit_on_simulated_stars_matches_the_simulator(photometry_event):
    out, truth = photometry_event
    _rec, fit = _stars_and_fit(out, truth)
    p = get_profile("m3-8mm")
    zp_true = 2.5 * np.log10(p.electrons(0.0, p.exposure_s) / p.gain_e_per_adu)
    assert fit.ok, fit.reason
    assert abs(fit.zero_point - zp_true) < 0.06
    assert abs(fit.extinction_coeff - 0.25) < 0.05
    assert abs(fit.colour_term) < 0.05  # the simulator has no colour term
    assert fit.rms_mag < 0.1 and fit.n_stars >= 30


def test_meteor_light_curve_matches_truth(photometry_event):
    out, truth = photometry_event
    rec, fit = _stars_and_fit(out, truth)
    cam = truth["cameras"][0]
    rows = [
        f
        for f in cam["frames"]
        if f["meteor"] and f["meteor"]["in_frame"] and f["meteor"]["apparent_mag"] < 4
    ]
    idx = np.array([f["index"] for f in rows])
    x = np.array([f["meteor"]["centroid_x_px"] for f in rows])
    y = np.array([f["meteor"]["centroid_y_px"] for f in rows])
    quiet = np.setdiff1d(np.arange(len(rec.frames)), np.arange(idx.min() - 2, idx.max() + 3))
    background = rec.frames[quiet].astype(float).mean(0)
    flux = meteor_fluxes(rec.frames, x, y, idx, background, radius_px=3.0)
    alt = np.array([f["meteor"]["alt_deg"] for f in rows])
    mag = magnitude(fit, flux, airmass(alt))
    # truth's apparent_mag is at the ground: take the extinction off
    true_above = np.array([f["meteor"]["apparent_mag"] for f in rows]) - 0.25 * airmass(alt)
    assert len(rows) >= 6
    assert np.median(np.abs(mag - true_above)) < 0.15
    rng_m = np.array([f["meteor"]["range_m"] for f in rows])
    true_abs = np.array([f["meteor"]["abs_mag"] for f in rows])
    assert np.median(np.abs(absolute_magnitude(mag, rng_m) - true_abs)) < 0.3
