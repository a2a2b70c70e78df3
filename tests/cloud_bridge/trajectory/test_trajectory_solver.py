"""The trajectory solver against the simulator's exact geometry, and its failure cases.

Observations are the simulator's reports (`edge.sim.reports.reports_from_plan`, through the
`sim` fixture of tests/cloud_bridge/conftest.py) turned into lines of sight as the bridge does it.
Stations' clock offsets are set in the scenario; frame jitter is 0 so that noise-free means exact.
"""

import numpy as np
import pytest

from cloud_bridge.trajectory.observations import LineOfSightSet, lines_of_sight_from_report
from cloud_bridge.trajectory.solver import solve_trajectory
from edge.geometry.earth import ecef_to_geodetic
from edge.protocol import decode_message, encode_message, obs_topic


def angle_deg(a, b):
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b), -1.0, 1.0))))


@pytest.mark.parametrize(
    ("n_stations", "meteor", "seed"),
    [
        (2, {"shower": "DRA"}, 5),  # ~21 km/s
        (3, {"shower": "QUA"}, 6),
        (4, {"shower": "LEO"}, 7),  # ~71 km/s
        (3, {"shower": "SPO", "v_g_kms": 4.0}, 8),  # ~12 km/s
    ],
)
def test_noise_free_solution_is_exact(n_stations, meteor, seed, sim):
    offsets = {f"st{i + 1}": 0.1 * i for i in range(n_stations)}
    plan = sim.plan(n_stations, meteor, seed, clock_offsets_s=offsets)
    obs = sim.observe(plan, seed).lines()
    sol = solve_trajectory(obs, mc_runs=10)
    m = plan.meteor
    assert sol.ok, sol.failure_reason
    assert angle_deg(sol.direction_ecef, m.direction_ecef) < 1e-4
    assert abs(sol.v_init_ms / m.v_init_ms - 1) < 1e-4  # 0.01 %
    assert sol.deceleration["model"] == "exponential"
    assert sol.deceleration["a2_per_s"] == pytest.approx(m.lag_a2_per_s, rel=1e-4)
    for sid, off in offsets.items():
        assert sol.timing_offsets_s[sid] == pytest.approx(off, abs=1e-5)
    # begin/end: the positions at the first/last observed instants (reference clock = true UTC)
    for key in ("begin", "end"):
        truth = m.position_ecef(sol.__dict__[key]["t_unix"])
        assert np.linalg.norm(sol.__dict__[f"{key}_ecef_m"] - truth) < 1.0
        assert sol.__dict__[key]["height_m"] == pytest.approx(float(ecef_to_geodetic(truth)[2]), abs=1.0)
    assert sol.residual_rms_arcmin < 1e-3
    assert sol.convergence_angle_deg > 1.0
    pos, vel, t = sol.state_for_orbit()
    np.testing.assert_allclose(vel, m.direction_ecef * m.v_init_ms, rtol=1e-5, atol=1.0)
    positions, velocities, t_mc = sol.mc_states()
    assert positions.shape == velocities.shape == (10, 3) and t_mc == t


def test_noisy_solution_with_clock_offset_and_monte_carlo(plan_3st, sim):
    obs = sim.observe(plan_3st, 3, noise_arcmin=1.0).lines()  # station 2's clock is 0.1 s fast
    sol = solve_trajectory(obs, mc_runs=50, rng=np.random.default_rng(1))
    m = plan_3st.meteor
    assert sol.ok, sol.failure_reason
    assert sol.timing_offsets_s["st1"] == 0.0
    assert sol.timing_offsets_s["st2"] == pytest.approx(0.1, abs=0.005)
    assert abs(sol.timing_offsets_s["st3"]) < 0.005
    err = angle_deg(sol.direction_ecef, m.direction_ecef)
    assert err < 4 * sol.mc.sigma_radiant_deg and err < 0.3
    assert abs(sol.v_init_ms - m.v_init_ms) < 4 * sol.mc.sigma_v_init_ms
    assert 0.005 < sol.mc.sigma_radiant_deg < 0.5
    assert sol.mc.begin_ecef_m.shape == (50, 3) and sol.mc.v_init_ms.shape == (50,)
    assert 0.9 < sol.residual_rms_arcmin < 2.0  # 1 arcmin per axis: ~1.41 total
    for o in sol.observations:
        assert o.used and 0.5 < o.sigma_arcmin < 1.6
    truth_h = float(ecef_to_geodetic(m.position_ecef(sol.begin["t_unix"]))[2])
    assert abs(sol.begin["height_m"] - truth_h) < 500.0


def test_reports_to_solution(plan_2st, sim):
    """Through the wire contract: reports (encoded and decoded) -> lines of sight -> solution."""
    reports = [
        decode_message(obs_topic(r.station_id), encode_message(r)) for r in sim.observe(plan_2st, 4).reports
    ]
    t_ref = min(r.frames[0].utc.timestamp() for r in reports)
    sol = solve_trajectory([lines_of_sight_from_report(r, t_ref) for r in reports], mc_runs=0)
    assert sol.ok and sol.mc is None
    assert angle_deg(sol.direction_ecef, plan_2st.meteor.direction_ecef) < 1e-4
    assert abs(sol.v_init_ms / plan_2st.meteor.v_init_ms - 1) < 1e-4


def test_bad_observation_is_dropped_with_reason(plan_3st, sim, rng):
    obs = sim.observe(plan_3st, 5, noise_arcmin=1.0).lines()
    bad = obs[1]
    # a camera ten times noisier than the others (e.g. a failed calibration)
    los = bad.los_ecef + rng.normal(0.0, np.radians(10 / 60), (bad.n_frames, 3))
    obs[1] = LineOfSightSet(**{**bad.__dict__, "los_ecef": los / np.linalg.norm(los, axis=1, keepdims=True)})
    sol = solve_trajectory(obs, mc_runs=0)
    fit = {o.observation_id: o for o in sol.observations}[bad.observation_id]
    assert sol.ok, sol.failure_reason  # two good stations remain
    assert not fit.used and "median" in fit.reason
    assert all(o.used for o in sol.observations if o is not fit)
    assert angle_deg(sol.direction_ecef, plan_3st.meteor.direction_ecef) < 0.3


def with_(o, **changes):
    return LineOfSightSet(**{**o.__dict__, **changes})


def test_failure_cases(plan_2st, sim):
    obs = sim.observe(plan_2st, 6, noise_arcmin=1.0).lines()
    a, b = obs[0], obs[1]
    cases = {
        "one station": ([a], "at least 2 stations"),
        "one frame": ([a, with_(b, t_s=b.t_s[:1], los_ecef=b.los_ecef[:1])], "only 1 frame"),
        "nan": (
            [a, with_(b, los_ecef=np.where(np.arange(b.n_frames)[:, None] == 2, np.nan, b.los_ecef))],
            "non-finite",
        ),
        "no overlap": ([a, with_(b, t_s=b.t_s + 30.0)], "times do not overlap"),
        "parallel": (
            [a, with_(b, los_ecef=a.los_ecef, site_ecef_m=a.site_ecef_m + [1000.0, 0, 0], t_s=a.t_s)],
            "geometry too poor",
        ),
        "wrong hemisphere": ([a, with_(b, site_ecef_m=-b.site_ecef_m)], ""),
        "different epochs": ([a, with_(b, t_ref_unix=b.t_ref_unix + 1)], "t_ref_unix"),
        "empty": ([], "no observations"),
    }
    for name, (case, needle) in cases.items():
        sol = solve_trajectory(case, mc_runs=5)
        assert not sol.ok, name
        assert sol.failure_reason and needle in sol.failure_reason, (name, sol.failure_reason)


def test_implausible_speed_is_refused(plan_2st, sim):
    """Times stretched tenfold: a 4-7 km/s 'meteor' is refused, not reported."""
    obs = [with_(o, t_s=o.t_s * 10.0) for o in sim.observe(plan_2st, 7).lines()]
    sol = solve_trajectory(obs, mc_runs=0, max_timing_offset_s=0.0)
    assert not sol.ok and "speed" in sol.failure_reason
