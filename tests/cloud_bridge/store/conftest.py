"""Fixtures of the store tests: a fresh database on SQLite and on a throwaway PostgreSQL server
(`cloud_bridge.store.pgtemp`, Debian package `postgresql`), and simulated reports of one meteor
seen from three stations (`edge.sim`)."""

from __future__ import annotations

import numpy as np
import pytest

from edge.sim.config import Scenario, default_network
from edge.sim.event import plan_event
from edge.sim.reports import reports_from_plan


@pytest.fixture(scope="session")
def meteor_reports():
    """(plan, reports) of one Perseid seen by three stations, 1 arcmin measurement noise."""
    plan = plan_event(Scenario(seed=7, stations=default_network(3, 4), meteor={"shower": "PER"}))
    reports = reports_from_plan(plan, fps_phase_rng=np.random.default_rng(1), noise_arcmin=1.0)
    assert len({r.station_id for r in reports}) == 3
    return plan, reports
