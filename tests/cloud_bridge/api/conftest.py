"""A bridge store filled through the real Ingestor, shared by the API tests: one Perseid seen by
three stations (solved, with its orbit), one Geminid seen by one station only (failed), and one
message refused (a station publishing under another's topic); and a TestClient factory over it."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pytest
from fastapi.testclient import TestClient

from cloud_bridge.api import ApiSettings, TokenSpec, create_app
from cloud_bridge.ingest.ingestor import Ingestor
from cloud_bridge.store import Store
from edge.protocol import encode_message, obs_topic
from edge.sim.config import Scenario, default_network
from edge.sim.event import plan_event
from edge.sim.reports import reports_from_plan

ADMIN, OWNER, PUBLIC = "admin-secret-token", "owner-secret-token", "public-secret-token"
RECEIVED = datetime(2026, 12, 14, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="package")
def filled(tmp_path_factory) -> SimpleNamespace:
    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'bridge.db'}"
    store = Store(url)
    ingestor = Ingestor(store, settle_s=0.0, mc_runs=5)
    per = plan_event(Scenario(seed=7, stations=default_network(3, 4), meteor={"shower": "PER"}))
    gem = plan_event(Scenario(seed=8, stations=default_network(3, 4), meteor={"shower": "GEM"}))
    per_reports = reports_from_plan(per, fps_phase_rng=np.random.default_rng(1), noise_arcmin=1.0)
    gem_reports = reports_from_plan(gem, fps_phase_rng=np.random.default_rng(2), noise_arcmin=1.0)
    lone = [r for r in gem_reports if r.station_id == gem_reports[0].station_id]
    for r in [*per_reports, *lone]:
        assert ingestor.handle(obs_topic(r.station_id), encode_message(r), RECEIVED).outcome == "stored"
    intruder = per_reports[0]
    victim = next(r.station_id for r in per_reports if r.station_id != intruder.station_id)
    assert ingestor.handle(obs_topic(victim), encode_message(intruder), RECEIVED).outcome == "rejected"
    assert len(ingestor.solve_due(RECEIVED)) == 2
    stations = sorted({r.station_id for r in per_reports})
    yield SimpleNamespace(
        store=store,
        per=per,
        per_reports=per_reports,
        lone=lone,
        stations=stations,
        owned=victim,
        other=next(s for s in stations if s != victim),
    )
    store.close()


@pytest.fixture(scope="package")
def settings(filled) -> ApiSettings:
    return ApiSettings(
        allow_anonymous=True,
        max_limit=50,
        default_limit=20,
        tokens=[
            TokenSpec.from_plain("ops", "admin", ADMIN),
            TokenSpec.from_plain("club", "owner", OWNER, [filled.owned]),
            TokenSpec.from_plain("reader", "public", PUBLIC),
        ],
    )


@pytest.fixture(scope="package")
def client(filled, settings) -> TestClient:
    return TestClient(create_app(filled.store, settings), raise_server_exceptions=False)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="package")
def tok() -> SimpleNamespace:
    """The tests' plain tokens (`admin`, `owner`, `public`) and `auth(token)`, their header."""
    return SimpleNamespace(admin=ADMIN, owner=OWNER, public=PUBLIC, auth=bearer)
