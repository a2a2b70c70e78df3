"""Automatic calibration against simulator truth: one binned camera whose configured pointing and
focal length are several degrees and percent off the true ones."""

import math

import numpy as np
import pytest

from edge.astrometry.calibrate import calibrate
from edge.astrometry.camera_model import CameraModel
from edge.camera.recording import read_recording
from edge.geometry.celestial import Atmosphere
from edge.geometry.earth import Site
from edge.sim.config import Scenario, default_network
from edge.sim.event import simulate_event


@pytest.fixture(scope="module")
def event(tmp_path_factory):
    out = tmp_path_factory.mktemp("astro_event")
    scenario = Scenario(seed=5, stations=default_network(1, 1, binning=2), margin_s=0.2)
    truth = simulate_event(scenario, out)
    cam = truth["cameras"][0]
    rec = read_recording(out / cam["file"])
    return {
        "mean": rec.frames.astype(float).mean(axis=0),
        "site": Site(**rec.meta["site"]),
        "t_unix": float(np.mean(rec.utc_unix_s)),
        "true": CameraModel.from_dict(cam["model"]),
        "atmosphere": Atmosphere(**truth["refraction"]),
        "stars": cam["stars_mid_frame"]["stars"],
    }


def _model_error_arcmin(a: CameraModel, b: CameraModel) -> np.ndarray:
    yy, xx = np.mgrid[0 : a.height_px : 10, 0 : a.width_px : 10]
    v1, v2 = a.pixel_to_enu(xx, yy), b.pixel_to_enu(xx, yy)
    return np.degrees(np.arccos(np.clip(np.sum(v1 * v2, axis=-1), -1, 1))) * 60.0


def _off_nominal(true: CameraModel) -> CameraModel:
    az, alt, roll = true.pointing
    return true.with_pointing(az + 4.0, alt - 3.0, roll + 4.0).with_params(
        focal_px=true.focal_px * 1.045,
        k1=-0.06,
        k2=0.004,
        cx_px=(true.width_px - 1) / 2,
        cy_px=(true.height_px - 1) / 2,
    )


def test_calibrates_from_a_pointing_several_degrees_off(event):
    nominal = _off_nominal(event["true"])
    assert np.median(_model_error_arcmin(nominal, event["true"])) > 200  # the start is far off
    cal = calibrate(
        event["mean"],
        site=event["site"],
        t_unix=event["t_unix"],
        nominal=nominal,
        atmosphere=event["atmosphere"],
    )
    assert cal.ok, cal.reason
    assert cal.n_stars >= 30
    pixel_arcmin = event["true"].pixel_scale_arcmin  # about 5 arcmin at binning 2
    assert cal.residual_arcmin < 0.06 * pixel_arcmin  # measured ~0.15 arcmin (0.03 px)
    err = _model_error_arcmin(cal.model, event["true"])
    assert np.median(err) < 0.03 * pixel_arcmin  # measured ~0.05 arcmin
    assert np.max(err) < 0.15 * pixel_arcmin
    assert cal.model.focal_px == pytest.approx(event["true"].focal_px, rel=2e-4)
    # the matched stars are the ones the simulator drew there
    m = cal.matched
    n = len(m["hip"])
    assert all(len(v) == n for v in m.values())
    truth_xy = np.array([[s["x_px"], s["y_px"]] for s in event["stars"]])
    truth_hip = np.array([s["hip"] for s in event["stars"]])
    d = np.hypot(m["x_px"][:, None] - truth_xy[None, :, 0], m["y_px"][:, None] - truth_xy[None, :, 1])
    assert np.mean(truth_hip[d.argmin(axis=1)] == m["hip"]) > 0.97
    assert np.all(m["alt_deg"] > 5) and m["used_in_fit"].sum() == cal.n_stars


def test_starts_from_the_previous_model_when_the_nominal_one_is_far_off(event):
    """A camera knocked 25 deg off its configuration is out of reach of the search from the nominal
    model, but its last good model (half a degree off the truth) brings it back."""
    true = event["true"]
    az, alt, roll = true.pointing
    nominal = true.with_pointing(az + 25.0, alt, roll)
    previous = true.with_pointing(az + 0.4, alt - 0.3, roll + 0.5)
    kw = {"site": event["site"], "t_unix": event["t_unix"], "atmosphere": event["atmosphere"]}
    alone = calibrate(event["mean"], nominal=nominal, **kw)
    assert not alone.ok and alone.model is nominal
    cal = calibrate(event["mean"], nominal=nominal, previous=previous, **kw)
    assert cal.ok, cal.reason
    assert np.median(_model_error_arcmin(cal.model, true)) < 0.03 * true.pixel_scale_arcmin


def test_wrong_time_is_flagged_not_fitted(event):
    """Six hours off, the sky has turned: whatever the search finds must not pass as a good fit."""
    previous = event["true"]
    cal = calibrate(
        event["mean"], site=event["site"], t_unix=event["t_unix"] + 6 * 3600.0,
        nominal=_off_nominal(event["true"]), atmosphere=event["atmosphere"], previous=previous,
    )  # fmt: skip
    assert not cal.ok
    assert cal.model is previous
    assert cal.reason.startswith("fallback: previous good model")


def test_cloudy_frame_falls_back_and_says_so(event):
    rng = np.random.default_rng(0)
    cloudy = np.full(event["mean"].shape, 40.0) + rng.normal(0, 0.5, event["mean"].shape)
    nominal = _off_nominal(event["true"])
    cal = calibrate(cloudy, site=event["site"], t_unix=event["t_unix"], nominal=nominal, atmosphere=None)
    assert not cal.ok and cal.model is nominal
    assert "stars detected" in cal.reason and cal.reason.startswith("fallback: nominal model")
    assert math.isnan(cal.residual_arcmin)
    previous = event["true"]
    cal = calibrate(
        np.zeros_like(cloudy), site=event["site"], t_unix=event["t_unix"], nominal=nominal, atmosphere=None,
        previous=previous,
    )  # fmt: skip
    assert not cal.ok and cal.model is previous


def test_bad_arguments_are_clear_errors(event):
    true = event["true"]
    kw = {"site": event["site"], "t_unix": event["t_unix"], "atmosphere": None}
    with pytest.raises(ValueError, match="shape"):
        calibrate(event["mean"][:-1], nominal=true, **kw)
    with pytest.raises(ValueError, match="CameraModel"):
        calibrate(event["mean"], nominal=true.to_dict(), **kw)
    bad = true.to_dict()
    bad["focal_px"] = float("nan")
    with pytest.raises(ValueError, match="focal_px"):
        CameraModel.from_dict(bad)  # a model with NaNs cannot even be made, so it never reaches a fit
    with pytest.raises(ValueError, match="t_unix"):
        calibrate(event["mean"], nominal=true, site=event["site"], t_unix=float("nan"), atmosphere=None)
