"""The request behind every reply: one ``model_request`` row per model call.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26

Each row keeps the chat-completions body exactly as it was sent (model, params, the
composed messages, the tools offered; never a key or header) and what came back
besides text (the upstream's response id, ``system_fingerprint``, raw finish reason,
usage). Both are JSONB, which Postgres TOASTs (compresses and stores out of line) once
a row passes about 2 kB. ``generation_id`` has no foreign key: generations are pruned
after the event retention, and the calls of one run must still be found together.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_request",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("generation_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("message_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("thread_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_model_request_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_model_request_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_request")),
    )
    op.create_index("ix_model_request_message_id", "model_request", ["message_id"])
    op.create_index("ix_model_request_generation_id", "model_request", ["generation_id"])
    op.create_index("ix_model_request_created_at", "model_request", ["created_at"])


def downgrade() -> None:
    op.drop_table("model_request")
