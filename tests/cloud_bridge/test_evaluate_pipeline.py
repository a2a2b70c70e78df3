"""The whole-pipeline evaluation (`cloud_bridge.evaluate.evaluate_pipeline`): simulated reports through
correlation, trajectory, orbit and shower association, compared with the simulator's truth."""

import json

import pytest

from cloud_bridge.evaluate import evaluate_pipeline

KEYS = {
    "radiant_error_median_deg", "v_init_error_median_pct", "v_g_error_median_kms", "orbit_q_error_median_au",
    "shower_match_fraction", "solve_s_median", "mc_runs", "events", "solved", "noise_arcmin_per_axis",
    "radiant_within_1sigma_fraction", "v_init_within_1sigma_fraction", "failures",
}  # fmt: skip


def test_pipeline_on_noisy_events():
    r = evaluate_pipeline(6, seed=5, noise_arcmin=1.0, mc_runs=20)
    rows = r.pop("per_event")
    print("\n" + json.dumps(r, indent=1))
    assert KEYS <= r.keys()
    assert r["events"] == 6 and r["mc_runs"] == 20 and r["noise_arcmin_per_axis"] == 1.0
    assert r["solved"] >= 5, r["failures"]
    assert r["solved"] + len(r["failures"]) == 6 and all(f["reason"] for f in r["failures"])
    assert len(rows) == r["solved"] and {row["stations"] for row in rows} >= {2, 3, 4}
    # loose bounds (1 arcmin per axis): a few times the figures measured on 20 events
    assert r["radiant_error_median_deg"] < 0.2
    assert r["v_init_error_median_pct"] < 1.0
    assert r["v_g_error_median_kms"] < 0.6
    assert r["orbit_q_error_median_au"] < 0.005
    assert r["shower_match_fraction"] >= 0.8
    assert 0.0 <= r["radiant_within_1sigma_fraction"] <= 1.0
    assert 0.0 < r["solve_s_median"] < 10.0


def test_pipeline_is_exact_without_noise():
    r = evaluate_pipeline(3, seed=5, noise_arcmin=0.0, mc_runs=0, frame_jitter_s=0.0)
    assert r["solved"] == 3, r["failures"]
    assert r["radiant_error_median_deg"] < 1e-6
    assert r["v_init_error_median_pct"] < 1e-5
    # the orbit from the solved state against the scenario's geocentric radiant and speed
    assert r["v_g_error_median_kms"] < 1e-3
    assert r["radiant_g_error_median_deg"] < 1e-3
    assert r["orbit_q_error_median_au"] == pytest.approx(0.0, abs=1e-9)
    assert r["shower_match_fraction"] == 1.0
    assert r["radiant_within_1sigma_fraction"] is None
