"""Principals, API keys, per-day token usage; every thread gets an owner and every
generation the principal who asked for it.

Threads stored before this revision belong to the built-in local principal, which
owns everything while auth is off.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCAL_PRINCIPAL_ID = "00000000-0000-0000-0000-000000000001"


def _created_at() -> sa.Column[datetime]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "principal",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), server_default=sa.text("'member'"), nullable=False),
        sa.Column("tokens_per_day", sa.Integer(), nullable=True),
        sa.Column("requests_per_minute", sa.Integer(), nullable=True),
        sa.Column("max_concurrent_replies", sa.Integer(), nullable=True),
        _created_at(),
        sa.CheckConstraint("role IN ('member', 'admin')", name=op.f("ck_principal_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_principal")),
    )
    op.execute(
        f"INSERT INTO principal (id, name, role) VALUES ('{LOCAL_PRINCIPAL_ID}', 'local', 'admin')"
    )
    op.create_table(
        "api_key",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("principal_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principal.id"],
            name=op.f("fk_api_key_principal_id_principal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_key_secret_hash")),
    )
    op.create_index(op.f("ix_api_key_principal_id"), "api_key", ["principal_id"])
    op.create_table(
        "principal_usage",
        sa.Column("principal_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "completion_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principal.id"],
            name=op.f("fk_principal_usage_principal_id_principal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("principal_id", "day", name=op.f("pk_principal_usage")),
    )
    # Existing threads (and rows inserted by hand without an owner) get the local one.
    op.add_column(
        "thread",
        sa.Column(
            "owner_id",
            postgresql.UUID(as_uuid=True),
            server_default=sa.text(f"'{LOCAL_PRINCIPAL_ID}'::uuid"),
            nullable=False,
        ),
    )
    op.create_foreign_key(
        op.f("fk_thread_owner_id_principal"), "thread", "principal", ["owner_id"], ["id"]
    )
    op.create_index(
        "ix_thread_owner_id_last_activity_at_id",
        "thread",
        ["owner_id", sa.text("last_activity_at DESC"), sa.text("id DESC")],
    )
    op.add_column(
        "generation", sa.Column("principal_id", postgresql.UUID(as_uuid=True), nullable=True)
    )
    op.create_foreign_key(
        op.f("fk_generation_principal_id_principal"),
        "generation",
        "principal",
        ["principal_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "ix_generation_principal_id_created_at", "generation", ["principal_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_generation_principal_id_created_at", table_name="generation")
    op.drop_constraint(
        op.f("fk_generation_principal_id_principal"), "generation", type_="foreignkey"
    )
    op.drop_column("generation", "principal_id")
    op.drop_index("ix_thread_owner_id_last_activity_at_id", table_name="thread")
    op.drop_constraint(op.f("fk_thread_owner_id_principal"), "thread", type_="foreignkey")
    op.drop_column("thread", "owner_id")
    op.drop_table("principal_usage")
    op.drop_index(op.f("ix_api_key_principal_id"), table_name="api_key")
    op.drop_table("api_key")
    op.drop_table("principal")
