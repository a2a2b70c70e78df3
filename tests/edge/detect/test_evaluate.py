"""Scoring detector events against simulated truth, with hand-made events (no detector needed)."""

from types import SimpleNamespace

import numpy as np
import pytest

from edge.detect.evaluate import EventTrack, NightResult, match_events, summarise
from edge.sim.night import NightConfig, TruthObject


def straight(obj_id, kind, frames, x0, y0, vx, vy, mag=1.0, seg=True):
    """A truth object moving (vx, vy) px per frame from (x0, y0); its smear spans the frame."""
    f = np.arange(frames[0], frames[1] + 1)
    t = f - f[0]
    x, y = x0 + vx * t, y0 + vy * t
    nan = np.full(len(f), np.nan)
    return TruthObject(
        id=obj_id,
        kind=kind,
        frame_index=f,
        x_px=x,
        y_px=y,
        mag=np.full(len(f), mag),
        in_field=np.ones(len(f), bool),
        seg_x0_px=x - vx / 2 if seg else nan,
        seg_y0_px=y - vy / 2 if seg else nan,
        seg_x1_px=x + vx / 2 if seg else nan,
        seg_y1_px=y + vy / 2 if seg else nan,
        info={"sigma_px": 8.0},
    )


def event(frames, x, y, speed=5.0, kind="fast"):
    f = np.asarray(frames)
    return SimpleNamespace(
        frame_index=f,
        x_px=np.asarray(x, float),
        y_px=np.asarray(y, float),
        speed_px_per_frame=speed,
        kind=kind,
    )


@pytest.fixture()
def truth():
    return [
        straight("meteor-0", "meteor", (100, 119), 50.0, 60.0, 6.0, 2.0, mag=1.2),  # bright, 20 frames
        straight("meteor-1", "meteor", (300, 303), 200.0, 100.0, -5.0, 5.0, mag=3.6),  # faint, 4 frames
        straight("satellite-0", "satellite", (0, 900), 10.0, 200.0, 0.2, 0.0, mag=4.0),
        straight("aircraft-0", "aircraft", (400, 700), 300.0, 20.0, 0.0, 0.3, mag=3.0, seg=False),
        straight("insect-0", "insect", (500, 505), 100.0, 100.0, 40.0, 0.0, seg=False),
    ]


def test_a_meteor_split_in_two_counts_once_and_neither_part_is_false(truth):
    m = truth[0]
    first = event(m.frame_index[:8], m.x_px[:8] + 1.0, m.y_px[:8] - 0.5)
    # the second part's centroids lie along the smear (ahead of the mid-exposure point), still on the track
    second = event(m.frame_index[11:], m.x_px[11:] + 2.5, m.y_px[11:] + 0.8)
    score = match_events([first, second], truth)
    assert score.detected_meteor_ids == {"meteor-0"}
    assert score.n_meteor_events == 2 and score.false_events == []
    assert score.recall(lambda mm: mm.id == "meteor-0") == (1.0, 1)
    assert score.recall_bright_long() == 1.0  # meteor-0 is the only one <= +2 and >= 5 frames
    rec = score.recall_by_peak_mag()
    assert rec["1"] == 1.0 and rec["4"] == 0.0 and np.isnan(rec["-2"])


def test_events_on_satellites_and_aircraft_are_theirs_not_false(truth):
    s, a = truth[2], truth[3]
    on_sat = event(s.frame_index[200:500], s.x_px[200:500] + 0.7, s.y_px[200:500], speed=0.2, kind="slow")
    on_sat_again = event(
        s.frame_index[600:700], s.x_px[600:700], s.y_px[600:700] - 1.0, speed=0.2, kind="slow"
    )
    on_aircraft = event(a.frame_index[:90], a.x_px[:90] + 2.0, a.y_px[:90] + 2.0, speed=0.3, kind="slow")
    score = match_events([on_sat, on_sat_again, on_aircraft], truth)
    assert score.satellite_ids_reported == {"satellite-0"} and score.n_satellite_events == 2
    assert score.aircraft_ids_reported == {"aircraft-0"} and score.n_aircraft_events == 1
    assert score.false_events == [] and score.detected_meteor_ids == set()
    assert score.satellites_simulated == 1 and score.aircraft_simulated == 1


def test_false_events_are_counted_with_their_likely_cause(truth):
    m = truth[0]
    nowhere = event([1000, 1001, 1002], [400.0, 405.0, 410.0], [300.0, 300.0, 300.0])
    off_track = event(m.frame_index[:6], m.x_px[:6] + 15.0, m.y_px[:6])  # same time, 15 px away
    hot = event([50, 51, 52, 53], [77.0, 77.2, 76.9, 77.1], [33.0, 33.0, 33.1, 32.9], speed=0.1)
    insect = event([501, 502, 503], truth[4].x_px[1:4] + 5.0, truth[4].y_px[1:4])
    score = match_events([nowhere, off_track, hot, insect], truth, hot_pixels_xy=np.array([[77.0, 33.0]]))
    assert score.detected_meteor_ids == set()
    causes = {fe.index: fe.cause for fe in score.false_events}
    assert causes == {0: "unexplained", 1: "near_meteor", 2: "hot_pixel", 3: "insect"}
    assert score.false_events[0].first_frame == 1000 and score.false_events[0].n_frames == 3


def test_a_meteor_matched_in_too_few_frames_is_not_detected(truth):
    m = truth[0]
    # two of six shared frames on the track, four far off: under half, so no match
    x = m.x_px[:6] + np.array([0.0, 0.0, 30.0, 30.0, 30.0, 30.0])
    score = match_events([event(m.frame_index[:6], x, m.y_px[:6])], truth)
    assert score.detected_meteor_ids == set() and len(score.false_events) == 1


def test_bad_input_is_refused(truth):
    with pytest.raises(ValueError, match="tol_px"):
        match_events([], truth, tol_px=0.0)
    with pytest.raises(ValueError, match="event 0: it has no frames"):
        match_events([event([], [], [])], truth)


def test_summary_has_the_figures_the_cli_prints(truth):
    m = truth[0]
    events = [
        EventTrack(m.frame_index, m.x_px, m.y_px, np.ones(20), 6.3, "fast"),
        EventTrack(
            np.array([5, 6, 7]), np.array([600.0, 601, 602]), np.array([5.0, 5, 5]), np.ones(3), 1.0, "fast"
        ),
    ]
    result = NightResult(
        "test", NightConfig(duration_s=1800.0), events, truth, np.empty((0, 2)), 54000, 1.0, 1.0
    )
    out = summarise([result])
    assert out["hours_simulated"] == 0.5
    assert out["false_events_per_hour"] == 2.0 and out["false_event_causes"] == {"unexplained": 1}
    assert out["recall_by_peak_mag"]["1"] == 1.0 and out["recall_by_peak_mag"]["-2"] is None
    assert out["recall_bright_long"] == 1.0
    for key in (
        "satellites_reported",
        "aircraft_reported",
        "satellites_simulated",
        "aircraft_simulated",
        "meteors_simulated",
        "events_reported",
    ):
        assert key in out
    assert out["meteors_simulated"] == 2 and out["events_reported"] == 2 and out["satellites_reported"] == 0
