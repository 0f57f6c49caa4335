"""SQLAlchemy models of the tables: ``thread``, ``message``, ``generation``,
``generation_event``, ``model_request``, the live feeds' ``feed_event``, the prompt
library (``prompt``, ``prompt_version``), and who may
use them: ``principal``, ``api_key``, ``principal_usage``.

The conversation is stored normalized (no JSON blob holding a chat) so that a
person with psql can query history directly. Messages form a tree through
``parent_id``; ``thread.head_id`` names the leaf of the active branch. A
``generation`` row is one run of the model in a thread (who runs it, its lease, its
idempotency key) and ``generation_event`` keeps its events for resuming. Every
statement that writes these tables is in ``api.stores``, or in a SQL function of the
migrations that a store calls (``playground_send``, migration 0007), except
``feed_event``, which only the triggers of migration 0010 append to.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    FetchedValue,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MESSAGE_ROLES = ("system", "user", "assistant", "tool")
MESSAGE_STATUSES = (
    "completed",
    "in_progress",
    "cancelled",
    "failed",
    "interrupted",
    "requires_action",
)


def _version_column() -> Mapped[int]:
    """A row's version: 1 when inserted, bumped by a trigger (migration 0009) on every
    UPDATE that changes the row (a thread's ``last_activity_at`` alone aside), whoever
    writes it; ``ETag`` and ``If-Match`` compare it. Read back with each INSERT and
    UPDATE (RETURNING), as the trigger sets it."""
    return mapped_column(Integer, server_default=text("1"), server_onupdate=FetchedValue())


def _in_list(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    """Declarative base whose MetaData names every constraint and index."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSONB, uuid.UUID: UUID(as_uuid=True)}


PRINCIPAL_ROLES = ("member", "admin")
# Owns everything while auth is off, and every thread created before principals existed.
LOCAL_PRINCIPAL_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")


class Principal(Base):
    """Someone who owns threads and spends tokens: a member or an admin.

    Its quota columns override the service-wide defaults; NULL means the default.
    """

    __mapper_args__ = {"eager_defaults": True}
    __tablename__ = "principal"
    __table_args__ = (CheckConstraint(_in_list("role", PRINCIPAL_ROLES), name="role"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text, server_default="member")
    tokens_per_day: Mapped[int | None] = mapped_column(Integer)
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    max_concurrent_replies: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ApiKey(Base):
    """A key a principal authenticates with. Only a SHA-256 of its secret is stored,
    and a short prefix to tell keys apart."""

    __mapper_args__ = {"eager_defaults": True}
    __tablename__ = "api_key"
    __table_args__ = (Index("ix_api_key_principal_id", "principal_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    principal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("principal.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(Text)
    secret_hash: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PrincipalUsage(Base):
    """Tokens a principal's replies used per UTC day, for ``tokens_per_day``.

    Kept apart from the replies so that deleting a thread does not give tokens back.
    """

    __tablename__ = "principal_usage"

    principal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("principal.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    completion_tokens: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class Thread(Base):
    """A chat thread: settings shared by every generation in it, and its active branch."""

    # Server-side defaults (timestamps, statuses) come back with the INSERT/UPDATE
    # (RETURNING) instead of a second query.
    __mapper_args__ = {"eager_defaults": True}
    __tablename__ = "thread"
    __table_args__ = (
        Index("ix_thread_last_activity_at_id", text("last_activity_at DESC"), text("id DESC")),
        Index(
            "ix_thread_owner_id_last_activity_at_id",
            "owner_id",
            text("last_activity_at DESC"),
            text("id DESC"),
        ),
        # Full-text search over titles (GET /api/search), as ix_message_content_fts over
        # message content: queries must use this very expression.
        Index("ix_thread_title_fts", text("to_tsvector('english', title)"), postgresql_using="gin"),
        # A thread pinned to a version names an existing one (a NULL version, "latest",
        # is not checked).
        ForeignKeyConstraint(
            ["prompt_id", "prompt_version"], ["prompt_version.prompt_id", "prompt_version.version"]
        ),
        Index("ix_thread_prompt_id_prompt_version", "prompt_id", "prompt_version"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # A row inserted by hand (psql) without an owner belongs to the local principal.
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("principal.id"), server_default=text(f"'{LOCAL_PRINCIPAL_ID}'::uuid")
    )
    title: Mapped[str | None] = mapped_column(Text)
    system_prompt: Mapped[str | None] = mapped_column(Text)
    # Whether the default system prompt (explaining the tools) comes before system_prompt.
    default_system_prompt: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # A prompt of the library instead of system_prompt: its version (NULL: the latest at
    # each reply) and the values of its variables.
    prompt_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("prompt.id"))
    prompt_version: Mapped[int | None] = mapped_column(Integer)
    prompt_variables: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    model: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    tools: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", server_default=text("'{}'::jsonb")
    )
    head_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL", use_alter=True)
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_activity_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = _version_column()


class Message(Base):
    """One turn in a thread's message tree, with what the model was asked and what happened."""

    # Server-side defaults (timestamps, statuses) come back with the INSERT/UPDATE
    # (RETURNING) instead of a second query.
    __mapper_args__ = {"eager_defaults": True}
    __tablename__ = "message"
    __table_args__ = (
        CheckConstraint(_in_list("role", MESSAGE_ROLES), name="role"),
        CheckConstraint(_in_list("status", MESSAGE_STATUSES), name="status"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        Index("ix_message_thread_id_created_at", "thread_id", "created_at"),
        Index("ix_message_parent_id", "parent_id"),
        CheckConstraint("variant BETWEEN 0 AND 3", name="variant"),
        # One generation per thread at a time, enforced by the database itself: a run's
        # replies are in progress together, one per place, and every run has a place 0.
        Index(
            "uq_message_thread_id_variant_in_progress",
            "thread_id",
            "variant",
            unique=True,
            postgresql_where=text("status = 'in_progress'"),
        ),
        # Full-text search over content (the search_threads tool); queries must use this
        # very expression for Postgres to use the index.
        Index(
            "ix_message_content_fts",
            text("to_tsvector('english', content)"),
            postgresql_using="gin",
        ),
        ForeignKeyConstraint(
            ["prompt_id", "prompt_version"], ["prompt_version.prompt_id", "prompt_version.version"]
        ),
        Index("ix_message_prompt_id_prompt_version", "prompt_id", "prompt_version"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text, server_default="")
    status: Mapped[str] = mapped_column(Text, server_default="completed")
    # What the model was asked (assistant rows only).
    model: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    request_message_count: Mapped[int | None] = mapped_column(Integer)
    # The prompt version the system prompt was rendered from (replies of a thread using
    # a prompt of the library).
    prompt_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    prompt_version: Mapped[int | None] = mapped_column(Integer)
    # The reply's place in a compare run (0 to 3); 0 for every other message.
    variant: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    # What happened.
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    finish_reason: Mapped[str | None] = mapped_column(Text)
    time_to_first_token_ms: Mapped[float | None] = mapped_column(Float)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    # Function calling: the calls an assistant turn made, and the call a tool row answers.
    # A Python None is SQL NULL here, not JSON null, so that "no calls" has one spelling
    # whichever statement writes it (a reply's final UPDATE, a fork's copy).
    tool_calls: Mapped[list[Any] | None] = mapped_column(JSONB(none_as_null=True))
    tool_call_id: Mapped[str | None] = mapped_column(Text)
    # clock_timestamp(), not now(): a user row and its reply share one transaction but
    # must still sort in the order they were written.
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = _version_column()


class Prompt(Base):
    """A named system prompt of an owner; its text lives in its versions.

    Deleted softly (``deleted_at``): replies keep naming the versions they were
    generated with. The name is unique among an owner's prompts that are not deleted.
    """

    __mapper_args__ = {"eager_defaults": True}
    __tablename__ = "prompt"
    __table_args__ = (
        Index(
            "uq_prompt_owner_id_name",
            "owner_id",
            "name",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("principal.id"))
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PromptVersion(Base):
    """One version of a prompt: numbered 1, 2, … per prompt, never changed once written
    (a trigger of migration 0012 refuses any UPDATE)."""

    __mapper_args__ = {"eager_defaults": True}
    __tablename__ = "prompt_version"
    __table_args__ = (CheckConstraint("version >= 1", name="positive"),)

    prompt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("prompt.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    template: Mapped[str] = mapped_column(Text)
    # Default values of the template's variables, by name.
    variables: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


GENERATION_STATUSES = ("running", "finished")


class Generation(Base):
    """One run of the model for a thread: who runs it, its lease, and its idempotency key.

    At most one per thread is ``running`` (a partial unique index), whichever process
    tries to start it. ``owner`` names the process instance; ``heartbeat_at`` is its
    lease. Finished rows (and their events) are pruned after the event retention.
    """

    # Server-side defaults (timestamps, statuses) come back with the INSERT/UPDATE
    # (RETURNING) instead of a second query.
    __mapper_args__ = {"eager_defaults": True}
    __tablename__ = "generation"
    __table_args__ = (
        CheckConstraint(_in_list("status", GENERATION_STATUSES), name="status"),
        Index(
            "uq_generation_thread_id_running",
            "thread_id",
            unique=True,
            postgresql_where=text("status = 'running'"),
        ),
        Index(
            "uq_generation_thread_id_idempotency_key",
            "thread_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index("ix_generation_status_finished_at", "status", "finished_at"),
        Index("ix_generation_principal_id_created_at", "principal_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    # Who asked for it (whose quotas it counts against); NULL for rows older than keys.
    principal_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("principal.id", ondelete="SET NULL")
    )
    # The reply being written now (a tool round moves it to the next reply row).
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL")
    )
    # A compare run's replies, in order (the first is ``message_id``); NULL for a run of one.
    variant_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(UUID(as_uuid=True)))
    status: Mapped[str] = mapped_column(Text, server_default="running")
    owner: Mapped[str] = mapped_column(Text)
    cancel_requested: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    request_hash: Mapped[str | None] = mapped_column(Text)
    heartbeat_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class GenerationEvent(Base):
    """One SSE event of a generation, append-only, kept for resuming on any process."""

    __tablename__ = "generation_event"

    generation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("generation.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(Text)
    # The JSON text exactly as it was sent, so a replay is byte-identical.
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )


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


class Xid8(UserDefinedType[int]):
    """Postgres's 64-bit transaction id (``xid8``), which never wraps around."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        """The column's type in DDL."""
        return "xid8"


# So that reflection (Alembic's comparison of the models with the database) knows it.
ischema_names["xid8"] = Xid8


class FeedEvent(Base):
    """One change of a thread for the live feeds, append-only.

    Appended only by the triggers of migration 0010 on ``thread``, ``message`` and
    ``generation`` (so every writer, psql included, produces them); pruned after the
    event retention. No foreign key: a ``thread.deleted`` row outlives its thread.
    ``subject_id`` is the thread, message or generation the change is about; ``xid`` the
    transaction that wrote the row: readers take rows in ``(xid, id)`` order, only those
    of transactions that have all ended (``api.stores.feed``).
    """

    __tablename__ = "feed_event"
    __table_args__ = (
        CheckConstraint(_in_list("kind", FEED_KINDS), name="kind"),
        Index("ix_feed_event_thread_id_xid_id", "thread_id", "xid", "id"),
        Index("ix_feed_event_owner_id_xid_id", "owner_id", "xid", "id"),
        Index("ix_feed_event_xid_id", "xid", "id"),
        Index("ix_feed_event_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    thread_id: Mapped[uuid.UUID]
    owner_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(Text)
    subject_id: Mapped[uuid.UUID]
    xid: Mapped[int] = mapped_column(Xid8, server_default=func.pg_current_xact_id())
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )


class ModelRequest(Base):
    """One call of the model as it went out and what came back besides text: the
    request body exactly as sent (model, params, composed messages, tools offered; never
    a key or header) and the upstream's id, fingerprint and raw finish reason.

    One row per model call (a reply with tool rounds has one per round), written with the
    final write of the reply row it produced. JSONB above about 2 kB is TOASTed
    (compressed and stored out of line) by Postgres itself.
    """

    __tablename__ = "model_request"
    __table_args__ = (
        Index("ix_model_request_message_id", "message_id"),
        Index("ix_model_request_generation_id", "generation_id"),
        Index("ix_model_request_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # The run that made the call; no foreign key: generations are pruned within the
    # hour, and the calls of one run must still be found together afterwards.
    generation_id: Mapped[uuid.UUID]
    # The reply row the call wrote.
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("thread.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )
    request: Mapped[dict[str, Any]]
    response: Mapped[dict[str, Any]]
