"""Rows without tool calls (or without params) have SQL NULL in ``message.tool_calls``
(``message.params``), not JSON ``null``.

Replies' final writes and forks stored JSON ``null`` until the columns mapped Python
None to SQL NULL; older rows get the same spelling here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE message SET tool_calls = NULL WHERE tool_calls = 'null'::jsonb")
    op.execute("UPDATE message SET params = NULL WHERE params = 'null'::jsonb")


def downgrade() -> None:
    # Nothing to undo: the older code reads SQL NULL as "no calls" as well, and which
    # rows had JSON null is not worth keeping.
    pass
