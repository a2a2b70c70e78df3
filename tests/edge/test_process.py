"""`skytrail process`: detection, calibration, measurement and products on a simulated recording,
checked against the simulator's truth (which the pipeline itself never reads)."""

import argparse
import hashlib
import json

import numpy as np
import pytest

from edge.astrometry.camera_model import CameraModel
from edge.camera.recording import read_recording, write_recording
from edge.geometry.celestial import Atmosphere
from edge.geometry.earth import Site
from edge.photometry.extinction import airmass
from edge.process import process_directory, register
from edge.products.fits import read_fits
from edge.products.gfe import read_gfe
from edge.products.json_report import read_report
from edge.products.mp4 import read_mp4
from edge.products.png import read_png
from edge.products.wcs import wcs_error_px
from edge.sim.config import Scenario, default_network
from edge.sim.event import simulate_event


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    sim = tmp_path_factory.mktemp("sim")
    scenario = Scenario(
        seed=7,
        stations=default_network(1, 1, binning=4),
        margin_s=0.5,
        meteor={"shower": "PER", "peak_abs_mag": 1.0, "offset_km": 150.0},
    )
    truth = simulate_event(scenario, sim)
    out = tmp_path_factory.mktemp("products")
    return sim, out, truth, process_directory(sim, out)


def test_process_measures_the_meteor_against_truth(processed):
    _sim, _out, truth, results = processed
    fast = [r for r in results if r.get("kind") == "fast"]
    assert len(fast) == 1 and fast[0]["status"] == "ok", results
    r = fast[0]
    assert r["calibrated"] and r["star_residual_arcmin"] < 0.5 and r["photometry_rms_mag"] < 0.15
    report = read_report(r["files"]["json"])
    cam = truth["cameras"][0]
    by_index = {f["index"]: f["meteor"] for f in cam["frames"]}
    err_arcmin, dmag = [], []
    for f in report.frames:
        m = by_index[f.frame_index]
        d_ra = ((f.ra_deg - m["ra_deg"] + 180) % 360 - 180) * np.cos(np.radians(m["dec_deg"]))
        err_arcmin.append(np.hypot(d_ra, f.dec_deg - m["dec_deg"]) * 60)
        dmag.append(f.mag - (m["apparent_mag"] - 0.25 * airmass(m["alt_deg"])))
    scale = CameraModel.from_dict(cam["model"]).pixel_scale_arcmin  # ~10 arcmin: 4x binned pixels
    assert len(report.frames) >= 5
    assert np.median(err_arcmin) < 0.3 * scale, err_arcmin
    assert np.median(np.abs(dmag)) < 0.3, dmag
    assert all(f.position_sigma_arcmin > 0 for f in report.frames)
    assert report.refraction_applied and report.photometry is not None
    assert abs(report.photometry.extinction_coeff - 0.25) < 0.1


def test_products_are_written_and_read_back(processed):
    _sim, out, truth, results = processed
    r = next(r for r in results if r.get("kind") == "fast")
    files = r["files"]
    report = read_report(files["json"])
    assert {p.kind.value for p in report.products} == {"fits", "png", "mp4", "ecsv"}
    for p in report.products:
        data = (out / "st1" / "cam1" / p.name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == p.sha256 and len(data) == p.size_bytes
    fits_product = read_fits(files["fits"])
    assert fits_product.observation_id == report.observation_id == r["observation_id"]
    assert fits_product.frames.ndim == 3 and len(fits_product.frames) >= len(report.frames)
    assert len(fits_product.stars["hip"]) >= 10
    st = truth["stations"][0]
    model = fits_product.camera_model
    err = wcs_error_px(
        fits_product.wcs,
        model,
        Site(st["lat_deg"], st["lon_deg"], st["height_m"]),
        float(report.frames[0].utc.timestamp()),
        Atmosphere(),
    )
    assert err.max() < 0.1  # the WCS is the model to a small fraction of a pixel (its time: mid-event)
    # the WCS gives the report's meteor positions
    ra, dec = fits_product.wcs.all_pix2world(
        [f.x_px for f in report.frames], [f.y_px for f in report.frames], 0
    )
    assert np.max(np.abs(dec - [f.dec_deg for f in report.frames])) * 60 < 0.1 * model.pixel_scale_arcmin
    table = read_gfe(files["ecsv"])
    assert len(table) == len(report.frames) and table.meta["camera_id"] == "st1-cam1"
    assert np.allclose(table["ra"], [f.ra_deg for f in report.frames])
    picture, meta = read_png(files["png"])
    assert (
        picture.shape[:2] == fits_product.max_frame.shape and meta["observation_id"] == report.observation_id
    )
    assert len(read_mp4(files["mp4"])) == len(fits_product.frames)


def test_missing_nominal_model_and_corrupt_recordings_are_reported(processed, tmp_path):
    sim, _out, _truth, _results = processed
    rec = read_recording(sim / "st1" / "cam1.npz")
    del rec.meta["nominal_model"]
    write_recording(tmp_path / "in" / "st9" / "cam1.npz", rec)
    (tmp_path / "in" / "st9" / "cam2.npz").write_bytes(b"PK\x03\x04 truncated zip")
    results = process_directory(tmp_path / "in", tmp_path / "out")
    assert [r["status"] for r in results] == ["error", "error"]
    assert "nominal_model" in results[0]["reason"] and "cam2.npz" in results[1]["reason"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no recordings"):
        process_directory(tmp_path / "empty", tmp_path / "out2")


def test_cli(processed, tmp_path, capsys):
    sim, _out, _truth, _results = processed
    parser = argparse.ArgumentParser()
    register(parser, "process")
    args = parser.parse_args([str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert args.func(args) == 2 and "not a directory" in capsys.readouterr().err
    rec = read_recording(sim / "st1" / "cam1.npz")
    write_recording(tmp_path / "in" / "st1" / "cam1.npz", rec)
    args = parser.parse_args([str(tmp_path / "in"), "--out", str(tmp_path / "o")])
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert any(e["status"] == "ok" for e in printed["events"])
