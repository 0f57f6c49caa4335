"""The end of a generation: one shielded transaction stores the reply, its events and
the generation's end; a failed final write still releases the thread."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.generation.plan import GenerationPlan, Turn
from api.generation.reply import Reply
from api.generation.stream import GenerationStream
from api.schemas.events import (
    DonePayload,
    ErrorPayload,
    Event,
    EventName,
    MessageCompleted,
    encode_payload,
)
from api.schemas.messages import Message
from api.schemas.views import to_message
from api.stores.events import append_events
from api.stores.generations import GenerationStore
from api.stores.messages import MessageStore
from api.stores.threads import ThreadStore

logger = logging.getLogger(__name__)


async def store_reply(session: AsyncSession, turn: Turn, reply: Reply) -> Message | None:
    """Write a turn's reply row as it ended; its client view (None if it was deleted)."""
    row = await MessageStore(session).finish_reply(turn.assistant_id, reply.final_values())
    return None if row is None else to_message(row, turn.sibling_ids)


async def finish_generation(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    plan: GenerationPlan,
    stream: GenerationStream,
    turn: Turn,
    reply: Reply,
) -> None:
    """Store the final row, the remaining events and the generation's end in one
    transaction, then publish ``message.completed`` and ``done`` locally."""
    final: list[Event] = []
    try:
        await session.rollback()
        finished = await store_reply(session, turn, reply)
        await ThreadStore(session).touch(plan.thread_id)
        items: list[tuple[EventName, str]] = []
        if finished is not None:
            items.append(("message.completed", encode_payload(MessageCompleted(message=finished))))
        items.append(("done", encode_payload(DonePayload())))
        while stream.persisting is not None:
            await stream.persisting.wait()
        final = stream.prepare(items)
        pending = stream.take_unpersisted()
        await append_events(session, [(stream.id, [*pending, *final])])
        await GenerationStore(session).finish(plan.generation_id)
        await session.commit()
    except Exception as exc:
        logger.exception("could not store the reply of generation %s", plan.generation_id)
        await _release(session_factory, plan, turn, describe_exception(exc))
        error = ErrorPayload(code="storage_failed", detail=describe_exception(exc))
        final = stream.prepare(
            [("error", encode_payload(error)), ("done", encode_payload(DonePayload()))]
        )
    finally:
        stream.deliver(final)
        stream.mark_finished()


async def _release(
    session_factory: async_sessionmaker[AsyncSession],
    plan: GenerationPlan,
    turn: Turn,
    detail: str,
) -> None:
    """Best effort after a failed final write: never leave the thread busy."""
    try:
        async with session_factory() as session:
            await MessageStore(session).fail_if_running(
                turn.assistant_id, f"could not store the reply: {detail}"
            )
            await GenerationStore(session).finish(plan.generation_id)
            await session.commit()
    except Exception:
        logger.exception("could not release generation %s", plan.generation_id)


def describe_exception(exc: BaseException) -> str:
    """A one-line description of ``exc`` for an error event or the ``error`` column."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
