"""Fixtures of the store tests: a fresh database on SQLite and on a throwaway PostgreSQL server
(`cloud_bridge.store.pgtemp`, Debian package `postgresql`), and simulated reports of one meteor
seen from three stations (`edge.sim`)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cloud_bridge.store.pgtemp import PostgresUnavailable, TempPostgres
from edge.sim.config import Scenario, default_network
from edge.sim.event import plan_event
from edge.sim.reports import reports_from_plan

_names = itertools.count()


@pytest.fixture(scope="session")
def postgres_server():
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
    server = request.getfixturevalue("postgres_server")
    return server.create_database(f"store_{next(_names)}")


@pytest.fixture(scope="session")
def meteor_reports():
    """(plan, reports) of one Perseid seen by three stations, 1 arcmin measurement noise."""
    plan = plan_event(Scenario(seed=7, stations=default_network(3, 4), meteor={"shower": "PER"}))
    reports = reports_from_plan(plan, fps_phase_rng=np.random.default_rng(1), noise_arcmin=1.0)
    assert len({r.station_id for r in reports}) == 3
    return plan, reports
