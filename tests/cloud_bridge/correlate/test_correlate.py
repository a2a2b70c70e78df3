"""Correlation groups the reports of one meteor and leaves strangers single."""

import numpy as np
import pytest

from cloud_bridge.correlate.correlate import correlate
from cloud_bridge.trajectory.synthetic import synthetic_cameras, to_reports
from edge.sim.config import Scenario, default_network
from edge.sim.event import plan_event


@pytest.fixture(scope="module")
def events():
    a = plan_event(Scenario(seed=3, stations=default_network(3, 4), meteor={"shower": "GEM"}))
    b = plan_event(Scenario(seed=4, stations=default_network(3, 4), meteor={"shower": "PER"}))
    return a, b


def test_groups_one_meteor_and_leaves_distractors_single(events):
    a, b = events
    rng = np.random.default_rng(7)
    cams_a = synthetic_cameras(a, rng, noise_arcmin=1.0, clock_offsets_s={"st2": 0.15})
    cams_b = synthetic_cameras(b, rng, noise_arcmin=1.0)
    reports_a = to_reports(cams_a)
    reports_b = to_reports(cams_b, n=1)  # another meteor on another night
    # a distractor at the same instant as meteor A but in another direction: meteor B's lines of sight
    # seen by station 2's fourth camera, shifted in time onto A
    stray = next(c for c in cams_b if c.station_id == "st2")
    shift = cams_a[0].t_stamp_unix[0] - stray.t_stamp_unix[0] + 0.1
    stray.t_stamp_unix = stray.t_stamp_unix + shift
    stray.camera_id = "cam4"
    distractor = to_reports([stray], n=2)[0]
    # and a lone report of A's meteor from a station far from the others' time: 60 s later
    late = next(c for c in cams_a if c.station_id == "st3")
    late.t_stamp_unix = late.t_stamp_unix + 60.0
    late.camera_id = "cam3"
    lonely = to_reports([late], n=3)[0]

    reports = [distractor, *reports_b[::-1], lonely, *reports_a]
    groups = correlate(reports)
    ids = [sorted(r.observation_id for r in g.reports) for g in groups]
    assert sorted(r.observation_id for r in reports_a) in ids
    assert sorted(r.observation_id for r in reports_b) in ids
    assert [distractor.observation_id] in ids
    assert [lonely.observation_id] in ids
    assert len(groups) == 4
    by_id = {g.reports[0].observation_id: g for g in groups}
    assert not by_id[distractor.observation_id].multi_station
    assert by_id[distractor.observation_id].reason  # says why it stayed single
    assert "another station" in by_id[lonely.observation_id].reason[0]
    multi = [g for g in groups if g.multi_station]
    assert [len(g.station_ids) for g in multi] == [3, 3]
    # deterministic: input order does not matter
    again = correlate(list(reversed(reports)))
    assert [[r.observation_id for r in g.reports] for g in again] == [
        [r.observation_id for r in g.reports] for g in groups
    ]


def test_two_cameras_of_one_station_join_the_event(events):
    a, _ = events
    rng = np.random.default_rng(8)
    cams = synthetic_cameras(a, rng, noise_arcmin=0.5)
    # the same station's second camera sees the end of the track (split one camera's frames)
    first = cams[0]
    half = len(first.t_stamp_unix) // 2
    from dataclasses import replace

    part1 = replace(first, t_true_unix=first.t_true_unix[:half], t_stamp_unix=first.t_stamp_unix[:half],
                    los_ecef=first.los_ecef[:half], x_px=first.x_px[:half], y_px=first.y_px[:half],
                    frame_index=first.frame_index[:half])  # fmt: skip
    part2 = replace(first, camera_id="cam2", t_true_unix=first.t_true_unix[half:],
                    t_stamp_unix=first.t_stamp_unix[half:], los_ecef=first.los_ecef[half:],
                    x_px=first.x_px[half:], y_px=first.y_px[half:],
                    frame_index=first.frame_index[half:])  # fmt: skip
    reports = to_reports([part1, part2, *cams[1:]])
    groups = correlate(reports)
    assert len(groups) == 1 and groups[0].multi_station
    assert len(groups[0].reports) == len(reports)


def test_single_station_event_stays_single(events):
    a, _ = events
    cams = [
        c for c in synthetic_cameras(a, np.random.default_rng(9), noise_arcmin=1.0) if c.station_id == "st1"
    ]
    groups = correlate(to_reports(cams))
    assert len(groups) == 1 and not groups[0].multi_station and groups[0].station_ids == ["st1"]
    assert groups[0].reason
