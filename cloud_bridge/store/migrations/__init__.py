"""Alembic migrations of the bridge's database (`cloud_bridge.store.migrate.upgrade` runs them)."""
