"""Simulator-planned meteors observed without rendering, shared by the trajectory tests."""

import numpy as np
import pytest

from edge.sim.config import Scenario, default_network
from edge.sim.event import plan_event


@pytest.fixture(scope="session")
def plan_3st():
    """A Geminid over three stations (four cameras each)."""
    return plan_event(Scenario(seed=3, stations=default_network(3, 4), meteor={"shower": "GEM"}))


@pytest.fixture(scope="session")
def plan_2st():
    """A fast Perseid over two stations."""
    return plan_event(Scenario(seed=2, stations=default_network(2, 4), meteor={"shower": "PER"}))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
