"""One small simulated camera (binned 4x) with a meteor in view, shared by the photometry tests."""

import pytest

from edge.sim.config import Scenario, default_network
from edge.sim.event import simulate_event


@pytest.fixture(scope="session")
def photometry_event(tmp_path_factory):
    out = tmp_path_factory.mktemp("photometry_event")
    scenario = Scenario(
        seed=7,
        stations=default_network(1, 1, binning=4),
        margin_s=0.5,
        meteor={"shower": "PER", "peak_abs_mag": 1.0, "offset_km": 150.0},
    )
    truth = simulate_event(scenario, out)
    return out, truth
