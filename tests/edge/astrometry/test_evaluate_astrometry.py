"""The astrometry evaluation end to end on one small (binned) event against simulator truth."""

import pytest

from edge.astrometry.evaluate import evaluate_astrometry


@pytest.fixture(scope="module")
def result():
    return evaluate_astrometry(events=1, seed=2, binning=2)


def test_summary_has_the_promised_keys(result):
    for key in (
        "star_residual_median_arcmin",
        "meteor_position_error_median_arcmin",
        "photometry_rms_mag",
        "calibrated_fraction",
        "events",
    ):
        assert key in result
    assert result["events"] == 1 and result["cameras"] == 2


def test_every_camera_calibrates_and_positions_are_good(result):
    assert result["calibrated_fraction"] == 1.0, result["per_camera"]
    assert result["max_pointing_offset_deg"] > 1.0  # the cameras really were off their configuration
    # binning 2: one pixel is about 5 arcmin
    assert result["star_residual_median_arcmin"] < 0.3
    assert result["model_error_median_arcmin"] < 0.15
    assert result["meteor_frames"] >= 5
    assert result["meteor_position_error_median_arcmin"] < 0.6


def test_meteor_photometry_against_truth(result):
    assert result["photometry_frames"] >= 3
    assert result["photometry_rms_mag"] < 0.3
