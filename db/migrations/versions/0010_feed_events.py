"""The live feeds' change log: the ``feed_event`` table, written by triggers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26

Every change that a tab showing a thread, or the thread list, must see is one row of
``feed_event`` (append-only; pruned after the event retention), written by triggers on
``thread``, ``message`` and ``generation``: so every writer produces them, from any
process, the stores, ``playground_send`` and psql alike. Each trigger also sends a
``pg_notify`` on ``playground_feed`` with ``<thread id>:<owner id>``; readers take the
rows themselves (a notification is only a wake-up).

The triggers are constraint triggers deferred to COMMIT, and they take no lock: every
row carries ``xid``, the id of the transaction that wrote it, and readers order rows by
``(xid, id)`` and read only those whose ``xid`` is below the ``xmin`` of their snapshot
(every transaction with a smaller id has ended, so that set of rows is final). A row
that appears later has an ``xid`` at least that ``xmin``, above every row already read,
so a reader resuming after ``(xid, id)`` never misses or repeats one, while writers
commit concurrently. (PostgreSQL itself still orders the COMMITs of transactions that
``NOTIFY``: it holds a server-wide lock on its notification queue until each ends.)

Kept quiet on purpose: a reply's text written in batches while it streams (status
``in_progress`` before and after) makes no event, since tabs read the text from the
generation's own stream; a message deleted together with its thread makes none either
(the thread is already gone when the deferred trigger runs), so deleting a thread is
one ``thread.deleted``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class Xid8(sa.types.UserDefinedType[int]):
    """Postgres's 64-bit transaction id, which never wraps around."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        """The column's type in DDL."""
        return "xid8"


FEED_KINDS = (
    "thread.created",
    "thread.updated",
    "thread.deleted",
    "thread.activity",
    "head.changed",
    "message.created",
    "message.updated",
    "message.deleted",
    "generation.started",
    "generation.finished",
)

CREATE_APPEND = """
CREATE FUNCTION playground_feed_append(
    p_thread_id uuid, p_owner_id uuid, p_kinds text[], p_subject_id uuid
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feed_event (thread_id, owner_id, kind, subject_id)
    SELECT p_thread_id, p_owner_id, kind, p_subject_id FROM unnest(p_kinds) AS kind;
    PERFORM pg_notify('playground_feed', p_thread_id::text || ':' || p_owner_id::text);
END
$$
"""

CREATE_THREAD_TRIGGER = """
CREATE FUNCTION playground_feed_thread() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kinds text[] := '{}';
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM playground_feed_append(OLD.id, OLD.owner_id, ARRAY['thread.deleted'], OLD.id);
        RETURN NULL;
    END IF;
    -- Deleted later in the same transaction: its thread.deleted says it all.
    IF NOT EXISTS (SELECT FROM thread WHERE id = NEW.id) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        kinds := ARRAY['thread.created'];
    ELSE
        IF (NEW.title, NEW.system_prompt, NEW.default_system_prompt, NEW.model, NEW.params,
            NEW.tools, NEW.metadata) IS DISTINCT FROM (OLD.title, OLD.system_prompt,
            OLD.default_system_prompt, OLD.model, OLD.params, OLD.tools, OLD.metadata) THEN
            kinds := kinds || 'thread.updated'::text;
        END IF;
        IF NEW.head_id IS DISTINCT FROM OLD.head_id THEN
            kinds := kinds || 'head.changed'::text;
        END IF;
        IF NEW.last_activity_at IS DISTINCT FROM OLD.last_activity_at THEN
            kinds := kinds || 'thread.activity'::text;
        END IF;
    END IF;
    IF cardinality(kinds) > 0 THEN
        PERFORM playground_feed_append(NEW.id, NEW.owner_id, kinds, NEW.id);
    END IF;
    RETURN NULL;
END
$$
"""

# For a message or a generation: the event goes to its thread's owner, unless the
# thread is gone (deleted in the same transaction, or the cascade of its deletion).
CREATE_CHILD_TRIGGER = """
CREATE FUNCTION playground_feed_child() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_thread uuid;
    row_id uuid;
    owner uuid;
BEGIN
    IF TG_OP = 'DELETE' THEN
        row_thread := OLD.thread_id;
        row_id := OLD.id;
    ELSE
        row_thread := NEW.thread_id;
        row_id := NEW.id;
    END IF;
    SELECT t.owner_id INTO owner FROM thread AS t WHERE t.id = row_thread;
    IF FOUND THEN
        PERFORM playground_feed_append(row_thread, owner, ARRAY[TG_ARGV[0]], row_id);
    END IF;
    RETURN NULL;
END
$$
"""

# (trigger, table, event, WHEN condition or "", kind)
TRIGGERS = [
    ("feed_message_created", "message", "INSERT", "", "message.created"),
    # Not for the batched writes of a reply's text while it streams.
    (
        "feed_message_updated",
        "message",
        "UPDATE",
        "(OLD.status <> 'in_progress' OR NEW.status <> 'in_progress')"
        " AND OLD.* IS DISTINCT FROM NEW.*",
        "message.updated",
    ),
    ("feed_message_deleted", "message", "DELETE", "", "message.deleted"),
    ("feed_generation_started", "generation", "INSERT", "", "generation.started"),
    (
        "feed_generation_finished",
        "generation",
        "UPDATE",
        "OLD.status = 'running' AND NEW.status = 'finished'",
        "generation.finished",
    ),
]


def _constraint_trigger(name: str, table: str, event: str, when: str, function: str) -> str:
    condition = f" WHEN ({when})" if when else ""
    return (
        f"CREATE CONSTRAINT TRIGGER {name} AFTER {event} ON {table}"
        f" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW{condition} EXECUTE FUNCTION {function}"
    )


def upgrade() -> None:
    kinds = ", ".join(f"'{kind}'" for kind in FEED_KINDS)
    op.create_table(
        "feed_event",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("thread_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("owner_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("subject_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("xid", Xid8(), server_default=sa.text("pg_current_xact_id()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint(f"kind IN ({kinds})", name=op.f("ck_feed_event_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_event")),
    )
    # What the readers scan: one thread's rows, one owner's, or (an admin) everyone's.
    op.create_index("ix_feed_event_thread_id_xid_id", "feed_event", ["thread_id", "xid", "id"])
    op.create_index("ix_feed_event_owner_id_xid_id", "feed_event", ["owner_id", "xid", "id"])
    op.create_index("ix_feed_event_xid_id", "feed_event", ["xid", "id"])
    op.create_index("ix_feed_event_created_at", "feed_event", ["created_at"])
    op.execute(CREATE_APPEND)
    op.execute(CREATE_THREAD_TRIGGER)
    op.execute(CREATE_CHILD_TRIGGER)
    op.execute(
        _constraint_trigger(
            "feed_thread", "thread", "INSERT OR UPDATE OR DELETE", "", "playground_feed_thread()"
        )
    )
    for name, table, event, when, kind in TRIGGERS:
        op.execute(
            _constraint_trigger(name, table, event, when, f"playground_feed_child('{kind}')")
        )


def downgrade() -> None:
    op.execute("DROP TRIGGER feed_thread ON thread")
    for name, table, *_ in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
    op.execute("DROP FUNCTION playground_feed_child()")
    op.execute("DROP FUNCTION playground_feed_thread()")
    op.execute("DROP FUNCTION playground_feed_append(uuid, uuid, text[], uuid)")
    op.drop_table("feed_event")
