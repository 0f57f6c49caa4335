"""Store a few demo threads, so a fresh playground has something to show.

    uv run playground seed            # or: uv run python -m scripts.seed

Each demo thread has a title, a system prompt and a short conversation tree: one
shows a regenerated reply (two assistant versions under one user message), one a
branch (two different follow-up questions under one assistant reply). The assistant
texts, token counts and finish reasons are what the offline model answers to that
exact conversation (``api.llm.offline.compose_reply``), so a regenerate or a send
with the same parameters gives the same words; the timings are what its paced
stream would take.

Idempotent: each demo thread carries a stable key in ``metadata->>'seed'``, and a
thread whose key is already stored is skipped (even if it was edited since). Each
thread is written in its own transaction, under an advisory lock on its key, so two
seeders running at once still store every demo thread once.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tqdm import tqdm

from api.llm.offline import OfflineReply, compose_reply
from api.settings import OFFLINE_MODEL, Settings, load_settings
from db import models as m
from db.engine import create_engine, create_session_factory
from db.urls import resolve_database_url

# Namespace of the advisory locks taken per demo key (any constant int4 will do).
_LOCK_NAMESPACE: Final = 7_270_001
# Time between two messages of a demo conversation, and between two demo threads.
_MESSAGE_STEP: Final = timedelta(seconds=5)
_THREAD_STEP: Final = timedelta(minutes=10)
# In-process overhead of an offline reply on top of its paced chunks, in milliseconds.
_OVERHEAD_MS: Final = 4.0
# Seeds tried, in order, for a regenerated reply until its words differ from the others.
_REGENERATE_SEEDS: Final = range(1, 64)


@dataclass(frozen=True)
class Turn:
    """One demo message and the turns that follow it.

    A user turn has ``text``; an assistant turn has none and gets the offline model's
    reply. ``regenerated`` marks an assistant turn made by "regenerate": it is given
    the first sampling seed whose reply differs from its earlier siblings'.
    """

    role: Literal["user", "assistant"]
    text: str = ""
    regenerated: bool = False
    replies: tuple[Turn, ...] = ()


def user(text: str, *replies: Turn) -> Turn:
    """A user turn followed by ``replies`` (alternatives, oldest first)."""
    return Turn("user", text, replies=replies)


def assistant(*replies: Turn, regenerated: bool = False) -> Turn:
    """An assistant turn (text from the offline model) followed by ``replies``."""
    return Turn("assistant", regenerated=regenerated, replies=replies)


@dataclass(frozen=True)
class DemoThread:
    """A demo thread: its stable key, settings and conversation tree.

    The thread's head is its newest leaf, as after the last send or regenerate.
    """

    key: str
    title: str
    system_prompt: str
    root: Turn
    params: dict[str, Any] = field(default_factory=dict)


DEMO_THREADS: Final[tuple[DemoThread, ...]] = (
    DemoThread(
        key="demo-haiku-tutor",
        title="Haiku tutor",
        system_prompt=(
            "You are a patient haiku tutor. Explain the 5-7-5 syllable form in plain "
            "words, give one example per answer, and suggest one improvement to any "
            "lines the student writes."
        ),
        params={"temperature": 0.9},
        root=user(
            "What makes a haiku a haiku?",
            assistant(
                user(
                    "Write a haiku about a database that never forgets.",
                    assistant(),
                    assistant(regenerated=True),
                ),
            ),
        ),
    ),
    DemoThread(
        key="demo-sql-helper",
        title="SQL helper",
        system_prompt=(
            "You are a PostgreSQL expert. Answer with one runnable query first, then "
            "explain it in at most three sentences. Prefer standard SQL."
        ),
        params={"temperature": 0.2, "max_tokens": 400},
        root=user(
            "I have tables thread(id, title) and message(id, thread_id, created_at). "
            "How do I list the threads by their latest message?",
            assistant(
                user(
                    "Can you write it with a LATERAL join instead?",
                    assistant(),
                ),
                user(
                    "Which index makes that query fast?",
                    assistant(),
                ),
            ),
        ),
    ),
    DemoThread(
        key="demo-french-translator",
        title="French translator",
        system_prompt=(
            "You translate English into natural French. Give the translation only, "
            "then one short note when a word has no direct equivalent."
        ),
        params={"temperature": 0.3},
        root=user(
            "Translate: 'The meeting has been moved to Thursday morning.'",
            assistant(
                user(
                    "Now make it formal, for an email to a client.",
                    assistant(
                        user(
                            "And a casual version, for a text message to a friend?",
                            assistant(),
                        ),
                    ),
                ),
            ),
        ),
    ),
)


@dataclass(frozen=True)
class SeedSummary:
    """What one run did: demo threads stored, and those found already stored."""

    created: list[str]
    skipped: list[str]

    def line(self) -> str:
        """The one-line report printed at the end of a run."""
        return f"seeded {len(self.created)} threads, skipped {len(self.skipped)} existing"


class _Clock:
    """Explicit, increasing timestamps: the tree's order never depends on timing."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def tick(self) -> datetime:
        self.now += _MESSAGE_STEP
        return self.now


def _context(demo: DemoThread, path: list[m.Message]) -> list[dict[str, Any]]:
    """What the model is sent for a reply after ``path`` (as the API builds it)."""
    context: list[dict[str, Any]] = [{"role": "system", "content": demo.system_prompt}]
    for row in path:
        if row.role in ("system", "user") or (row.role == "assistant" and row.content):
            context.append({"role": row.role, "content": row.content})
    return context


def _compose(context: list[dict[str, Any]], params: dict[str, Any]) -> OfflineReply:
    """The offline model's reply to ``context`` with ``params``, as its server calls it."""
    temperature = params.get("temperature")
    return compose_reply(
        context,
        max_tokens=params.get("max_tokens"),
        seed=params.get("seed"),
        temperature=float(temperature) if temperature is not None else None,
    )


def _reply_for(
    demo: DemoThread, turn: Turn, context: list[dict[str, Any]], siblings: list[m.Message]
) -> tuple[dict[str, Any], OfflineReply]:
    """The parameters and reply of an assistant turn."""
    params = dict(demo.params)
    if not turn.regenerated:
        return params, _compose(context, params)
    taken = {row.content for row in siblings if row.role == "assistant"}
    reply = _compose(context, params)
    for seed in _REGENERATE_SEEDS:
        if reply.text not in taken:
            break
        params = {**demo.params, "seed": seed}
        reply = _compose(context, params)
    return params, reply


def _timings(reply: OfflineReply, chunk_delay_ms: float) -> tuple[float, float]:
    """Time to first token and duration of the offline model's paced stream, in ms.

    Its parts are the role chunk, one chunk per step, the finish chunk, the usage chunk
    and ``[DONE]``, each ``chunk_delay_ms`` after the previous one.
    """
    first_token = chunk_delay_ms + _OVERHEAD_MS
    duration = (len(reply.steps) + 3) * chunk_delay_ms + _OVERHEAD_MS
    return first_token, duration


def build_messages(
    demo: DemoThread, thread_id: uuid.UUID, start: datetime, chunk_delay_ms: float
) -> list[m.Message]:
    """The message rows of ``demo``, in creation order (the last one is the head).

    Rows are listed depth first, alternatives oldest first, each created
    ``_MESSAGE_STEP`` after the previous one.
    """
    clock = _Clock(start)
    rows: list[m.Message] = []

    def walk(turn: Turn, path: list[m.Message], siblings: list[m.Message]) -> m.Message:
        created_at = clock.tick()
        parent_id = path[-1].id if path else None
        if turn.role == "user":
            row = m.Message(
                id=uuid.uuid4(),
                thread_id=thread_id,
                parent_id=parent_id,
                role="user",
                content=turn.text,
                status="completed",
                created_at=created_at,
                updated_at=created_at,
            )
        else:
            context = _context(demo, path)
            params, reply = _reply_for(demo, turn, context, siblings)
            first_token_ms, duration_ms = _timings(reply, chunk_delay_ms)
            completed_at = created_at + timedelta(milliseconds=duration_ms)
            row = m.Message(
                id=uuid.uuid4(),
                thread_id=thread_id,
                parent_id=parent_id,
                role="assistant",
                content=reply.text,
                status="completed",
                model=OFFLINE_MODEL,
                params=params,
                request_message_count=len(context),
                prompt_tokens=reply.usage.prompt_tokens,
                completion_tokens=reply.usage.completion_tokens,
                finish_reason=reply.finish_reason,
                time_to_first_token_ms=first_token_ms,
                duration_ms=duration_ms,
                created_at=created_at,
                updated_at=completed_at,
                completed_at=completed_at,
            )
        rows.append(row)
        children: list[m.Message] = []
        for reply_turn in turn.replies:
            children.append(walk(reply_turn, [*path, row], children))
        return row

    walk(demo.root, [], [])
    return rows


async def _seed_thread(
    session: AsyncSession, demo: DemoThread, start: datetime, chunk_delay_ms: float
) -> bool:
    """Store ``demo`` unless a thread with its key exists; True if it was stored."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:key))"),
        {"namespace": _LOCK_NAMESPACE, "key": demo.key},
    )
    existing = await session.scalar(
        select(m.Thread.id).where(m.Thread.metadata_["seed"].astext == demo.key).limit(1)
    )
    if existing is not None:
        return False
    thread = m.Thread(
        id=uuid.uuid4(),
        title=demo.title,
        system_prompt=demo.system_prompt,
        model=OFFLINE_MODEL,
        params=dict(demo.params),
        tools=[],
        metadata_={"seed": demo.key},
        created_at=start,
        updated_at=start,
        last_activity_at=start,
    )
    session.add(thread)
    await session.flush()
    rows = build_messages(demo, thread.id, start, chunk_delay_ms)
    # Rows of one table are inserted in the order they were added: parents first.
    session.add_all(rows)
    await session.flush()
    head = rows[-1]
    thread.head_id = head.id
    thread.last_activity_at = max(row.completed_at or row.created_at for row in rows)
    return True


async def seed_demo_threads(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime | None = None,
) -> SeedSummary:
    """Store every demo thread not stored yet, one transaction per thread.

    The demo conversations are dated in the hour before ``now`` (default: the database
    server's clock), one thread ``_THREAD_STEP`` after the other.
    """
    now = now or await _server_now(sessions)
    first_start = now - _THREAD_STEP * (len(DEMO_THREADS) + 1)
    chunk_delay_ms = settings.models.playground_offline_chunk_delay_ms
    created: list[str] = []
    skipped: list[str] = []
    with tqdm(DEMO_THREADS, desc="seeding", unit="thread", file=sys.stderr) as progress:
        for index, demo in enumerate(progress):
            progress.set_postfix_str(demo.key)
            start = first_start + _THREAD_STEP * index
            async with sessions() as session, session.begin():
                stored = await _seed_thread(session, demo, start, chunk_delay_ms)
            (created if stored else skipped).append(demo.key)
    return SeedSummary(created=created, skipped=skipped)


async def _server_now(sessions: async_sessionmaker[AsyncSession]) -> datetime:
    """The database server's clock, so demo rows sort right against the API's rows."""
    async with sessions() as session:
        value = await session.scalar(select(func.clock_timestamp()))
    return value if isinstance(value, datetime) else datetime.now(UTC)


async def _seed(url: str, settings: Settings) -> SeedSummary:
    # One session at a time, so one connection is enough.
    engine = create_engine(url, pool_size=1, echo=settings.db.playground_db_echo)
    try:
        return await seed_demo_threads(create_session_factory(engine), settings)
    finally:
        await engine.dispose()


def seed(url: str, settings: Settings) -> int:
    """Store the demo threads in the migrated database at ``url``; return the exit status.

    ``url`` is a plain ``postgresql://`` URL. Prints a progress bar (stderr) and a
    summary line (stdout). Runs its own event loop, so call it outside of one (from
    async code: ``await asyncio.to_thread(seed, url, settings)``).
    """
    summary = asyncio.run(_seed(url, settings))
    print(summary.line())
    return 0


def main() -> int:
    """``python -m scripts.seed``: migrate the configured database, then seed it."""
    from db.migrate import upgrade

    settings = load_settings()
    url = resolve_database_url(settings.db.database_url, settings.db.data_dir)
    upgrade(url)
    return seed(url, settings)


if __name__ == "__main__":
    raise SystemExit(main())
