"""Creating and upgrading the bridge's database schema with alembic, from code (no alembic.ini).

`upgrade(url)` brings a database (SQLite file, PostgreSQL) to the newest schema and is safe to run
at every start; `current_revision(url)` says where a database stands. The migration scripts live
in `cloud_bridge/store/migrations/versions/`; a new one is written with
`alembic_config(url)` and `alembic.command.revision(cfg, message, autogenerate=True)`.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine_url: str | None = None, connection: Connection | None = None) -> Config:
    """An alembic Config for our migrations, bound to a URL or an open connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine_url is not None:
        cfg.attributes["engine_url"] = engine_url
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine_url: str | Engine, revision: str = "head") -> None:
    """Migrate the database at `engine_url` (or behind an Engine) up to `revision` (default: newest)."""
    if isinstance(engine_url, Engine):
        with engine_url.begin() as conn:
            command.upgrade(alembic_config(connection=conn), revision)
        return
    command.upgrade(alembic_config(engine_url), revision)


def downgrade(engine_url: str, revision: str) -> None:
    """Migrate the database at `engine_url` down to `revision` ("base" empties it)."""
    command.downgrade(alembic_config(engine_url), revision)


def current_revision(engine_url: str | Engine) -> str | None:
    """The schema revision the database is at, or None for a database alembic has never touched."""
    engine = create_engine(engine_url) if isinstance(engine_url, str) else engine_url
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if isinstance(engine_url, str):
            engine.dispose()
