"""The simulated night: meteors as asked for (peak magnitude, frames), satellites at real angular
speeds, frames with the sensor's noise, truth that matches what was drawn, bounded memory."""

import inspect
import math
import tracemalloc

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.stats import sigmaclip

from edge.photometry.extinction import airmass
from edge.sim.night import NightConfig, night_truth, plan_night, render_night, simulate_night

MAGS = [-2.0, -0.5, 1.0, 1.5, 2.0, 3.0, 4.0]
FRAMES = [3, 5, 8, 12, 25, 40, 60]


@pytest.fixture(scope="module")
def night():
    """Seven seconds of one camera (480x270) with seven meteors asked for explicitly, plus
    satellites, aircraft and insects at high rates; frames kept here only for the tests."""
    cfg = NightConfig(
        seed=3,
        binning=4,
        duration_s=7.0,
        chunk_s=2.0,
        moon=False,
        meteors=[
            {"peak_mag": m, "frames": f, "t_offset_s": 0.3 + 0.7 * i}
            for i, (m, f) in enumerate(zip(MAGS, FRAMES, strict=True))
        ],
        satellites_per_hour=3000.0,
        aircraft_per_hour=600.0,
        insects_per_hour=1200.0,
        meteor_flare_probability=0.0,
    )
    plan = plan_night(cfg)
    frames = list(render_night(plan))
    return cfg, plan, frames


def test_meteors_have_the_peak_magnitude_and_length_asked_for(night):
    cfg, plan, _frames = night
    meteors = sorted((o.truth for o in plan.objects if o.truth.kind == "meteor"), key=lambda m: m.first_frame)
    assert len(meteors) == len(MAGS)
    for m, mag, n in zip(meteors, MAGS, FRAMES, strict=True):
        assert m.peak_mag == pytest.approx(mag, abs=0.3)
        assert m.info["requested_frames"] == n
        if m.info["fully_in_field"]:
            assert abs(m.n_frames_in_field - n) <= 1
        assert 68.0 <= m.info["end_height_km"] < m.info["begin_height_km"] <= 122.0
        # apparent angular speed within what meteors show (a few to ~50 deg/s)
        xy = np.column_stack([m.x_px, m.y_px])[m.in_field]
        enu = plan.camera.model.pixel_to_enu(xy[:, 0], xy[:, 1])
        if len(enu) >= 3:
            ang = math.degrees(math.acos(np.clip(enu[0] @ enu[-1], -1, 1)))
            assert ang / ((len(enu) - 1) / plan.fps) < 80.0


def test_rendered_meteor_light_matches_truth_magnitude(night):
    """Independent photometry: the frame minus the frame before the meteor, summed around the
    truth's smear, converted with the profile's photometric scale, against the truth magnitude."""
    _cfg, plan, frames = night
    cam = plan.camera
    p = cam.profile
    checked = 0
    for m in (o.truth for o in plan.objects if o.truth.kind == "meteor"):
        if not 0.5 <= m.peak_mag <= 2.5 or not m.info["fully_in_field"]:
            continue
        i = int(np.argmin(np.where(m.in_field, m.mag, np.inf)))
        k = int(m.frame_index[i])
        ref = frames[m.first_frame - 2].frame.astype(float)
        diff = frames[k].frame.astype(float) - ref
        xs = [m.seg_x0_px[i], m.seg_x1_px[i]]
        ys = [m.seg_y0_px[i], m.seg_y1_px[i]]
        x0, x1 = int(min(xs)) - 5, int(max(xs)) + 6
        y0, y1 = int(min(ys)) - 5, int(max(ys)) + 6
        if x0 < 0 or y0 < 0 or x1 > cam.shape[1] or y1 > cam.shape[0]:
            continue
        total_adu = diff[y0:y1, x0:x1].sum()
        measured = -2.5 * math.log10(total_adu * p.gain_e_per_adu / p.electrons(0.0, p.exposure_s))
        assert measured == pytest.approx(m.mag[i], abs=0.3)
        checked += 1
    assert checked >= 1


def test_satellites_cross_at_real_angular_speeds(night):
    _cfg, plan, _frames = night
    sats = [o.truth for o in plan.objects if o.truth.kind == "satellite"]
    assert len(sats) >= 3
    for s in sats:
        enu = plan.camera.model.pixel_to_enu(s.x_px[[0, -1]], s.y_px[[0, -1]])
        seconds = (s.frame_index[-1] - s.frame_index[0]) / plan.fps
        deg_per_s = math.degrees(math.acos(np.clip(enu[0] @ enu[1], -1, 1))) / seconds
        assert 0.25 <= deg_per_s <= 2.1
        assert 1.0 <= np.min(s.mag) and np.median(s.mag) <= 7.0


def test_frames_have_the_sensor_noise(night):
    cfg, plan, frames = night
    cam, p = plan.camera, plan.camera.profile
    h, w = cam.shape
    a = frames[10].frame.astype(float)[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    b = frames[11].frame.astype(float)[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    assert frames[10].frame.dtype == np.uint8 and frames[10].frame.shape == (h, w)
    d = sigmaclip((a - b).ravel(), 4.0, 4.0).clipped  # stars twinkle: clip them out
    sigma_measured = d.std() / math.sqrt(2.0)
    alt_c, _ = cam.model.pixel_to_altaz((w - 1) / 2, (h - 1) / 2)
    x = float(airmass(alt_c))
    sky_e = p.electrons(cfg.sky_mag_arcsec2, p.exposure_s) * (cam.model.pixel_scale_arcmin * 60.0) ** 2
    sky_e *= x * 10 ** (-0.4 * cfg.extinction_mag_per_airmass * (x - 1.0))
    sigma_expected = math.sqrt((sky_e + p.read_noise_e**2) / p.gain_e_per_adu**2 + 1.0 / 12.0)
    assert sigma_measured == pytest.approx(sigma_expected, rel=0.15)
    assert np.median(a) == pytest.approx(p.bias_adu + sky_e / p.gain_e_per_adu, abs=1.0)


def test_per_frame_truth_is_the_objects_tracks(night):
    _cfg, plan, frames = night
    truth = {o.truth.id: o.truth for o in plan.objects}
    seen: dict[str, list[int]] = {}
    for f in frames:
        assert f.t_unix == pytest.approx(plan.t_start_unix + (f.frame_index + 0.5) / plan.fps)
        for s in f.truth:
            seen.setdefault(s.id, []).append(f.frame_index)
            i = truth[s.id].at(f.frame_index)
            assert (s.x_px, s.y_px) == (truth[s.id].x_px[i], truth[s.id].y_px[i])
    for obj_id, obj in truth.items():
        assert seen.get(obj_id, []) == obj.frame_index[obj.in_field].tolist()
    kinds = {o.kind for o in truth.values()}
    assert {"meteor", "satellite", "aircraft", "insect"} <= kinds


def test_night_is_reproducible_and_truth_needs_no_rendering():
    cfg = NightConfig(seed=5, binning=6, duration_s=20.0, meteor_rate_per_hour=1000.0)
    a, b = night_truth(cfg), night_truth(cfg)
    assert [o.id for o in a] == [o.id for o in b] and len(a) > 2
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.x_px, y.x_px)
    peaks = [o.peak_mag for o in a if o.kind == "meteor"]
    assert all(-2.0 - 1e-9 <= m <= 4.0 + 1e-9 for m in peaks)


def test_streaming_keeps_memory_bounded():
    def peak_bytes(duration_s: float) -> int:
        cfg = NightConfig(
            seed=2,
            binning=8,
            duration_s=duration_s,
            chunk_s=1.0,
            moon=False,
            meteor_rate_per_hour=2000.0,
            satellites_per_hour=0.0,
            aircraft_per_hour=0.0,
        )
        frames = simulate_night(cfg)
        assert inspect.isgenerator(frames)
        tracemalloc.start()
        n = sum(1 for _ in frames)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert n == round(duration_s * 30)
        return peak

    short, long = peak_bytes(3.0), peak_bytes(12.0)
    assert long < 1.5 * short + 2e6  # four times the frames, not four times the memory


def test_bad_configuration_is_refused_clearly():
    with pytest.raises(ValueError, match="start_utc: the Sun"):
        plan_night(NightConfig(start_utc="2026-06-21T04:00:00Z", duration_s=5.0))  # noon in Beijing
    with pytest.raises(ValidationError, match="meteor_peak_mag_range"):
        NightConfig(meteor_peak_mag_range=(4.0, -2.0))
    with pytest.raises(ValidationError, match="profile"):
        NightConfig(profile="no-such-camera")
    with pytest.raises(ValueError, match="meteors.0: a 60-frame meteor"):
        plan_night(NightConfig(duration_s=5.0, meteors=[{"peak_mag": 1.0, "frames": 60, "t_offset_s": 4.0}]))
    with pytest.raises(ValidationError, match="lead_in_s"):
        NightConfig(duration_s=5.0, lead_in_s=10.0)


def test_a_meteor_behind_a_cloud_is_rated_by_the_light_that_reaches_the_camera():
    from edge.sim.night import Sighting, _through_clouds

    transmission = np.ones((20, 30))
    transmission[10, 12] = 0.05  # a thick cloud over one pixel
    behind = _through_clouds(Sighting("meteor", "m1", 12.2, 9.8, 1.0), transmission)
    assert behind.mag_at_camera == pytest.approx(1.0 - 2.5 * math.log10(0.05))  # 3.25 mag fainter
    clear = _through_clouds(Sighting("meteor", "m1", 3.0, 3.0, 1.0), transmission)
    assert clear.mag_at_camera == pytest.approx(1.0)
    assert _through_clouds(Sighting("meteor", "m1", 3.0, 3.0, 1.0), 1.0).mag_at_camera == 1.0
