"""Speed of the solver: a whole event (correlation, trajectory with Monte Carlo, orbit, shower)
against the same solve without Monte Carlo, timed in the same run on the same reports."""

from __future__ import annotations

import time

import numpy as np

from cloud_bridge.solve import solve_reports
from edge.sim.config import Scenario, default_network
from edge.sim.event import plan_event
from edge.sim.reports import reports_from_plan


def bench_solve(repeats: int = 3, events: int = 8, mc_runs: int = 50) -> dict:
    """Median seconds per event with `mc_runs` Monte Carlo runs and with none (best of `repeats`)."""
    batches = []
    for i in range(events):
        scenario = Scenario(
            seed=100 + i,
            stations=default_network(2 + i % 3, 4),
            meteor={"shower": ("PER", "GEM", "ORI", "LEO")[i % 4]},
        )
        plan = plan_event(scenario)
        batches.append(reports_from_plan(plan, fps_phase_rng=np.random.default_rng(i), noise_arcmin=1.0))

    def per_event(runs: int) -> list[float]:
        best = [np.inf] * len(batches)
        for _ in range(repeats):
            for k, reports in enumerate(batches):
                started = time.perf_counter()
                solve_reports(reports, mc_runs=runs, rng=np.random.default_rng(k))
                best[k] = min(best[k], time.perf_counter() - started)
        return best

    with_mc, without_mc = per_event(mc_runs), per_event(0)
    return {
        "events": events,
        "mc_runs": mc_runs,
        "solve_s_median": round(float(np.median(with_mc)), 4),
        "solve_s_max": round(float(np.max(with_mc)), 4),
        "solve_without_mc_s_median": round(float(np.median(without_mc)), 4),
        "mc_cost_ratio": round(float(np.median(with_mc) / np.median(without_mc)), 2),
    }
