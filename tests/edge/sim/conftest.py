"""One small simulated event shared by the simulator tests (two stations, binned sensors)."""

import pytest

from edge.sim.config import Scenario, default_network
from edge.sim.event import simulate_event


@pytest.fixture(scope="session")
def small_event(tmp_path_factory):
    out = tmp_path_factory.mktemp("event")
    scenario = Scenario(
        seed=7,
        stations=default_network(2, 2, binning=4),
        margin_s=0.2,
        meteor={"shower": "PER", "peak_abs_mag": -2.0},
    )
    truth = simulate_event(scenario, out)
    return out, truth
