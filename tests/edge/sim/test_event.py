"""The simulated event against its own ground truth and against independent computations."""

import json

import numpy as np
import pytest
from pydantic import ValidationError

from edge.astrometry.camera_model import CameraModel
from edge.camera.recording import read_recording
from edge.catalogue.showers import get_shower, solar_longitude_deg
from edge.geometry.celestial import to_time
from edge.geometry.earth import ecef_to_geodetic
from edge.geometry.radiant import geocentric_radiant
from edge.sim.config import CameraConfig, MeteorConfig, Scenario, StationConfig, default_network
from edge.sim.evaluate import meteor_centroid_errors, star_centroid_errors
from edge.sim.meteor import MeteorTrajectory


def cameras_with_meteor(truth, min_frames=4):
    return [c for c in truth["cameras"] if c["meteor_frames"] >= min_frames]


def test_truth_file_is_written_and_valid_json(small_event):
    out, truth = small_event
    on_disk = json.loads((out / "truth.json").read_text())
    assert on_disk["schema"] == "skytrail-sim-truth/1"
    assert len(on_disk["cameras"]) == 4
    # the meteor is seen by both stations, so it can be triangulated
    assert len({c["station_id"] for c in cameras_with_meteor(truth)}) == 2


def test_geocentric_radiant_recomputed_from_the_state_matches_the_shower(small_event):
    _, truth = small_event
    m = truth["meteor"]
    traj = m["trajectory"]
    t_begin = to_time(traj["t_begin_unix"])
    velocity = np.array(traj["direction_ecef"]) * traj["v_init_ms"]
    back = geocentric_radiant(np.array(traj["begin_ecef_m"]), velocity, t_begin)
    shower = get_shower("PER")
    ra, dec = shower.radiant_at(solar_longitude_deg(t_begin))
    assert back.ra_deg == pytest.approx(ra, abs=1e-6)
    assert back.dec_deg == pytest.approx(dec, abs=1e-6)
    assert back.v_g_kms == pytest.approx(shower.v_g_kms, rel=1e-9)
    # and the shower was active: within its activity window
    assert shower.is_active(m["solar_longitude_deg"])


def test_meteor_heights_speed_and_light_curve_are_physical(small_event):
    _, truth = small_event
    m = truth["meteor"]
    assert 95e3 < m["begin"]["height_m"] < 120e3  # a fast Perseid starts high
    assert 60e3 < m["end"]["height_m"] < m["begin"]["height_m"] - 5e3
    assert 59.0 < m["v_init_ecef_kms"] < 62.0  # v_g 59 plus gravity, Earth-fixed frame
    assert m["v_end_ecef_kms"] < m["v_init_ecef_kms"]
    traj = {
        k: (np.array(v) if isinstance(v, list) and k != "flares" else v) for k, v in m["trajectory"].items()
    }
    traj["flares"] = []
    meteor = MeteorTrajectory(**traj)
    t = meteor.t_begin_unix + np.linspace(0, meteor.duration_s, 200)
    mags = meteor.abs_mag(t)
    peak_height = meteor.height_m(t[np.argmin(mags)])
    assert abs(peak_height - meteor.peak_height_m) < 1.5e3
    assert np.min(mags) == pytest.approx(-2.0, abs=0.05)
    assert mags[-1] > mags.min() + 3  # burns out at the end


def test_clock_offsets_and_jitter_in_frame_times(tmp_path):
    stations = default_network(2, 1, binning=8)
    stations[1] = stations[1].model_copy(update={"clock_offset_s": 0.25, "frame_jitter_s": 0.002})
    scenario = Scenario(seed=3, stations=stations, margin_s=0.1)
    from edge.sim.event import simulate_event

    truth = simulate_event(scenario, tmp_path)
    for cam in truth["cameras"]:
        error = np.array([f["t_reported_unix"] - f["t_true_unix"] for f in cam["frames"]])
        recording = read_recording(tmp_path / cam["file"])
        np.testing.assert_allclose(recording.utc_unix_s, [f["t_reported_unix"] for f in cam["frames"]])
        if cam["station_id"] == "st2":
            assert abs(error.mean() - 0.25) < 0.002
            assert 0.001 < error.std() < 0.004
        else:
            assert abs(error.mean()) < 0.001


def test_meteor_light_is_where_the_truth_says(small_event):
    out, truth = small_event
    errors = meteor_centroid_errors(out, truth)
    assert len(errors) >= 5
    assert np.max(errors) < 0.8


def test_star_centroids_match_catalogue_positions(small_event):
    """Bright isolated stars, stacked over the clip, sit within 0.1 px of where the catalogue,
    the apparent-place transform and the true camera model put them."""
    out, truth = small_event
    errors = star_centroid_errors(out, truth)
    assert len(errors) >= 10
    assert np.median(errors) < 0.1
    assert np.percentile(errors, 90) < 0.15


def test_star_centroid_check_would_see_a_wrong_camera_model(small_event):
    """The check is sharp: a model rotated by one pixel's angle is caught."""
    out, truth = small_event
    cam = truth["cameras"][0]
    model = CameraModel.from_dict(cam["model"])
    az, alt, roll = model.pointing
    shifted = model.with_pointing(az + model.pixel_scale_arcmin / 60.0, alt, roll)
    wrong = dict(truth, cameras=[dict(cam, model=shifted.to_dict())])
    assert np.median(star_centroid_errors(out, wrong)) > 0.5


def test_frames_are_8bit_with_sky_background_and_noise(small_event):
    out, truth = small_event
    cam = truth["cameras"][0]
    rec = read_recording(out / cam["file"])
    assert rec.frames.dtype == np.uint8
    p = cam["profile"]
    from edge.camera.profiles import CameraProfile

    profile = CameraProfile(**p)
    pixel_arcsec2 = (CameraModel.from_dict(cam["model"]).pixel_scale_arcmin * 60) ** 2
    sky_mag = truth["scenario"]["sky"]["sky_mag_arcsec2"]
    # mid-frame at 45 deg: 1.41 airmasses of airglow path, dimmed by 0.41 airmass of extinction
    sky_e = profile.electrons(sky_mag, p["exposure_s"]) * pixel_arcsec2 * 1.41 * 10 ** (-0.4 * 0.25 * 0.41)
    h, w = rec.frames.shape[1:]
    centre = rec.frames[:, h // 2 - 20 : h // 2 + 20, w // 2 - 20 : w // 2 + 20].astype(float)
    assert np.median(centre) == pytest.approx(p["bias_adu"] + sky_e / p["gain_e_per_adu"], abs=1.0)
    noise_adu = np.std(centre[1] - centre[0]) / np.sqrt(2)
    expected = np.sqrt(p["read_noise_e"] ** 2 + sky_e) / p["gain_e_per_adu"]
    assert noise_adu == pytest.approx(expected, rel=0.25)
    # hot pixels are where the truth says, in every frame
    x, y = cam["hot_pixels"][0]
    assert np.all(rec.frames[:, y, x] > np.median(centre) + 10)


@pytest.mark.parametrize(
    "build, field",
    [
        (lambda: CameraConfig(camera_id="c1", az_deg=0, alt_deg=45, focal_length_mm=-8), "focal_length_mm"),
        (
            lambda: StationConfig(
                station_id="st1",
                lat_deg=45,
                lon_deg=10,
                height_m=-1000,
                cameras=[CameraConfig(camera_id="c1", az_deg=0, alt_deg=45)],
            ),
            "height_m",
        ),
        (lambda: MeteorConfig(shower="XYZ"), "unknown shower code 'XYZ'"),
        (
            lambda: StationConfig(
                station_id="st1",
                lat_deg=95,
                lon_deg=10,
                height_m=0,
                cameras=[CameraConfig(camera_id="c1", az_deg=0, alt_deg=45)],
            ),
            "lat_deg",
        ),
        (lambda: MeteorConfig(begin_height_km=80, end_height_km=90), "end_height_km"),
        (
            lambda: CameraConfig(camera_id="c1", az_deg=0, alt_deg=45, profile="nope"),
            "unknown camera profile",
        ),
    ],
)
def test_impossible_configs_name_the_field(build, field):
    with pytest.raises(ValidationError) as info:
        build()
    assert field in str(info.value)


def test_cli_reports_a_bad_shower_clearly(tmp_path, capsys):
    from skytrail.cli import main

    assert main(["sim", "event", "--shower", "XYZ", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "meteor.shower" in err and "unknown shower code 'XYZ'" in err


def test_default_network_is_spaced_and_faces_the_centre():
    stations = default_network(3, 4)
    from edge.geometry.earth import geodetic_to_ecef

    pos = [geodetic_to_ecef(s.lat_deg, s.lon_deg, s.height_m) for s in stations]
    d = [np.linalg.norm(pos[i] - pos[j]) / 1e3 for i, j in ((0, 1), (1, 2), (0, 2))]
    assert np.allclose(d, 110, rtol=0.02)
    assert sorted(c.az_deg for c in stations[0].cameras) == sorted(
        (stations[0].cameras[0].az_deg + 90 * k) % 360 for k in range(4)
    )
    lat, lon, _ = ecef_to_geodetic(np.mean(pos, axis=0))
    assert abs(lat - 40.45) < 0.01 and abs(lon - 116.6) < 0.01


def test_recordings_carry_the_nominal_model_not_the_truth(small_event):
    """Processing starts from what the station's config says; the true model differs by the
    simulated mounting errors (0.5 deg by default)."""
    out, truth = small_event
    cam = truth["cameras"][0]
    meta = read_recording(out / cam["file"]).meta
    nominal, true = CameraModel.from_dict(meta["nominal_model"]), CameraModel.from_dict(cam["model"])
    axis_nominal, axis_true = nominal.pixel_to_enu(nominal.cx_px, nominal.cy_px), true.pixel_to_enu(
        true.cx_px, true.cy_px
    )
    angle = np.degrees(np.arccos(np.clip(axis_nominal @ axis_true, -1, 1)))
    assert 0.01 < angle < 3.0


def test_heights_are_found_along_long_low_rays():
    """A ray 15 deg above the horizon reaches a 1,200 km satellite shell about 3,000 km away."""
    from edge.geometry.earth import Site, altaz_to_enu
    from edge.sim.meteor import along_track_to_height

    site = Site(40.0, 116.0, 100.0)
    ray = altaz_to_enu(15.0, 80.0) @ site.enu_basis
    s = along_track_to_height(site.ecef_m, ray, 1_200e3)
    assert 2_500e3 < s < 4_000e3
    assert ecef_to_geodetic(site.ecef_m + s * ray)[2] == pytest.approx(1_200e3, abs=1.0)
