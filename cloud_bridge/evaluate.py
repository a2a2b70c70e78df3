"""Accuracy of the whole bridge pipeline on simulated events (for tests and `skytrail eval trajectory`).

Each event is planned by the simulator (`edge.sim.event.plan_event`: a meteor of one of the showers
PER, GEM, ORI, LEO, QUA, DRA, or a sporadic one with v_g 11 to 72 km/s, over a network of 2, 3 or
4 stations of four cameras, `edge.sim.config.default_network`), with a random clock offset of up to
+-0.2 s on every station but the first and the scenario's frame-time jitter. The stations' reports
come from `edge.sim.reports.reports_from_plan` (the renderer's geometry, refraction and clocks;
Gaussian position noise of `noise_arcmin` per axis on the sky). They go through the real pipeline,
`cloud_bridge.solve.solve_reports` (correlation, trajectory with Monte Carlo, orbit, shower), and
the result is compared with the simulator's truth:

- radiant error: the angle between the solved and the true direction of motion (deg);
- v_init error: the solved initial speed against the true pre-deceleration speed v0 (%), which is
  what the solver's v_init estimates (every kinematic model's v0; kinematics.py); the error against
  the true speed at the solution's first instant is given too (it differs by the lag's deceleration
  there, 0.01 to 0.25 % in these events);
- v_g error against the geocentric speed the scenario asked for (km/s); geocentric radiant error
  against the scenario's radiant (deg); q error against `compute_orbit` of the true state at the
  solution's begin instant (AU);
- shower match: the associated shower's code equals the simulated one, and sporadic meteors stay
  unassociated;
- Monte Carlo coverage: the fraction of events whose radiant and v_init errors are inside 1 sigma;
- begin/end heights at the observed instants, per-station clock offsets, solve time per event.

Solution times are on the reference station's clock (the first station of the solved
observations); the truth is taken at those times minus that station's simulated clock offset.
"""

from __future__ import annotations

import math

import numpy as np

from cloud_bridge.correlate.correlate import correlate
from cloud_bridge.orbit import compute_orbit
from cloud_bridge.solve import EventSolution, solve_reports
from edge.geometry.earth import ecef_to_geodetic
from edge.sim.config import Scenario, default_network
from edge.sim.event import EventPlan, plan_event
from edge.sim.reports import reports_from_plan

SHOWERS = ("PER", "GEM", "ORI", "LEO", "QUA", "DRA", "SPO")
SPORADIC_V_G_KMS = (11.0, 72.0)
MAX_CLOCK_OFFSET_S = 0.2
DEFAULT_FRAME_JITTER_S = 0.0005  # the simulator's default (StationConfig.frame_jitter_s)


def plan_mixed_event(
    index: int, seed: int, *, frame_jitter_s: float = DEFAULT_FRAME_JITTER_S
) -> tuple[EventPlan, dict[str, float]]:
    """The index-th event of the mixed set for `seed`: (plan, true clock offset per station, s).

    Stations cycle through 2, 3, 4 and the meteor through the showers and sporadic; clock offsets
    are uniform in +-0.2 s on every station but the first; frame_jitter_s: RMS frame-time error.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    n_stations = 2 + index % 3
    shower = SHOWERS[index % len(SHOWERS)]
    meteor: dict = {"shower": shower}
    if shower == "SPO":
        meteor = {"shower": None, "v_g_kms": float(rng.uniform(*SPORADIC_V_G_KMS))}
    stations = [
        s.model_copy(
            update={
                "clock_offset_s": 0.0
                if i == 0
                else float(rng.uniform(-MAX_CLOCK_OFFSET_S, MAX_CLOCK_OFFSET_S)),
                "frame_jitter_s": float(frame_jitter_s),
            }
        )
        for i, s in enumerate(default_network(n_stations, 4))
    ]
    plan = plan_event(Scenario(seed=seed * 1000 + index, stations=stations, meteor=meteor))
    return plan, {s.station_id: s.clock_offset_s for s in stations}


def _single_notes(reports: list) -> set[str]:
    """Why the correlator left reports single (its notes), for the failure record."""
    return {n for g in correlate(reports) if not g.multi_station for n in g.reason}


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b)), np.dot(a, b))))


def _radec_angle_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    def unit(ra: float, dec: float) -> np.ndarray:
        r, d = math.radians(ra), math.radians(dec)
        return np.array([math.cos(d) * math.cos(r), math.cos(d) * math.sin(r), math.sin(d)])

    return _angle_deg(unit(ra1, dec1), unit(ra2, dec2))


def compare_with_truth(plan: EventPlan, offsets_s: dict[str, float], solution: EventSolution) -> dict:
    """Errors of one solved event against the plan's truth (see the module docstring)."""
    traj, m = solution.trajectory, plan.meteor
    ref = next(f.station_id for f in traj.observations if f.used)
    t_b = traj.begin["t_unix"] - offsets_s[ref]  # true UTC of the solution's first instant
    t_e = traj.end["t_unix"] - offsets_s[ref]
    radiant_err = _angle_deg(traj.direction_ecef, m.direction_ecef)
    dv_ms = traj.v_init_ms - m.v_init_ms
    v_begin = float(m.speed_ms(t_b - m.t_begin_unix))
    true_orbit = compute_orbit(m.position_ecef(t_b), m.direction_ecef * m.v_init_ms, t_b)
    orbit = solution.orbit
    mc = traj.mc
    shower = solution.shower.code if solution.shower is not None else None
    return {
        "stations": len(solution.station_ids),
        "shower_true": plan.radiant.shower,
        "shower_found": shower,
        "radiant_error_deg": radiant_err,
        "v_init_error_pct": dv_ms / m.v_init_ms * 100.0,
        "v_begin_error_pct": (traj.v_init_ms - v_begin) / v_begin * 100.0,
        "v_g_error_kms": float(orbit.v_g_kms) - plan.radiant.v_g_kms,
        "radiant_g_error_deg": _radec_angle_deg(
            float(orbit.ra_g_deg), float(orbit.dec_g_deg), plan.radiant.ra_g_deg, plan.radiant.dec_g_deg
        ),
        "orbit_q_error_au": float(orbit.q_au) - float(true_orbit.q_au),
        "begin_height_error_m": traj.begin["height_m"] - float(ecef_to_geodetic(m.position_ecef(t_b))[2]),
        "end_height_error_m": traj.end["height_m"] - float(ecef_to_geodetic(m.position_ecef(t_e))[2]),
        "timing_offset_error_s": max(
            abs(dt - (offsets_s[sid] - offsets_s[ref])) for sid, dt in traj.timing_offsets_s.items()
        ),
        "residual_rms_arcmin": traj.residual_rms_arcmin,
        "radiant_in_1sigma": bool(mc is not None and radiant_err < mc.sigma_radiant_deg),
        "v_init_in_1sigma": bool(mc is not None and abs(dv_ms) < mc.sigma_v_init_ms),
        "shower_match": shower == plan.radiant.shower,
        "model": traj.deceleration.get("model"),
        "solve_s": solution.solve_s,
    }


def evaluate_pipeline(
    n_events: int = 20,
    seed: int = 1,
    *,
    noise_arcmin: float = 1.0,
    mc_runs: int = 50,
    frame_jitter_s: float = DEFAULT_FRAME_JITTER_S,
) -> dict:
    """Simulate `n_events` mixed events, solve their reports with the bridge, and summarise the
    errors: medians of absolute errors, Monte Carlo coverage, shower match, solve time, and the
    failures with their reasons (an event is a failure when planning fails, when correlation does
    not give exactly one multi-station event, or when the solution fails).

    noise_arcmin: position noise per axis on the sky (arcmin); mc_runs: Monte Carlo runs per event
    (0 for none); frame_jitter_s: RMS frame-time error of every station (s).
    """
    rows: list[dict] = []
    failures: list[dict] = []
    for i in range(n_events):
        try:
            plan, offsets = plan_mixed_event(i, seed, frame_jitter_s=frame_jitter_s)
        except ValueError as exc:
            failures.append({"event": i, "reason": f"plan: {exc}"})
            continue
        reports = reports_from_plan(
            plan,
            fps_phase_rng=np.random.default_rng([seed, i, 1]),
            rng=np.random.default_rng([seed, i, 2]),
            noise_arcmin=noise_arcmin,
        )
        what = f"{plan.radiant.shower or 'sporadic'}, {len(plan.scenario.stations)} stations"
        solutions = solve_reports(reports, mc_runs=mc_runs, rng=np.random.default_rng([seed, i, 3]))
        seen = sorted({r.station_id for r in reports})
        if len(seen) < 2:
            failures.append(
                {"event": i, "what": what, "reason": f"seen by {len(seen)} station(s) only {seen}"}
            )
            continue
        if len(solutions) != 1:
            notes = sorted(_single_notes(reports))
            failures.append({"event": i, "what": what,
                             "reason": f"correlation gave {len(solutions)} multi-station events from "
                                       f"{len(reports)} reports of stations {seen}",
                             "correlation_notes": notes})  # fmt: skip
            continue
        solution = solutions[0]
        if not solution.ok:
            failures.append({"event": i, "what": what, "reason": solution.failure_reason})
            continue
        rows.append({"event": i, **compare_with_truth(plan, offsets, solution)})

    out: dict = {
        "events": n_events,
        "solved": len(rows),
        "noise_arcmin_per_axis": noise_arcmin,
        "frame_jitter_s": frame_jitter_s,
        "mc_runs": mc_runs,
    }
    if not rows:
        return {**out, "failures": failures}

    def med(key: str) -> float:
        return float(np.median(np.abs([r[key] for r in rows])))

    def frac(key: str, sel: list[dict] | None = None) -> float | None:
        sel = rows if sel is None else sel
        return float(np.mean([r[key] for r in sel])) if sel else None

    spo = [r for r in rows if r["shower_true"] is None]
    listed = [r for r in rows if r["shower_true"] is not None]
    return {
        **out,
        "radiant_error_median_deg": med("radiant_error_deg"),
        "v_init_error_median_pct": med("v_init_error_pct"),
        "v_begin_error_median_pct": med("v_begin_error_pct"),
        "v_g_error_median_kms": med("v_g_error_kms"),
        "radiant_g_error_median_deg": med("radiant_g_error_deg"),
        "orbit_q_error_median_au": med("orbit_q_error_au"),
        "begin_height_error_median_m": med("begin_height_error_m"),
        "end_height_error_median_m": med("end_height_error_m"),
        "timing_offset_error_median_s": med("timing_offset_error_s"),
        "residual_rms_median_arcmin": med("residual_rms_arcmin"),
        "radiant_within_1sigma_fraction": frac("radiant_in_1sigma") if mc_runs > 1 else None,
        "v_init_within_1sigma_fraction": frac("v_init_in_1sigma") if mc_runs > 1 else None,
        "shower_match_fraction": frac("shower_match"),
        "listed_shower_match_fraction": frac("shower_match", listed),
        "sporadic_unassociated_fraction": frac("shower_match", spo),
        "models": {k: sum(r["model"] == k for r in rows) for k in ("constant", "linear", "exponential")},
        "solve_s_median": float(np.median([r["solve_s"] for r in rows])),
        "failures": failures,
        "per_event": rows,
    }
