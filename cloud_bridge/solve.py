"""From observation reports to solved events: correlate, triangulate, compute the orbit, name
the shower. Pure functions over the wire contract's models; the service (ingest, storage)
calls `solve_reports` and stores what it returns.

Every multi-station group gives an `EventSolution`, solved or not: a failure carries its
reason and never raises, so one bad report cannot stop the bridge.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from cloud_bridge.correlate.correlate import EventGroup, correlate
from cloud_bridge.orbit import Orbit, compute_orbit, orbit_uncertainty
from cloud_bridge.showers import ShowerMatch, associate
from cloud_bridge.trajectory.observations import lines_of_sight_from_report
from cloud_bridge.trajectory.solver import TrajectorySolution, solve_trajectory
from edge.protocol import ObservationReport

log = logging.getLogger(__name__)


@dataclass
class EventSolution:
    observation_ids: list[str]
    station_ids: list[str]
    ok: bool
    failure_reason: str | None = None
    trajectory: TrajectorySolution | None = None
    orbit: Orbit | None = None
    orbit_sigma: dict[str, float] = field(default_factory=dict)
    shower: ShowerMatch | None = None
    solve_s: float = 0.0


def earliest_unix(reports: list[ObservationReport]) -> float:
    return min(r.frames[0].utc.timestamp() for r in reports)


def solve_group(
    group: EventGroup,
    *,
    mc_runs: int = 50,
    max_timing_offset_s: float = 0.5,
    rng: np.random.Generator | None = None,
) -> EventSolution:
    """Triangulate one correlated group and compute its orbit and shower."""
    started = time.perf_counter()
    ids = [r.observation_id for r in group.reports]
    solution = EventSolution(observation_ids=ids, station_ids=sorted(group.station_ids), ok=False)
    try:
        t_ref = earliest_unix(group.reports)
        lines = [lines_of_sight_from_report(r, t_ref) for r in group.reports]
    except ValueError as exc:
        solution.failure_reason = f"unusable report: {exc}"
        return solution
    trajectory = solve_trajectory(lines, mc_runs=mc_runs, max_timing_offset_s=max_timing_offset_s, rng=rng)
    solution.trajectory = trajectory
    if not trajectory.ok:
        solution.failure_reason = trajectory.failure_reason
        solution.solve_s = time.perf_counter() - started
        return solution
    try:
        solution.orbit = compute_orbit(*trajectory.state_for_orbit())
        if trajectory.mc is not None:
            solution.orbit_sigma = orbit_uncertainty(compute_orbit(*trajectory.mc_states()))
    except ValueError as exc:
        solution.failure_reason = f"orbit: {exc}"
        solution.solve_s = time.perf_counter() - started
        return solution
    o = solution.orbit
    solution.shower = associate(o.ra_g_deg, o.dec_g_deg, o.v_g_kms, o.solar_longitude_deg)
    solution.ok = True
    solution.solve_s = time.perf_counter() - started
    log.info(
        "event=solved observations=%s stations=%s v_init_kms=%.2f shower=%s seconds=%.3f",
        ",".join(ids), ",".join(solution.station_ids), trajectory.v_init_ms / 1e3,
        solution.shower.code if solution.shower else "sporadic", solution.solve_s,
    )
    return solution


def solve_reports(
    reports: list[ObservationReport],
    *,
    mc_runs: int = 50,
    max_timing_offset_s: float = 0.5,
    rng: np.random.Generator | None = None,
) -> list[EventSolution]:
    """Correlate the reports into events and solve each multi-station one. Clock offsets between
    stations are estimated within +-max_timing_offset_s (GPS-timed stations need far less; NTP-
    timed ones sometimes more); a solution that needs more fails with that reason."""
    return [
        solve_group(g, mc_runs=mc_runs, max_timing_offset_s=max_timing_offset_s, rng=rng)
        for g in correlate(
            reports, max_time_gap_s=max(2.0, 2 * max_timing_offset_s), max_clock_offset_s=max_timing_offset_s
        )
        if g.multi_station
    ]
