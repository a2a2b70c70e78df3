"""Initial schema: stations, events, observations, trajectories, orbits, rejected messages, files.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-21 12:59:03.517522
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloud_bridge.store.types import JsonType, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("first_utc", UtcDateTime(), nullable=False),
        sa.Column("last_utc", UtcDateTime(), nullable=False),
        sa.Column("created_utc", UtcDateTime(), nullable=False),
        sa.Column("updated_utc", UtcDateTime(), nullable=False),
        sa.Column("solve_due_utc", UtcDateTime(), nullable=True),
        sa.Column("claimed_utc", UtcDateTime(), nullable=True),
        sa.Column("solved_at", UtcDateTime(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("n_observations", sa.Integer(), nullable=False),
        sa.Column("n_stations", sa.Integer(), nullable=False),
        sa.Column("n_solves", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_first_utc"), ["first_utc"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_solve_due_utc"), ["solve_due_utc"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_status"), ["status"], unique=False)

    op.create_table(
        "rejected_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("topic", sa.String(length=256), nullable=False),
        sa.Column("station_id", sa.String(length=32), nullable=True),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("payload_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_messages")),
    )
    with op.batch_alter_table("rejected_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rejected_messages_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_rejected_messages_station_id"), ["station_id"], unique=False)

    op.create_table(
        "stations",
        sa.Column("station_id", sa.String(length=32), nullable=False),
        sa.Column("created_utc", UtcDateTime(), nullable=False),
        sa.Column("last_seen_utc", UtcDateTime(), nullable=False),
        sa.Column("lat_deg", sa.Float(), nullable=True),
        sa.Column("lon_deg", sa.Float(), nullable=True),
        sa.Column("height_m", sa.Float(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("software_version", sa.String(length=64), nullable=True),
        sa.Column("status_utc", UtcDateTime(), nullable=True),
        sa.Column("status_json", JsonType, nullable=True),
        sa.Column("telemetry_utc", UtcDateTime(), nullable=True),
        sa.Column("telemetry_json", JsonType, nullable=True),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_stations")),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station_id", sa.String(length=32), nullable=False),
        sa.Column("observation_id", sa.String(length=128), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("uploaded_utc", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.station_id"], name=op.f("fk_files_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
        sa.UniqueConstraint("station_id", "name", name="uq_files_station_id_name"),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_files_observation_id"), ["observation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_files_station_id"), ["station_id"], unique=False)

    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("observation_id", sa.String(length=128), nullable=False),
        sa.Column("station_id", sa.String(length=32), nullable=False),
        sa.Column("camera_id", sa.String(length=32), nullable=False),
        sa.Column("first_utc", UtcDateTime(), nullable=False),
        sa.Column("last_utc", UtcDateTime(), nullable=False),
        sa.Column("n_frames", sa.Integer(), nullable=False),
        sa.Column("received_utc", UtcDateTime(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("report_json", JsonType, nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name=op.f("fk_observations_event_id_events")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.station_id"], name=op.f("fk_observations_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observations")),
        sa.UniqueConstraint("observation_id", name=op.f("uq_observations_observation_id")),
    )
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_observations_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_observations_first_utc"), ["first_utc"], unique=False)
        batch_op.create_index(batch_op.f("ix_observations_station_id"), ["station_id"], unique=False)

    op.create_table(
        "trajectories",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("begin_utc", UtcDateTime(), nullable=False),
        sa.Column("begin_lat_deg", sa.Float(), nullable=False),
        sa.Column("begin_lon_deg", sa.Float(), nullable=False),
        sa.Column("begin_height_m", sa.Float(), nullable=False),
        sa.Column("end_height_m", sa.Float(), nullable=False),
        sa.Column("v_init_kms", sa.Float(), nullable=False),
        sa.Column("residual_rms_arcmin", sa.Float(), nullable=True),
        sa.Column("n_stations", sa.Integer(), nullable=False),
        sa.Column("solved_at", UtcDateTime(), nullable=False),
        sa.Column("solution_json", JsonType, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_trajectories_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trajectories")),
    )
    with op.batch_alter_table("trajectories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trajectories_begin_utc"), ["begin_utc"], unique=False)
        batch_op.create_index(batch_op.f("ix_trajectories_event_id"), ["event_id"], unique=False)

    op.create_table(
        "orbits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trajectory_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("begin_utc", UtcDateTime(), nullable=False),
        sa.Column("ra_g_deg", sa.Float(), nullable=False),
        sa.Column("dec_g_deg", sa.Float(), nullable=False),
        sa.Column("v_g_kms", sa.Float(), nullable=False),
        sa.Column("sigma_radiant_deg", sa.Float(), nullable=True),
        sa.Column("shower_code", sa.String(length=8), nullable=True),
        sa.Column("solar_longitude_deg", sa.Float(), nullable=True),
        sa.Column("a_au", sa.Float(), nullable=True),
        sa.Column("e", sa.Float(), nullable=True),
        sa.Column("i_deg", sa.Float(), nullable=True),
        sa.Column("q_au", sa.Float(), nullable=True),
        sa.Column("orbit_json", JsonType, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_orbits_event_id_events"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["trajectory_id"],
            ["trajectories.id"],
            name=op.f("fk_orbits_trajectory_id_trajectories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orbits")),
        sa.UniqueConstraint("trajectory_id", name=op.f("uq_orbits_trajectory_id")),
    )
    with op.batch_alter_table("orbits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orbits_begin_utc"), ["begin_utc"], unique=False)
        batch_op.create_index(batch_op.f("ix_orbits_event_id"), ["event_id"], unique=False)
        batch_op.create_index("ix_orbits_radiant", ["ra_g_deg", "dec_g_deg"], unique=False)
        batch_op.create_index(batch_op.f("ix_orbits_shower_code"), ["shower_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orbits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orbits_shower_code"))
        batch_op.drop_index("ix_orbits_radiant")
        batch_op.drop_index(batch_op.f("ix_orbits_event_id"))
        batch_op.drop_index(batch_op.f("ix_orbits_begin_utc"))

    op.drop_table("orbits")
    with op.batch_alter_table("trajectories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trajectories_event_id"))
        batch_op.drop_index(batch_op.f("ix_trajectories_begin_utc"))

    op.drop_table("trajectories")
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_observations_station_id"))
        batch_op.drop_index(batch_op.f("ix_observations_first_utc"))
        batch_op.drop_index(batch_op.f("ix_observations_event_id"))

    op.drop_table("observations")
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_files_station_id"))
        batch_op.drop_index(batch_op.f("ix_files_observation_id"))

    op.drop_table("files")
    op.drop_table("stations")
    with op.batch_alter_table("rejected_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rejected_messages_station_id"))
        batch_op.drop_index(batch_op.f("ix_rejected_messages_received_at"))

    op.drop_table("rejected_messages")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_status"))
        batch_op.drop_index(batch_op.f("ix_events_solve_due_utc"))
        batch_op.drop_index(batch_op.f("ix_events_first_utc"))

    op.drop_table("events")
