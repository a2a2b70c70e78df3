"""Simulated observation reports against the simulator's ground truth and the wire contract.

The reference is the truth's 3D track (``MeteorTrajectory.position_ecef`` at the true frame
time) seen from the station, compared with the report's RA/Dec converted back the way the
bridge does it (``icrs_to_altaz`` without refraction, at the reported time).
"""

from __future__ import annotations

import numpy as np
import pytest

from edge.geometry.celestial import icrs_to_altaz
from edge.geometry.earth import Site, altaz_to_enu
from edge.protocol import ObservationReport, decode_message, encode_message, obs_topic
from edge.sim.config import Scenario, default_network
from edge.sim.event import plan_event
from edge.sim.meteor import MeteorTrajectory
from edge.sim.reports import plan_tracks, reports_from_plan, reports_from_truth

ARCSEC = 1.0 / 3600.0


def _trajectory(truth) -> MeteorTrajectory:
    traj = {k: (np.array(v) if k in ("begin_ecef_m", "direction_ecef") else v)
            for k, v in truth["meteor"]["trajectory"].items()}  # fmt: skip
    traj["flares"] = []
    return MeteorTrajectory(**traj)


def _angle_deg(a, b):
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1)))


def _report_errors_deg(report: ObservationReport, meteor: MeteorTrajectory, t_true_unix: np.ndarray):
    """Angle between each frame's RA/Dec (back to geometric alt/az at the reported time) and the true
    direction from the station to the meteor at the true time."""
    site = Site(report.location.lat_deg, report.location.lon_deg, report.location.height_m)
    ra = np.array([f.ra_deg for f in report.frames])
    dec = np.array([f.dec_deg for f in report.frames])
    t_rep = np.array([f.utc.timestamp() for f in report.frames])
    alt, az = icrs_to_altaz(ra, dec, t_rep, site, refraction=None)
    seen = altaz_to_enu(alt, az)
    true = site.ecef_to_enu(meteor.position_ecef(t_true_unix))
    return _angle_deg(seen, true / np.linalg.norm(true, axis=-1, keepdims=True))


def _true_times(truth, report):
    cam = next(
        c
        for c in truth["cameras"]
        if (c["station_id"], c["camera_id"]) == (report.station_id, report.camera_id)
    )
    by_index = {f["index"]: f for f in cam["frames"]}
    return np.array([by_index[f.frame_index]["t_true_unix"] for f in report.frames]), [
        by_index[f.frame_index]["t_reported_unix"] for f in report.frames
    ]


def test_zero_noise_reports_point_at_the_true_meteor(small_event):
    _, truth = small_event
    reports = reports_from_truth(truth, noise_arcmin=0.0, mag_sigma=0.0, rng=np.random.default_rng(0))
    assert len({r.station_id for r in reports}) == 2
    meteor = _trajectory(truth)
    for report in reports:
        t_true, t_reported = _true_times(truth, report)
        err = _report_errors_deg(report, meteor, t_true)
        assert np.max(err) < 1.0 * ARCSEC, (report.camera_id, np.max(err) * 3600)
        # the frame times are the station's stamps (microsecond resolution on the wire)
        np.testing.assert_allclose([f.utc.timestamp() for f in report.frames], t_reported, atol=1e-6)
        assert report.refraction_applied and report.camera_model is not None
        assert report.observation_id.startswith(f"{report.station_id}-{report.camera_id}-")
        assert report.created_utc == report.frames[-1].utc
        assert len(report.frames) >= 3
        # apparent alt/az: the geometric altitude lifted by refraction (about 1 arcmin at 45 deg)
        site = Site(report.location.lat_deg, report.location.lon_deg, report.location.height_m)
        alt_g, _az, _r = site.altaz_of(meteor.position_ecef(t_true))
        lift = np.array([f.alt_deg for f in report.frames]) - alt_g
        assert np.all((lift > 0.1 / 60) & (lift < 5.0 / 60))


def test_noise_matches_noise_arcmin(small_event):
    _, truth = small_event
    exact = reports_from_truth(truth, noise_arcmin=0.0, mag_sigma=0.0, rng=np.random.default_rng(0))
    seps, dmag = [], []
    for seed in range(15):
        noisy = reports_from_truth(truth, noise_arcmin=1.0, rng=np.random.default_rng(seed))
        for a, b in zip(exact, noisy, strict=True):
            for fa, fb in zip(a.frames, b.frames, strict=True):
                u = altaz_to_enu(fa.dec_deg, fa.ra_deg)  # unit vectors from (dec, ra) as (alt, az)
                v = altaz_to_enu(fb.dec_deg, fb.ra_deg)
                seps.append(_angle_deg(u, v) * 60.0)
                dmag.append(fb.mag - fa.mag)
                assert fb.position_sigma_arcmin == 1.0
    seps = np.array(seps)
    # 1 arcmin per axis: the separation is Rayleigh-distributed with sigma 1, RMS sqrt(2) arcmin
    assert seps.size > 300
    assert np.sqrt(np.mean(seps**2) / 2.0) == pytest.approx(1.0, rel=0.1)
    assert np.std(dmag) == pytest.approx(0.05, rel=0.15)


def test_reports_pass_the_wire_contract(small_event):
    _, truth = small_event
    for report in reports_from_truth(truth, rng=np.random.default_rng(1)):
        payload = encode_message(report)
        back = decode_message(obs_topic(report.station_id), payload)
        assert back == report


def test_min_frames_and_perfect_clock(small_event):
    _, truth = small_event
    counts = [c["meteor_frames"] for c in truth["cameras"]]
    few = reports_from_truth(truth, rng=np.random.default_rng(2), min_frames=max(counts))
    assert len(few) == sum(1 for n in counts if n >= max(counts))
    perfect = reports_from_truth(truth, rng=np.random.default_rng(2), t_offset_from_truth=False)
    t_true, _ = _true_times(truth, perfect[0])
    np.testing.assert_allclose([f.utc.timestamp() for f in perfect[0].frames], t_true, atol=1e-6)


def test_plan_reports_carry_the_station_clock_offset():
    stations = default_network(2, 2, binning=4)
    stations[0] = stations[0].model_copy(update={"clock_offset_s": 0.25, "frame_jitter_s": 0.0})
    stations[1] = stations[1].model_copy(update={"clock_offset_s": -0.1, "frame_jitter_s": 0.0})
    scenario = Scenario(
        seed=7, stations=stations, margin_s=0.2, meteor={"shower": "PER", "peak_abs_mag": -2.0}
    )
    plan = plan_event(scenario)
    offsets = {s.station_id: s.clock_offset_s for s in stations}
    reports = reports_from_plan(plan, fps_phase_rng=np.random.default_rng(3), noise_arcmin=0.0, mag_sigma=0.0)
    assert {r.station_id for r in reports} == {"st1", "st2"}
    for report in reports:
        t_rep = np.array([f.utc.timestamp() for f in report.frames])
        # the direction matches the track at (stamp - offset) to 1 arcsec, and not at the stamp itself
        err = _report_errors_deg(report, plan.meteor, t_rep - offsets[report.station_id])
        assert np.max(err) < 1.0 * ARCSEC, np.max(err) * 3600
        assert np.min(_report_errors_deg(report, plan.meteor, t_rep)) > 1.0 / 60.0
        assert decode_message(obs_topic(report.station_id), encode_message(report)) == report
    # frames brighter than a limiting magnitude only
    bright = reports_from_plan(plan, fps_phase_rng=np.random.default_rng(3), limiting_mag=-1.0, min_frames=2)
    assert all(f.mag <= -1.0 + 0.5 for r in bright for f in r.frames)


def test_plan_tracks_give_the_true_times_of_the_reported_frames():
    """The reports' stamps are the tracks' true times plus the clock offset, to the microsecond of the
    wire (the simulated clock stamps whole microseconds), and their directions are the true track's."""
    stations = default_network(2, 2, binning=4)
    stations = [s.model_copy(update={"clock_offset_s": off, "frame_jitter_s": 0.0})
                for s, off in zip(stations, (0.0, 0.13), strict=True)]  # fmt: skip
    plan = plan_event(Scenario(seed=7, stations=stations, margin_s=0.2, meteor={"shower": "PER"}))
    tracks = {
        (c.station_id, c.camera_id): t for c, t in plan_tracks(plan, fps_phase_rng=np.random.default_rng(5))
    }
    reports = reports_from_plan(plan, fps_phase_rng=np.random.default_rng(5), noise_arcmin=0.0, mag_sigma=0.0)
    assert reports and all((r.station_id, r.camera_id) in tracks for r in reports)
    offsets = {"st1": 0.0, "st2": 0.13}
    for report in reports:
        track = tracks[(report.station_id, report.camera_id)]
        t_true = dict(zip(track.frame_index.tolist(), track.t_true_unix, strict=True))
        t_true = np.array([t_true[f.frame_index] for f in report.frames])
        t_rep = np.array([f.utc.timestamp() for f in report.frames])
        np.testing.assert_allclose(t_rep - t_true, offsets[report.station_id], atol=1e-6)
        assert np.max(np.abs(np.round(t_rep * 1e6) - t_rep * 1e6)) < 1e-3  # whole microseconds
        err = _report_errors_deg(report, plan.meteor, t_true)
        assert np.max(err) < 0.01 * ARCSEC, np.max(err) * 3600
