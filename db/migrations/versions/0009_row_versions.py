"""Threads and messages carry a ``version``, bumped by a trigger on every change.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26

The version is what ``ETag`` and ``If-Match`` compare (optimistic concurrency). A
BEFORE UPDATE trigger bumps it rather than the service, so that every writer bumps it:
the stores, the SQL function ``playground_send`` and a person with psql alike. An
UPDATE that changes nothing keeps the version; so does one that only moves a thread's
``last_activity_at``, which every message written below it moves (a reply finishing
is no change of the thread a person could overwrite).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What of each row the version follows: a thread's state without its activity clock,
# and every column of a message.
CHANGED = {
    "thread": "to_jsonb(OLD) - 'last_activity_at' IS DISTINCT FROM"
    " to_jsonb(NEW) - 'last_activity_at'",
    "message": "OLD.* IS DISTINCT FROM NEW.*",
}

BUMP_VERSION = """
CREATE FUNCTION playground_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Whatever the UPDATE wrote into version, the next one follows the stored one.
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.execute(BUMP_VERSION)
    for table, changed in CHANGED.items():
        op.add_column(
            table,
            sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        )
        op.execute(
            f"CREATE TRIGGER {table}_bump_version BEFORE UPDATE ON {table} FOR EACH ROW"
            f" WHEN ({changed}) EXECUTE FUNCTION playground_bump_version()"
        )


def downgrade() -> None:
    for table in CHANGED:
        op.execute(f"DROP TRIGGER {table}_bump_version ON {table}")
        op.drop_column(table, "version")
    op.execute("DROP FUNCTION playground_bump_version()")
