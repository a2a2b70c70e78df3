"""Fixtures of the ingest tests: a fresh database on SQLite or a throwaway PostgreSQL server
(`cloud_bridge.store.pgtemp`, Debian package `postgresql`), and simulated reports of one Perseid
seen from three stations (`edge.sim`), with the simulation's plan for its true radiant."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge.sim.config import Scenario, default_network
from edge.sim.event import plan_event
from edge.sim.reports import reports_from_plan


@pytest.fixture(scope="session")
def meteor():
    """(plan, reports) of one Perseid seen by three stations, 1 arcmin measurement noise."""
    plan = plan_event(Scenario(seed=7, stations=default_network(3, 4), meteor={"shower": "PER"}))
    reports = reports_from_plan(plan, fps_phase_rng=np.random.default_rng(1), noise_arcmin=1.0)
    assert len({r.station_id for r in reports}) == 3
    return plan, reports


@pytest.fixture(scope="session")
def radiant_error_deg():
    """radiant_error_deg(orbit, plan): the stored orbit's radiant error against the simulation, degrees."""
    return _radiant_error_deg


def _radiant_error_deg(orbit, plan) -> float:
    """Great-circle distance between a stored orbit's geocentric radiant and the simulated one."""

    def unit(ra: float, dec: float) -> np.ndarray:
        r, d = math.radians(ra), math.radians(dec)
        return np.array([math.cos(d) * math.cos(r), math.cos(d) * math.sin(r), math.sin(d)])

    a, b = unit(orbit.ra_g_deg, orbit.dec_g_deg), unit(plan.radiant.ra_g_deg, plan.radiant.dec_g_deg)
    return math.degrees(math.atan2(np.linalg.norm(np.cross(a, b)), float(np.dot(a, b))))
