"""Compare runs: one generation writing two to four sibling replies at once.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26

A compare run (``variants`` on a send or a regeneration) is one ``generation`` row:
``message_id`` is its first reply and ``variant_ids`` lists all its replies in order
(NULL for a run of one). Each reply row carries its place in the run, ``variant``
(0 to 3; 0 for every other message).

The index that allowed one reply in progress per thread becomes one per thread and
place: a run's replies are in progress together, and two runs still cannot be (both
have a reply at place 0, and a run's replies end in one final write). With
``uq_generation_thread_id_running`` this keeps the guarantee of one run at a time.

``playground_quota_usage`` counts every reply of a run: a run of three is three
replies running and three requests of the minute.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUOTA_USAGE = """
CREATE OR REPLACE FUNCTION playground_quota_usage(p_principal_id uuid)
RETURNS TABLE (running bigint, recent bigint, oldest_recent timestamptz, tokens_today bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM FROM principal AS p WHERE p.id = p_principal_id FOR UPDATE;
    RETURN QUERY SELECT
        (SELECT coalesce(sum({replies}), 0)::bigint FROM generation AS g
         WHERE g.principal_id = p_principal_id AND g.status = 'running'),
        r.n,
        r.oldest,
        (SELECT coalesce(sum(u.prompt_tokens + u.completion_tokens), 0)::bigint
         FROM principal_usage AS u
         WHERE u.principal_id = p_principal_id AND u.day = (now() AT TIME ZONE 'UTC')::date)
    FROM (
        SELECT coalesce(sum({replies}), 0)::bigint AS n, min(g.created_at) AS oldest
        FROM generation AS g
        WHERE g.principal_id = p_principal_id
          AND g.created_at > clock_timestamp() - interval '60 s'
    ) AS r;
END
$$
"""


def upgrade() -> None:
    op.add_column(
        "message",
        sa.Column("variant", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_check_constraint(op.f("ck_message_variant"), "message", "variant BETWEEN 0 AND 3")
    op.drop_index("uq_message_thread_id_in_progress", table_name="message")
    op.create_index(
        "uq_message_thread_id_variant_in_progress",
        "message",
        ["thread_id", "variant"],
        unique=True,
        postgresql_where=sa.text("status = 'in_progress'"),
    )
    op.add_column("generation", sa.Column("variant_ids", postgresql.ARRAY(sa.Uuid())))
    op.execute(QUOTA_USAGE.format(replies="coalesce(cardinality(g.variant_ids), 1)"))


def downgrade() -> None:
    op.execute(QUOTA_USAGE.format(replies="1"))
    op.drop_column("generation", "variant_ids")
    op.drop_index("uq_message_thread_id_variant_in_progress", table_name="message")
    op.create_index(
        "uq_message_thread_id_in_progress",
        "message",
        ["thread_id"],
        unique=True,
        postgresql_where=sa.text("status = 'in_progress'"),
    )
    op.drop_constraint(op.f("ck_message_variant"), "message", type_="check")
    op.drop_column("message", "variant")
