"""The joint fit of line and motion (cloud_bridge/trajectory/joint.py): its noise and jitter
estimates against known inputs, and the solver's fallback to the two-step solution when the
motion model cannot fit a station's frame times."""

import numpy as np

from cloud_bridge.trajectory.joint import estimate_noise
from cloud_bridge.trajectory.observations import LineOfSightSet
from cloud_bridge.trajectory.solver import solve_trajectory

ARCMIN = np.radians(1 / 60)


def angle_deg(a, b):
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b), -1.0, 1.0))))


def test_noise_and_jitter_are_recovered_from_residuals():
    """Residuals drawn with known per-camera noise and frame-time jitter give them back."""
    rng = np.random.default_rng(3)
    n, sigma_true, jitter_true = 400, np.array([0.8, 1.0, 1.3]) * ARCMIN, 0.002
    obs_index = np.repeat(np.arange(3), n)
    station_of_obs = np.array([0, 1, 1])
    rate = rng.uniform(0.05, 0.3, 3 * n)  # apparent angular speed, rad/s
    cross = rng.normal(0.0, 1.0, 3 * n) * sigma_true[obs_index]
    along = rng.normal(0.0, 1.0, 3 * n) * np.hypot(sigma_true[obs_index], rate * jitter_true)
    sigma, jitter = estimate_noise(cross, along, rate, obs_index, station_of_obs, 10, 1e-9)
    np.testing.assert_allclose(sigma, sigma_true, rtol=0.1)
    assert jitter.shape == (2,)
    np.testing.assert_allclose(jitter, jitter_true, rtol=0.2)
    # no along-track excess: no jitter
    _, jitter0 = estimate_noise(cross, cross[::-1], rate, obs_index, station_of_obs, 10, 1e-9)
    assert np.all(jitter0 < 0.5e-3)


def test_noisy_solution_is_a_joint_fit(plan_3st, sim):
    sol = solve_trajectory(sim.observe(plan_3st, 3, noise_arcmin=1.0).lines(), mc_runs=20)
    assert sol.ok and sol.fit_method == "joint"
    assert set(sol.mc.frame_jitter_s) == {"st1", "st2", "st3"}
    assert all(0.0 <= j < 1e-3 for j in sol.mc.frame_jitter_s.values())  # exact frame times here


def test_clock_running_fast_falls_back_to_two_step(plan_3st, sim):
    """Station 2's clock runs 5 % fast: no clock offset fits its times, the joint fit would bend
    the line to match them; the solver keeps the line-only geometry and says why."""
    obs = sim.observe(plan_3st, 5, noise_arcmin=1.0).lines()
    obs = [LineOfSightSet(**{**o.__dict__, "t_s": o.t_s * 1.05}) if o.station_id == "st2" else o for o in obs]
    sol = solve_trajectory(obs, mc_runs=10)
    assert sol.ok, sol.failure_reason
    assert sol.fit_method.startswith("two-step") and "chi-square" in sol.fit_method
    assert angle_deg(sol.direction_ecef, plan_3st.meteor.direction_ecef) < 0.2
    assert sol.mc is not None and sol.mc.v_init_ms.shape == (10,)
