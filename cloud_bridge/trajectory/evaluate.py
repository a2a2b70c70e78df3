"""Accuracy of the trajectory solver on simulated events (for tests and `skytrail eval trajectory`).

Each event is planned by the simulator (`edge.sim.event.plan_event`: a shower or sporadic meteor
over a 2- to 4-station network), observed without rendering (synthetic.py: 30 fps, Gaussian
angular noise per axis, clock offsets on every station but the first), solved, and compared with
the simulator's truth: direction of motion, initial speed, begin/end heights at the observed
instants, clock offsets, and whether the truth lies inside the Monte Carlo 1-sigma.
"""

from __future__ import annotations

import time

import numpy as np

from cloud_bridge.trajectory.solver import solve_trajectory
from cloud_bridge.trajectory.synthetic import synthetic_cameras, to_line_of_sight_sets
from edge.geometry.earth import ecef_to_geodetic
from edge.sim.config import Scenario, default_network
from edge.sim.event import plan_event

SHOWERS = ("PER", "GEM", "ORI", "LEO", "QUA", "DRA", "SPO")


def synthetic_event(index: int, seed: int, noise_arcmin: float, max_offset_s: float = 0.2):
    """(plan, cameras, true clock offsets) of the index-th event of a mixed set."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    n_stations = 2 + index % 3
    shower = SHOWERS[index % len(SHOWERS)]
    meteor = {"shower": shower}
    if shower == "SPO":
        meteor["v_g_kms"] = float(rng.uniform(8.0, 70.0))
    scenario = Scenario(seed=seed * 1000 + index, stations=default_network(n_stations, 4), meteor=meteor)
    plan = plan_event(scenario)
    offsets = {s.station_id: (0.0 if i == 0 else float(rng.uniform(-max_offset_s, max_offset_s)))
               for i, s in enumerate(scenario.stations)}  # fmt: skip
    cams = synthetic_cameras(plan, rng, noise_arcmin=noise_arcmin, clock_offsets_s=offsets, jitter_s=0.0)
    return plan, cams, offsets


def evaluate_synthetic(
    n_events: int = 20, seed: int = 1, *, noise_arcmin: float = 1.0, mc_runs: int = 50
) -> dict:
    """Solve `n_events` simulated events; medians of the errors and the Monte Carlo coverage."""
    rows = []
    failures = []
    for i in range(n_events):
        plan, cams, offsets = synthetic_event(i, seed, noise_arcmin)
        m = plan.meteor
        obs = to_line_of_sight_sets(cams, float(np.floor(m.t_begin_unix)))
        t0 = time.perf_counter()
        sol = solve_trajectory(obs, mc_runs=mc_runs, rng=np.random.default_rng(i))
        dt = time.perf_counter() - t0
        if not sol.ok:
            failures.append({"event": i, "reason": sol.failure_reason})
            continue
        ref = obs[0].station_id
        # the solution's times are on the reference station's clock
        t_b_true = sol.begin["t_unix"] - offsets[ref]
        t_e_true = sol.end["t_unix"] - offsets[ref]
        h_b = float(ecef_to_geodetic(m.position_ecef(t_b_true))[2])
        h_e = float(ecef_to_geodetic(m.position_ecef(t_e_true))[2])
        ang = float(np.degrees(np.arccos(np.clip(sol.direction_ecef @ m.direction_ecef, -1, 1))))
        dv = (sol.v_init_ms - m.v_init_ms) / m.v_init_ms * 100.0
        off_err = [abs(sol.timing_offsets_s[s] - (offsets[s] - offsets[ref])) for s in sol.timing_offsets_s]
        mc = sol.mc
        rows.append(
            {
                "radiant_error_deg": ang,
                "v_init_error_pct": dv,
                "begin_height_error_m": sol.begin["height_m"] - h_b,
                "end_height_error_m": sol.end["height_m"] - h_e,
                "timing_offset_error_s": max(off_err),
                "residual_rms_arcmin": sol.residual_rms_arcmin,
                "radiant_in_1sigma": bool(mc and ang < mc.sigma_radiant_deg),
                "v_init_in_1sigma": bool(mc and abs(sol.v_init_ms - m.v_init_ms) < mc.sigma_v_init_ms),
                "model": sol.deceleration.get("model"),
                "solve_s": dt,
            }
        )
    if not rows:
        return {"events": n_events, "solved": 0, "failures": failures}

    def med(key: str, absolute: bool = True) -> float:
        v = np.array([r[key] for r in rows], float)
        return float(np.median(np.abs(v) if absolute else v))

    return {
        "events": n_events,
        "solved": len(rows),
        "noise_arcmin": noise_arcmin,
        "mc_runs": mc_runs,
        "radiant_error_median_deg": med("radiant_error_deg"),
        "v_init_error_median_pct": med("v_init_error_pct"),
        "begin_height_error_median_m": med("begin_height_error_m"),
        "end_height_error_median_m": med("end_height_error_m"),
        "timing_offset_error_median_s": med("timing_offset_error_s"),
        "residual_rms_median_arcmin": med("residual_rms_arcmin"),
        "radiant_within_1sigma_fraction": float(np.mean([r["radiant_in_1sigma"] for r in rows])),
        "v_init_within_1sigma_fraction": float(np.mean([r["v_init_in_1sigma"] for r in rows])),
        "models": {k: sum(r["model"] == k for r in rows) for k in ("constant", "linear", "exponential")},
        "solve_s_median": med("solve_s"),
        "failures": failures,
    }
