"""A prompt library: named prompts of an owner, each with numbered, immutable versions.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26

A thread may use a prompt (``prompt_id``; ``prompt_version`` NULL for the latest one at
each reply; ``prompt_variables``) instead of a literal ``system_prompt``; every reply
records the version it was generated with (``message.prompt_id``,
``message.prompt_version``), so versions can be compared in SQL. A prompt is deleted
softly (``deleted_at``): the replies' record keeps pointing at its versions. A version
never changes once written: a trigger refuses any UPDATE of ``prompt_version``,
whoever writes it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSE_UPDATE = """
CREATE FUNCTION playground_refuse_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a % row never changes once written', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "prompt",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("owner_id", UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["principal.id"], name="fk_prompt_owner_id_principal"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_prompt"),
    )
    op.create_index(
        "uq_prompt_owner_id_name",
        "prompt",
        ["owner_id", "name"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "prompt_version",
        sa.Column("prompt_id", UUID(as_uuid=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("variables", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("version >= 1", name="positive"),
        sa.ForeignKeyConstraint(
            ["prompt_id"], ["prompt.id"], name="fk_prompt_version_prompt_id_prompt"
        ),
        sa.PrimaryKeyConstraint("prompt_id", "version", name="pk_prompt_version"),
    )
    op.execute(REFUSE_UPDATE)
    op.execute(
        "CREATE TRIGGER prompt_version_immutable BEFORE UPDATE ON prompt_version"
        " FOR EACH ROW EXECUTE FUNCTION playground_refuse_update()"
    )
    for table in ("thread", "message"):
        op.add_column(table, sa.Column("prompt_id", UUID(as_uuid=True), nullable=True))
        op.add_column(table, sa.Column("prompt_version", sa.Integer(), nullable=True))
        # A thread pinned to a version, or a reply's record, names an existing version
        # (MATCH SIMPLE: a thread on the latest version has a NULL prompt_version).
        op.create_foreign_key(
            f"fk_{table}_prompt_id_prompt_version",
            table,
            "prompt_version",
            ["prompt_id", "prompt_version"],
            ["prompt_id", "version"],
        )
        op.create_index(
            f"ix_{table}_prompt_id_prompt_version", table, ["prompt_id", "prompt_version"]
        )
    op.add_column(
        "thread",
        sa.Column(
            "prompt_variables", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
    )
    op.create_foreign_key("fk_thread_prompt_id_prompt", "thread", "prompt", ["prompt_id"], ["id"])


def downgrade() -> None:
    op.drop_constraint("fk_thread_prompt_id_prompt", "thread", type_="foreignkey")
    op.drop_column("thread", "prompt_variables")
    for table in ("thread", "message"):
        op.drop_index(f"ix_{table}_prompt_id_prompt_version", table_name=table)
        op.drop_constraint(f"fk_{table}_prompt_id_prompt_version", table, type_="foreignkey")
        op.drop_column(table, "prompt_version")
        op.drop_column(table, "prompt_id")
    op.drop_table("prompt_version")
    op.execute("DROP FUNCTION playground_refuse_update()")
    op.drop_table("prompt")
