"""The end of a generation: one shielded transaction stores the reply, its events and
the generation's end; a failed final write still releases the thread."""

from __future__ import annotations

import logging

import msgspec
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
from api.stores.events import append_events, read_closing_events
from api.stores.generations import GenerationStore
from api.stores.messages import MessageStore
from api.stores.requests import log_call
from api.stores.threads import ThreadStore
from api.stores.usage import UsageStore
from db.transient import retrying

logger = logging.getLogger(__name__)


async def store_reply(
    session: AsyncSession, plan: GenerationPlan, turn: Turn, reply: Reply
) -> Message | None:
    """Write a turn's reply row as it ended, with the request log of its model call (in the
    same statement), and count its tokens for the principal who asked; its client view
    (None if it was deleted)."""
    logged = None
    if reply.request is not None:
        logged = log_call(
            generation_id=plan.generation_id,
            message_id=turn.assistant_id,
            thread_id=plan.thread_id,
            request=reply.request,
            response=msgspec.to_builtins(reply.response),
        )
    row = await MessageStore(session).finish_reply(
        turn.assistant_id, reply.final_values(), with_cte=logged
    )
    await UsageStore(session).add(
        plan.principal_id, reply.prompt_tokens or 0, reply.completion_tokens or 0
    )
    return None if row is None else to_message(row, turn.sibling_ids)


async def finish_generation(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    owner: str,
    plan: GenerationPlan,
    stream: GenerationStream,
    ends: list[tuple[Turn, Reply]],
) -> None:
    """Store the final rows (one, or each reply of a compare run), the remaining events
    and the generation's end in one transaction, then publish ``message.completed``
    (per reply) and ``done`` locally.

    A deadlock, a serialization failure or a connection lost before COMMIT is retried
    (the reply's text is in memory until this commits, so it is never lost to one).
    """
    final: list[Event] = []
    try:
        while stream.persisting is not None:
            await stream.persisting.wait()
        pending = stream.take_unpersisted()
        async for attempt in retrying():
            with attempt:
                final = await _final_write(session, owner, plan, stream, ends, pending)
    except Exception as exc:
        logger.exception("could not store the reply of generation %s", plan.generation_id)
        await _release(session_factory, plan, [turn for turn, _ in ends], describe_exception(exc))
        error = ErrorPayload(code="storage_failed", detail=describe_exception(exc))
        final = stream.prepare(
            [("error", encode_payload(error)), ("done", encode_payload(DonePayload()))]
        )
    finally:
        stream.deliver(final)
        stream.mark_finished()


async def _final_write(
    session: AsyncSession,
    owner: str,
    plan: GenerationPlan,
    stream: GenerationStream,
    ends: list[tuple[Turn, Reply]],
    pending: list[Event],
) -> list[Event]:
    """One attempt at the final transaction; the closing events it stored."""
    await session.rollback()
    # The thread first, like every transaction that changes its messages (one lock
    # order); then the generation, fenced: a reaped one is not ours to write.
    await ThreadStore(session).lock(plan.thread_id)
    if not await GenerationStore(session).finish(plan.generation_id, owner=owner):
        await session.rollback()
        return await _reaped_ending(session, plan, stream)
    items: list[tuple[EventName, str]] = []
    for turn, reply in ends:
        finished = await store_reply(session, plan, turn, reply)
        if finished is not None:
            completed = MessageCompleted(message=finished)
            items.append(("message.completed", encode_payload(completed)))
    await ThreadStore(session).touch(plan.thread_id)
    items.append(("done", encode_payload(DonePayload())))
    final = stream.prepare(items)
    await append_events(session, [(stream.id, [*pending, *final])], owner=None)
    await session.commit()
    return final


async def _reaped_ending(
    session: AsyncSession, plan: GenerationPlan, stream: GenerationStream
) -> list[Event]:
    """Another process took this generation for dead and closed it: this process's
    followers end the way the stored events say, not with a contradicting reply."""
    logger.warning("generation %s was reaped by another process; not storing", plan.generation_id)
    stored = await read_closing_events(session, plan.generation_id)
    await session.rollback()
    return stream.prepare([(event.name, event.data) for event in stored])


async def _release(
    session_factory: async_sessionmaker[AsyncSession],
    plan: GenerationPlan,
    turns: list[Turn],
    detail: str,
) -> None:
    """Best effort after a failed final write: never leave the thread busy."""
    try:
        async with session_factory() as session:
            for turn in turns:
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
