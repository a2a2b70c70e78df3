"""Simulated events observed without rendering (edge.sim.reports), shared by the bridge's tests.

`sim.plan(n_stations, meteor, seed, clock_offsets_s=..., frame_jitter_s=0.0)` plans an event over
`default_network(n_stations, 4)` with the given station clocks (exact frame times by default);
`sim.observe(plan, seed, noise_arcmin=0.0)` gives its reports (`reports_from_plan`), their lines of
sight, and the true mid-exposure time of every reported frame (from `plan_tracks`, same draws).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest

from cloud_bridge.store.pgtemp import PostgresUnavailable, TempPostgres
from cloud_bridge.trajectory.observations import LineOfSightSet, lines_of_sight_from_report
from edge.protocol import ObservationReport
from edge.sim.config import Scenario, default_network
from edge.sim.event import EventPlan, plan_event
from edge.sim.reports import plan_tracks, reports_from_plan


def plan_with_clocks(
    n_stations: int,
    meteor: dict,
    seed: int,
    *,
    clock_offsets_s: dict[str, float] | None = None,
    frame_jitter_s: float = 0.0,
) -> EventPlan:
    offsets = clock_offsets_s or {}
    stations = [
        s.model_copy(
            update={"clock_offset_s": offsets.get(s.station_id, 0.0), "frame_jitter_s": frame_jitter_s}
        )
        for s in default_network(n_stations, 4)
    ]
    return plan_event(Scenario(seed=seed, stations=stations, meteor=meteor))


@dataclass
class Observed:
    plan: EventPlan
    reports: list[ObservationReport]
    t_true_unix: list[np.ndarray]  # per report, per frame: true mid-exposure time (POSIX s)
    t_ref_unix: float

    def lines(self) -> list[LineOfSightSet]:
        return [lines_of_sight_from_report(r, self.t_ref_unix) for r in self.reports]


def observe(plan: EventPlan, seed: int, noise_arcmin: float = 0.0) -> Observed:
    reports = reports_from_plan(
        plan,
        fps_phase_rng=np.random.default_rng([seed, 0]),
        rng=np.random.default_rng([seed, 1]),
        noise_arcmin=noise_arcmin,
        mag_sigma=0.0 if noise_arcmin == 0 else 0.05,
    )
    truth = {
        (cam.station_id, cam.camera_id): dict(zip(track.frame_index.tolist(), track.t_true_unix, strict=True))
        for cam, track in plan_tracks(plan, fps_phase_rng=np.random.default_rng([seed, 0]))
    }
    t_true = [
        np.array([truth[(r.station_id, r.camera_id)][f.frame_index] for f in r.frames]) for r in reports
    ]
    return Observed(plan, reports, t_true, float(np.floor(plan.meteor.t_begin_unix)))


@pytest.fixture(scope="session")
def sim() -> SimpleNamespace:
    return SimpleNamespace(plan=plan_with_clocks, observe=observe)


_names = itertools.count()


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL server for the whole run (Debian package `postgresql`)."""
    try:
        server = TempPostgres().start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """An empty database: a SQLite file, or a new database on the throwaway PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bridge.db'}"
    return request.getfixturevalue("postgres_server").create_database(f"db_{next(_names)}")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'bridge.db'}"
