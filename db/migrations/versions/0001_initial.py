"""Initial schema: thread, message (a tree per thread) and the thread_active_branch view.

Revision ID: 0001
Revises:
Create Date: 2025-11-24

Written by hand against db/models.py; names follow its naming convention
(pk_/fk_/ck_/ix_/uq_<table>_<columns>). The models are not imported: a migration is
a snapshot and must not change when the models do.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each thread's active branch, root first: walk from thread.head_id up the parent_id
# chain. Per thread through LATERAL, so "WHERE thread_id = ..." walks one thread only.
# The walk stays within the thread and stops at a repeated id, so a bad parent_id
# (another thread's message, a cycle made by an UPDATE) cannot leak rows or loop.
CREATE_THREAD_ACTIVE_BRANCH = """
CREATE VIEW thread_active_branch AS
SELECT
    t.id AS thread_id,
    b.position,
    m.id,
    m.parent_id,
    m.role,
    m.content,
    m.status,
    m.model,
    m.prompt_tokens,
    m.completion_tokens,
    m.finish_reason,
    m.time_to_first_token_ms,
    m.duration_ms,
    m.error,
    m.created_at
FROM thread AS t
CROSS JOIN LATERAL (
    WITH RECURSIVE branch (id, parent_id, depth, path) AS (
        SELECT head.id, head.parent_id, 1, ARRAY[head.id]
        FROM message AS head
        WHERE head.id = t.head_id AND head.thread_id = t.id
        UNION ALL
        SELECT parent.id, parent.parent_id, branch.depth + 1, branch.path || parent.id
        FROM branch
        JOIN message AS parent ON parent.id = branch.parent_id
        WHERE parent.thread_id = t.id AND parent.id <> ALL (branch.path)
    )
    SELECT branch.id, (count(*) OVER () - branch.depth + 1)::integer AS position
    FROM branch
) AS b
JOIN message AS m ON m.id = b.id
"""

COMMENT_THREAD_ACTIVE_BRANCH = """
COMMENT ON VIEW thread_active_branch IS
'The messages of each thread''s active branch (root to thread.head_id); '
'position 1 is the root. Example: SELECT position, role, content FROM '
'thread_active_branch WHERE thread_id = ''...'' ORDER BY position;'
"""


def upgrade() -> None:
    op.create_table(
        "thread",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("system_prompt", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column(
            "params",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "tools",
            postgresql.JSONB(),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "metadata",
            postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("head_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_activity_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread")),
    )
    op.create_index(
        op.f("ix_thread_last_activity_at_id"),
        "thread",
        [sa.text("last_activity_at DESC"), sa.text("id DESC")],
    )

    op.create_table(
        "message",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("thread_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("parent_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'completed'"), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("params", postgresql.JSONB(), nullable=True),
        sa.Column("request_message_count", sa.Integer(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("finish_reason", sa.Text(), nullable=True),
        sa.Column("time_to_first_token_ms", sa.Float(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("tool_calls", postgresql.JSONB(), nullable=True),
        sa.Column("tool_call_id", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_message_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["message.id"],
            name=op.f("fk_message_parent_id_message"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "role IN ('system', 'user', 'assistant', 'tool')",
            name=op.f("ck_message_role"),
        ),
        sa.CheckConstraint(
            "status IN ('completed', 'in_progress', 'cancelled', 'failed', 'interrupted', "
            "'requires_action')",
            name=op.f("ck_message_status"),
        ),
        sa.CheckConstraint(
            "parent_id IS NULL OR parent_id <> id",
            name=op.f("ck_message_not_own_parent"),
        ),
    )
    op.create_index(op.f("ix_message_thread_id_created_at"), "message", ["thread_id", "created_at"])
    op.create_index(op.f("ix_message_parent_id"), "message", ["parent_id"])
    # One generation per thread at a time, enforced by the database itself.
    op.create_index(
        op.f("uq_message_thread_id_in_progress"),
        "message",
        ["thread_id"],
        unique=True,
        postgresql_where=sa.text("status = 'in_progress'"),
    )

    # thread and message reference each other; this side is added once both exist.
    op.create_foreign_key(
        op.f("fk_thread_head_id_message"),
        "thread",
        "message",
        ["head_id"],
        ["id"],
        ondelete="SET NULL",
    )

    op.execute(CREATE_THREAD_ACTIVE_BRANCH)
    op.execute(COMMENT_THREAD_ACTIVE_BRANCH)


def downgrade() -> None:
    op.execute("DROP VIEW thread_active_branch")
    op.drop_constraint(op.f("fk_thread_head_id_message"), "thread", type_="foreignkey")
    op.drop_index(op.f("uq_message_thread_id_in_progress"), table_name="message")
    op.drop_index(op.f("ix_message_parent_id"), table_name="message")
    op.drop_index(op.f("ix_message_thread_id_created_at"), table_name="message")
    op.drop_table("message")
    op.drop_index(op.f("ix_thread_last_activity_at_id"), table_name="thread")
    op.drop_table("thread")
