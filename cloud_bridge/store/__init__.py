"""The bridge's storage: SQLAlchemy models, alembic migrations, and the Store that ingest and the
solver write through (SQLite by default, PostgreSQL by URL)."""

from cloud_bridge.store.migrate import current_revision, upgrade
from cloud_bridge.store.models import (
    Base,
    Event,
    EventStatus,
    Observation,
    Orbit,
    ProductFile,
    RejectedMessage,
    Station,
    Trajectory,
)
from cloud_bridge.store.store import DEFAULT_URL, Claim, ReplayConflict, Store, make_engine, sha256_hex

__all__ = [
    "DEFAULT_URL",
    "Base",
    "Claim",
    "Event",
    "EventStatus",
    "Observation",
    "Orbit",
    "ProductFile",
    "RejectedMessage",
    "ReplayConflict",
    "Station",
    "Store",
    "Trajectory",
    "current_revision",
    "make_engine",
    "sha256_hex",
    "upgrade",
]
