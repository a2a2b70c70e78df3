"""Correlation groups the reports of one meteor and leaves strangers single.

Reports come from the simulator (`edge.sim.reports.reports_from_plan`, via the `sim` fixture);
a distractor or a late report is made by moving a report in time while keeping its geometric
lines of sight (RA/Dec recomputed for the new instant, as the station would have measured them).
"""

from datetime import timedelta

import numpy as np
import pytest

from cloud_bridge.correlate.correlate import correlate
from edge.geometry.celestial import altaz_to_icrs, icrs_to_altaz
from edge.geometry.earth import Site
from edge.protocol import ObservationReport, make_observation_id


@pytest.fixture(scope="module")
def events(sim):
    a = sim.plan(3, {"shower": "GEM"}, 3, clock_offsets_s={"st2": 0.15}, frame_jitter_s=0.0005)
    b = sim.plan(3, {"shower": "PER"}, 4, frame_jitter_s=0.0005)
    return a, b


def moved(report: ObservationReport, dt_s: float, camera_id: str, n: int) -> ObservationReport:
    """The report `dt_s` later, as camera `camera_id`: same directions, RA/Dec for the new times."""
    site = Site(report.location.lat_deg, report.location.lon_deg, report.location.height_m)
    t = np.array([f.utc.timestamp() for f in report.frames])
    ra = np.array([f.ra_deg for f in report.frames])
    dec = np.array([f.dec_deg for f in report.frames])
    alt, az = icrs_to_altaz(ra, dec, t, site)
    ra2, dec2 = altaz_to_icrs(alt, az, t + dt_s, site)
    frames = [
        f.model_copy(update={"utc": f.utc + timedelta(seconds=dt_s), "ra_deg": float(r) % 360.0,
                             "dec_deg": float(d)})
        for f, r, d in zip(report.frames, ra2, dec2, strict=True)
    ]  # fmt: skip
    return report.model_copy(
        update={
            "camera_id": camera_id,
            "frames": frames,
            "created_utc": frames[-1].utc,
            "observation_id": make_observation_id(report.station_id, camera_id, frames[0].utc, n),
        }
    )


def renamed(report: ObservationReport, n: int) -> ObservationReport:
    oid = make_observation_id(report.station_id, report.camera_id, report.frames[0].utc, n)
    return report.model_copy(update={"observation_id": oid})


def test_groups_one_meteor_and_leaves_distractors_single(events, sim):
    a, b = events
    reports_a = sim.observe(a, 7, noise_arcmin=1.0).reports
    reports_b = [renamed(r, 1) for r in sim.observe(b, 8, noise_arcmin=1.0).reports]  # another night
    # a distractor at the same instant as meteor A but in another direction: meteor B's lines of sight
    # seen by station 2's fourth camera, moved in time onto A
    stray = next(r for r in reports_b if r.station_id == "st2")
    shift = reports_a[0].frames[0].utc.timestamp() - stray.frames[0].utc.timestamp() + 0.1
    distractor = moved(stray, shift, "cam4", 2)
    # and a lone report of A's meteor from a station far from the others' time: 60 s later
    lonely = moved(next(r for r in reports_a if r.station_id == "st3"), 60.0, "cam3", 3)

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


def test_two_cameras_of_one_station_join_the_event(events, sim):
    a, _ = events
    reports = sim.observe(a, 9, noise_arcmin=0.5).reports
    # the same station's second camera sees the end of the track (split one camera's frames)
    first = reports[0]
    half = len(first.frames) // 2
    part1 = first.model_copy(
        update={"frames": first.frames[:half], "created_utc": first.frames[half - 1].utc}
    )
    later = first.frames[half:]
    part2 = first.model_copy(
        update={
            "camera_id": "cam2",
            "frames": later,
            "observation_id": make_observation_id(first.station_id, "cam2", later[0].utc, 0),
        }
    )
    split = [part1, part2, *reports[1:]]
    groups = correlate(split)
    assert len(groups) == 1 and groups[0].multi_station
    assert len(groups[0].reports) == len(split)


def test_single_station_event_stays_single(events, sim):
    a, _ = events
    reports = [r for r in sim.observe(a, 10, noise_arcmin=1.0).reports if r.station_id == "st1"]
    groups = correlate(reports)
    assert len(groups) == 1 and not groups[0].multi_station and groups[0].station_ids == ["st1"]
    assert groups[0].reason
