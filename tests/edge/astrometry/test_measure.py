"""Pixel -> sky for meteors: the meteor convention of docs/design.md, NaN handling, centroids."""

import math

import numpy as np
import pytest

from edge.astrometry.camera_model import CameraModel
from edge.astrometry.measure import meteor_centroid, meteor_positions, pixel_to_sky
from edge.catalogue.stars import load_bright_stars
from edge.geometry.celestial import Atmosphere, altaz_to_icrs, icrs_to_altaz, to_time
from edge.geometry.earth import Site

SITE = Site(40.45, 116.6, 100.0)
T_UNIX = to_time("2026-08-12T18:00:00").unix
ATM = Atmosphere(pressure_hpa=1000.0, temperature_c=10.0)
MODEL = CameraModel.from_pointing(
    width_px=960, height_px=540, pixel_pitch_um=11.72, focal_length_mm=8.0, az_deg=40.0, alt_deg=35.0,
    roll_deg=3.0, k1=-0.06, k2=0.004,
)  # fmt: skip


def test_star_pixels_give_back_the_star_coordinates():
    """A star drawn where the model puts its refracted place is measured at its catalogue RA/Dec."""
    cat = load_bright_stars(4.5)
    ra, dec = cat.positions_at(to_time(T_UNIX))
    alt, az = icrs_to_altaz(ra, dec, to_time(T_UNIX), SITE, refraction=ATM)
    x, y = MODEL.altaz_to_pixel(alt, az)
    inside = MODEL.in_frame(x, y) & (alt > 10)
    assert inside.sum() > 20
    sky = pixel_to_sky(MODEL, SITE, T_UNIX, x[inside], y[inside], ATM)
    d_ra = (sky["ra_deg"] - ra[inside] + 180) % 360 - 180
    assert np.max(np.abs(d_ra * np.cos(np.radians(dec[inside])))) < 1e-6
    assert np.max(np.abs(sky["dec_deg"] - dec[inside])) < 1e-6
    assert np.allclose(sky["alt_deg"], alt[inside], atol=1e-8)


def test_meteor_convention_matches_the_simulator():
    """A geometric direction, refracted onto the image: RA/Dec is the geometric one turned into ICRS
    without refraction (what the simulator's truth holds), not the refracted one's."""
    alt_g, az_g = 20.0, 50.0
    ra_true, dec_true = altaz_to_icrs(alt_g, az_g, to_time(T_UNIX), SITE, refraction=None)
    alt_obs, az_obs = icrs_to_altaz(ra_true, dec_true, to_time(T_UNIX), SITE, refraction=ATM)
    assert alt_obs - alt_g > 2.0 / 60  # refraction lifts it by a few arcmin
    x, y = MODEL.altaz_to_pixel(alt_obs, az_obs)
    sky = pixel_to_sky(MODEL, SITE, T_UNIX, x, y, ATM)
    sep_arcsec = 3600 * math.hypot(
        (sky["ra_deg"] - ra_true) * math.cos(math.radians(dec_true)), sky["dec_deg"] - dec_true
    )
    assert sep_arcsec < 0.01


def test_unmappable_pixels_are_nan_not_numbers():
    with pytest.raises(ValueError, match="CameraModel"):
        pixel_to_sky(MODEL.to_dict(), SITE, T_UNIX, [1.0], [1.0], None)
    sky = pixel_to_sky(
        MODEL, SITE, [T_UNIX, T_UNIX, np.nan], [np.nan, 100.0, 100.0], [10.0, 100.0, 100.0], None
    )
    for key in ("ra_deg", "dec_deg", "alt_deg", "az_deg"):
        assert np.isnan(sky[key][0]) and np.isfinite(sky[key][1]) and np.isnan(sky[key][2])


def test_meteor_centroid_and_uncertainty():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:100, 0:100]
    x0, y0 = 40.3, 55.8
    blob = 200 * np.exp(-((xx - x0) ** 2 / (2 * 2.0**2) + (yy - y0) ** 2 / (2 * 0.8**2)))  # a short streak
    errors = []
    for _ in range(50):
        diff = blob + rng.normal(0, 2.0, blob.shape)
        x, y, s = meteor_centroid(diff, 41.0, 55.0, noise_adu=2.0)
        errors.append((x - x0, y - y0, s))
    e = np.array(errors)
    assert np.max(np.abs(e[:, :2])) < 0.1  # the 3-sigma cut trims the wings: a small bias
    assert np.max(np.abs(np.mean(e[:, :2], axis=0))) < 0.03
    assert 0.3 < np.std(e[:, 0]) / np.median(e[:, 2]) < 3.0  # the stated sigma is the right size
    assert all(math.isnan(v) for v in meteor_centroid(np.zeros((100, 100)), 40, 50, noise_adu=1.0))
    assert all(math.isnan(v) for v in meteor_centroid(blob, 2.0, 50.0))  # box leaves the frame


def test_meteor_positions_combine_centroid_and_fit_errors():
    pos = meteor_positions(MODEL, SITE, T_UNIX, [100.0, np.nan], [100.0, 5.0], ATM, centroid_sigma_px=0.1,
                           fit_residual_arcmin=0.3)  # fmt: skip
    assert pos["sigma_arcmin"][0] == pytest.approx(math.hypot(0.1 * MODEL.pixel_scale_arcmin, 0.3))
    assert np.isnan(pos["sigma_arcmin"][1])
    with pytest.raises(ValueError, match="non-negative"):
        meteor_positions(MODEL, SITE, T_UNIX, [1.0], [1.0], None, centroid_sigma_px=-1.0)
