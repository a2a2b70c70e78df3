"""Simulator-planned meteors observed without rendering, shared by the trajectory tests."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def plan_3st(sim):
    """A Geminid over three stations (four cameras each); station 2's clock is 0.1 s fast."""
    return sim.plan(3, {"shower": "GEM"}, 3, clock_offsets_s={"st2": 0.1})


@pytest.fixture(scope="session")
def plan_2st(sim):
    """A fast Perseid over two stations, exact clocks."""
    return sim.plan(2, {"shower": "PER"}, 2)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
