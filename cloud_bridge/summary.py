"""Solved events as plain JSON-ready dicts: what `bridge solve` prints and the API will serve."""

from __future__ import annotations

from cloud_bridge.solve import EventSolution
from edge.jsonsafe import to_json_safe


def solution_to_dict(solution: EventSolution) -> dict:
    """The event's result with its uncertainties; the Monte Carlo runs themselves are left out."""
    out: dict = {
        "ok": solution.ok,
        "failure_reason": solution.failure_reason,
        "observation_ids": solution.observation_ids,
        "station_ids": solution.station_ids,
        "solve_s": round(solution.solve_s, 4),
    }
    t = solution.trajectory
    if t is not None and t.ok:
        mc = t.mc
        out["trajectory"] = {
            "begin": t.begin,
            "end": t.end,
            "v_init_kms": t.v_init_ms / 1e3,
            "v_avg_kms": t.v_avg_ms / 1e3,
            "deceleration": t.deceleration,
            "timing_offsets_s": t.timing_offsets_s,
            "residual_rms_arcmin": t.residual_rms_arcmin,
            "convergence_angle_deg": t.convergence_angle_deg,
            "observations": t.observations,
            "sigma": None if mc is None else {
                "mc_runs": mc.n_runs,
                "radiant_deg": mc.sigma_radiant_deg,
                "v_init_kms": mc.sigma_v_init_ms / 1e3,
                "begin_height_m": mc.sigma_begin_height_m,
                "end_height_m": mc.sigma_end_height_m,
            },
        }
    if solution.orbit is not None:
        out["orbit"] = solution.orbit.to_dict()
        out["orbit_sigma"] = solution.orbit_sigma
    out["shower"] = None if solution.shower is None else solution.shower
    return to_json_safe(out)
