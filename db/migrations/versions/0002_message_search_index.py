"""Full-text search over message content: a GIN index on its English tsvector.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-25

Serves the ``search_threads`` tool (``to_tsvector('english', content) @@ query``).
Built with CREATE INDEX (not CONCURRENTLY), so it locks writes to ``message`` while it
builds: fine at start-up, where migrations run.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_message_content_fts",
        "message",
        [sa.text("to_tsvector('english', content)")],
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index("ix_message_content_fts", table_name="message")
