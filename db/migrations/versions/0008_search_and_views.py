"""Search over thread titles, and the views ``usage_daily`` and ``thread_summary``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26

``GET /api/search`` matches titles as well as message text: a GIN index on the title's
English tsvector serves ``to_tsvector('english', title) @@ query`` as
``ix_message_content_fts`` (0002) serves message content. The views answer, for people
with psql, what was spent per day and what each thread holds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One row per UTC day, owner and model, over the replies of the model (assistant rows
# with a model; hand-written assistant turns have none), each model call of a tool round
# counted as one reply. A reply still being written has no final numbers and waits.
# A failure is a reply the model server failed (failed) or whose process died
# (interrupted); a cancelled reply is not one.
CREATE_USAGE_DAILY = """
CREATE VIEW usage_daily AS
SELECT
    (m.created_at AT TIME ZONE 'UTC')::date AS day,
    t.owner_id,
    m.model,
    count(*) AS replies,
    coalesce(sum(m.prompt_tokens), 0)::bigint AS prompt_tokens,
    coalesce(sum(m.completion_tokens), 0)::bigint AS completion_tokens,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY m.time_to_first_token_ms) AS ttft_p50_ms,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY m.time_to_first_token_ms) AS ttft_p95_ms,
    count(*) FILTER (WHERE m.status IN ('failed', 'interrupted')) AS failures
FROM message AS m
JOIN thread AS t ON t.id = m.thread_id
WHERE m.role = 'assistant' AND m.model IS NOT NULL AND m.status <> 'in_progress'
GROUP BY 1, 2, 3
"""

COMMENT_USAGE_DAILY = """
COMMENT ON VIEW usage_daily IS
'Replies of the models per UTC day, owner and model: tokens, p50/p95 time to first '
'token (ms) and failures. Example: SELECT day, model, replies, prompt_tokens, '
'completion_tokens FROM usage_daily ORDER BY day DESC, model;'
"""

# Per thread, through LATERAL so that "WHERE thread_id = ..." reads one thread's rows
# (ix_message_thread_id_created_at, and ix_message_parent_id to find the leaves).
CREATE_THREAD_SUMMARY = """
CREATE VIEW thread_summary AS
SELECT
    t.id AS thread_id,
    t.owner_id,
    t.title,
    t.model,
    s.messages,
    s.branches,
    t.created_at,
    t.last_activity_at,
    s.prompt_tokens,
    s.completion_tokens,
    s.prompt_tokens + s.completion_tokens AS tokens
FROM thread AS t
CROSS JOIN LATERAL (
    SELECT
        count(*) AS messages,
        count(*) FILTER (
            WHERE NOT EXISTS (SELECT FROM message AS c WHERE c.parent_id = m.id)
        ) AS branches,
        coalesce(sum(m.prompt_tokens), 0)::bigint AS prompt_tokens,
        coalesce(sum(m.completion_tokens), 0)::bigint AS completion_tokens
    FROM message AS m
    WHERE m.thread_id = t.id
) AS s
"""

COMMENT_THREAD_SUMMARY = """
COMMENT ON VIEW thread_summary IS
'One row per thread: messages, branches (leaves of its tree), last activity and tokens. '
'Example: SELECT title, messages, branches, tokens FROM thread_summary '
'ORDER BY last_activity_at DESC LIMIT 10;'
"""


def upgrade() -> None:
    op.create_index(
        "ix_thread_title_fts",
        "thread",
        [sa.text("to_tsvector('english', title)")],
        postgresql_using="gin",
    )
    op.execute(CREATE_USAGE_DAILY)
    op.execute(COMMENT_USAGE_DAILY)
    op.execute(CREATE_THREAD_SUMMARY)
    op.execute(COMMENT_THREAD_SUMMARY)


def downgrade() -> None:
    op.execute("DROP VIEW thread_summary")
    op.execute("DROP VIEW usage_daily")
    op.drop_index("ix_thread_title_fts", table_name="thread")
