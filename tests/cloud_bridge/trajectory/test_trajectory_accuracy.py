"""Trajectory accuracy over a mixed set of simulated events (2-4 stations, 11-72 km/s, 1 arcmin noise,
clock offsets), through the bridge's pipeline (`cloud_bridge.evaluate.evaluate_pipeline`): the
trajectory's own figures (direction, speed, heights, clock offsets, Monte Carlo coverage)."""

import json

from cloud_bridge.evaluate import evaluate_pipeline


def test_accuracy_on_simulated_events():
    r = evaluate_pipeline(20, seed=1, noise_arcmin=1.0, mc_runs=50, frame_jitter_s=0.0)
    rows = r.pop("per_event")
    print("\n" + json.dumps(r, indent=1))  # the measured figures (pytest -s)
    assert r["solved"] >= 18, r["failures"]
    # measured (joint fit): 0.049 deg, 0.27 %, coverage 0.68 / 0.74; the two-step fit had 0.06, 0.43 %
    assert r["radiant_error_median_deg"] < 0.07
    assert r["v_init_error_median_pct"] < 0.4
    # no bias of the initial speed (two-step fit: +0.45 % mean signed error on this set)
    mean_dv = sum(row["v_init_error_pct"] for row in rows) / len(rows)
    assert abs(mean_dv) < 0.25, mean_dv
    assert r["timing_offset_error_median_s"] < 0.005
    assert r["begin_height_error_median_m"] < 300 and r["end_height_error_median_m"] < 300
    assert 0.5 <= r["radiant_within_1sigma_fraction"] <= 0.9
    assert 0.5 <= r["v_init_within_1sigma_fraction"] <= 0.9


def test_noise_free_events_are_exact():
    r = evaluate_pipeline(8, seed=2, noise_arcmin=0.0, mc_runs=0, frame_jitter_s=0.0)
    assert r["solved"] >= 7, r["failures"]
    assert r["radiant_error_median_deg"] < 1e-4
    assert r["v_init_error_median_pct"] < 0.01
    assert r["timing_offset_error_median_s"] < 1e-5
