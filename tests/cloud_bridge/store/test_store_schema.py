"""The store's schema: alembic migrations build exactly the models' tables on SQLite and PostgreSQL,
go down and up again, and times come back as aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from cloud_bridge.store import Base, Store, current_revision, upgrade
from cloud_bridge.store.migrate import MIGRATIONS_DIR, alembic_config, downgrade
from cloud_bridge.store.models import Station


def test_migrations_build_the_models_schema(db_url):
    assert current_revision(db_url) is None
    upgrade(db_url)
    head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
    assert current_revision(db_url) == head
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"migrations and models differ: {diff}"
        tables = set(inspect(engine).get_table_names())
        assert {
            "stations",
            "observations",
            "events",
            "trajectories",
            "orbits",
            "rejected_messages",
            "files",
        } <= tables
    finally:
        engine.dispose()
    downgrade(db_url, "base")
    engine = create_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(db_url)  # and back up: the downgrade left nothing behind that blocks it
    assert current_revision(db_url) == head
    assert (MIGRATIONS_DIR / "versions").is_dir()


def test_upgrade_is_idempotent_and_times_are_aware_utc(db_url):
    store = Store(db_url)
    Store(db_url).close()  # a second start migrates nothing and breaks nothing
    seen = datetime(2026, 8, 12, 22, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    with store.transaction() as s:
        store.touch_station(s, "ams01", seen)
    station = store.station("ams01")
    assert station.created_utc == seen and station.created_utc.tzinfo is not None
    assert station.created_utc.utcoffset() == timedelta(0)
    assert station.created_utc.hour == 20 and station.created_utc.microsecond == 123456
    with pytest.raises(Exception, match="naive datetime"), store.transaction() as s:
        s.add(Station(station_id="bad01", created_utc=datetime(2026, 1, 1), last_seen_utc=datetime.now(UTC)))
    assert store.station("bad01") is None
    store.close()
