"""Fleet and files: enrolment tokens, station credentials, commands, uploads in progress; files unique
per (station, observation, name); observations marked meteor-like or not (slow movers are kept, not solved).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 14:47:59.064839
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloud_bridge.store.types import JsonType, UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enrolment_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station_id", sa.String(length=32), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_utc", UtcDateTime(), nullable=False),
        sa.Column("expires_utc", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("used_utc", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_enrolment_tokens_token_sha256")),
    )
    with op.batch_alter_table("enrolment_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_tokens_station_id"), ["station_id"], unique=False)

    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station_id", sa.String(length=32), nullable=False),
        sa.Column("observation_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("offset_bytes", sa.BigInteger(), nullable=False),
        sa.Column("chunks_json", JsonType, nullable=False),
        sa.Column("created_utc", UtcDateTime(), nullable=False),
        sa.Column("updated_utc", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
        sa.UniqueConstraint(
            "station_id", "observation_id", "name", name="uq_uploads_station_observation_name"
        ),
    )
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uploads_station_id"), ["station_id"], unique=False)

    op.create_table(
        "commands",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("station_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("args_json", JsonType, nullable=False),
        sa.Column("issued_utc", UtcDateTime(), nullable=False),
        sa.Column("expires_utc", UtcDateTime(), nullable=True),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("published_utc", UtcDateTime(), nullable=True),
        sa.Column("publish_error", sa.Text(), nullable=True),
        sa.Column("result_ok", sa.Boolean(), nullable=True),
        sa.Column("result_message", sa.Text(), nullable=True),
        sa.Column("result_data", JsonType, nullable=True),
        sa.Column("result_utc", UtcDateTime(), nullable=True),
        sa.Column("result_received_utc", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.station_id"], name=op.f("fk_commands_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commands")),
        sa.UniqueConstraint("request_id", name=op.f("uq_commands_request_id")),
    )
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commands_issued_utc"), ["issued_utc"], unique=False)
        batch_op.create_index(batch_op.f("ix_commands_station_id"), ["station_id"], unique=False)

    op.create_table(
        "station_credentials",
        sa.Column("station_id", sa.String(length=32), nullable=False),
        sa.Column("mqtt_username", sa.String(length=64), nullable=False),
        sa.Column("mqtt_password_hash", sa.String(length=512), nullable=False),
        sa.Column("http_token_sha256", sa.String(length=64), nullable=False),
        sa.Column("issued_utc", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.station_id"], name=op.f("fk_station_credentials_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_station_credentials")),
        sa.UniqueConstraint("http_token_sha256", name=op.f("uq_station_credentials_http_token_sha256")),
        sa.UniqueConstraint("mqtt_username", name=op.f("uq_station_credentials_mqtt_username")),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_files_station_id_name"), type_="unique")
        batch_op.create_unique_constraint(
            "uq_files_station_observation_name", ["station_id", "observation_id", "name"]
        )

    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meteor_like", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("screen_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_column("screen_reason")
        batch_op.drop_column("meteor_like")

    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_constraint("uq_files_station_observation_name", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_files_station_id_name"), ["station_id", "name"])

    op.drop_table("station_credentials")
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commands_station_id"))
        batch_op.drop_index(batch_op.f("ix_commands_issued_utc"))

    op.drop_table("commands")
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uploads_station_id"))

    op.drop_table("uploads")
    with op.batch_alter_table("enrolment_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_tokens_station_id"))

    op.drop_table("enrolment_tokens")
