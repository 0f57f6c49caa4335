"""The generation pipeline: call the model, stream its reply to followers, store it.

A generation runs as a task of the app's task group with its own DB session, so
it never depends on the HTTP connection that started it. Text is kept in memory
and written to the assistant row in batches; the final write is shielded from
cancellation so a stop, a shutdown or a dropped client never loses the reply.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import anyio
import openai
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.errors import UpstreamError, UpstreamTimeoutError
from api.generation.events import (
    DonePayload,
    ErrorPayload,
    Event,
    EventName,
    MessageCompleted,
    MessageCreated,
    MessageDelta,
    encode_payload,
)
from api.generation.store import write_events
from api.generation.stream import GenerationStream
from api.llm.errors import describe_upstream_error
from api.llm.router import ModelRouter
from api.messages.mapping import to_message
from api.messages.queries import sibling_ids
from api.messages.schemas import Message
from api.settings import GenerationSettings
from db import models as m

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GenerationPlan:
    """Everything a generation needs, decided and stored by the request handler."""

    generation_id: UUID
    thread_id: UUID
    assistant_id: UUID
    user_id: UUID | None
    announce: list[Message]
    model: str
    params: dict[str, Any]
    context: list[dict[str, Any]]


@dataclass(slots=True)
class Reply:
    """The reply as it accumulates in memory between batched writes."""

    started: float = field(default_factory=time.perf_counter)
    parts: list[str] = field(default_factory=list)
    unflushed_chars: int = 0
    last_flush: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    status: str = "interrupted"
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None

    @property
    def content(self) -> str:
        """The text received so far."""
        return "".join(self.parts)

    def milliseconds_since_start(self, moment: float | None) -> float | None:
        """Milliseconds from the start of the model call to ``moment``."""
        return None if moment is None else round((moment - self.started) * 1000, 3)


class GenerationRunner:
    """Runs one generation from a stored plan to its final row."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        router: ModelRouter,
        settings: GenerationSettings,
    ) -> None:
        self._session_factory = session_factory
        self._router = router
        self._flush_interval = settings.playground_flush_interval_ms / 1000
        self._flush_chars = settings.playground_flush_chars

    async def run(self, plan: GenerationPlan, stream: GenerationStream) -> None:
        """Generate, publish and store one reply; always ends with ``done``."""
        for message in plan.announce:
            stream.publish("message.created", encode_payload(MessageCreated(message=message)))
        reply = Reply()
        async with self._session_factory() as session:
            try:
                with anyio.CancelScope() as scope:
                    stream.cancel_scope = scope
                    if stream.cancel_reason is not None:
                        scope.cancel()
                    await self._stream_reply(session, plan, stream, reply)
                if scope.cancelled_caught:
                    reply.status = stream.cancel_reason or "cancelled"
            except Exception as exc:
                logger.exception("generation %s failed", plan.generation_id)
                self._fail(stream, reply, f"internal error: {type(exc).__name__}: {exc}")
            finally:
                with anyio.CancelScope(shield=True):
                    await self._finish(session, plan, stream, reply)

    async def _stream_reply(
        self,
        session: AsyncSession,
        plan: GenerationPlan,
        stream: GenerationStream,
        reply: Reply,
    ) -> None:
        try:
            upstream = await self._router.open_stream(plan.model, plan.context, plan.params)
        except openai.APIError as exc:
            status, detail = describe_upstream_error(exc)
            reply.status, reply.error = "failed", detail
            error_class = UpstreamTimeoutError if status == 504 else UpstreamError
            stream.fail_open(error_class(detail))
            return
        stream.mark_opened()
        try:
            async for chunk in upstream:
                if chunk.usage is not None:
                    reply.prompt_tokens = chunk.usage.prompt_tokens
                    reply.completion_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices:
                    text = choice.delta.content if choice.delta else None
                    if text:
                        self._append(stream, plan.assistant_id, reply, text)
                        if self._due(reply):
                            await self._flush(session, plan.assistant_id, reply)
                    if choice.finish_reason:
                        reply.finish_reason = choice.finish_reason
            reply.status = "completed"
        except Exception as exc:
            # Anything breaking the stream here (dropped connection, malformed chunk, an
            # error event) comes from the model server: the reply fails, the text is kept.
            self._fail(stream, reply, f"the model server stream broke: {describe_exception(exc)}")
        finally:
            with anyio.CancelScope(shield=True):
                await upstream.close()

    def _append(self, stream: GenerationStream, message_id: UUID, reply: Reply, text: str) -> None:
        if reply.first_token_at is None:
            reply.first_token_at = time.perf_counter()
        reply.parts.append(text)
        reply.unflushed_chars += len(text)
        stream.publish(
            "message.delta", encode_payload(MessageDelta(message_id=message_id, content=text))
        )

    def _due(self, reply: Reply) -> bool:
        return (
            reply.unflushed_chars >= self._flush_chars
            or time.perf_counter() - reply.last_flush >= self._flush_interval
        )

    async def _flush(self, session: AsyncSession, message_id: UUID, reply: Reply) -> None:
        await session.execute(
            update(m.Message)
            .where(m.Message.id == message_id)
            .values(content=reply.content, updated_at=func.clock_timestamp())
        )
        await session.commit()
        reply.unflushed_chars = 0
        reply.last_flush = time.perf_counter()

    def _fail(self, stream: GenerationStream, reply: Reply, detail: str) -> None:
        reply.status, reply.error = "failed", detail
        stream.publish(
            "error", encode_payload(ErrorPayload(code="generation_failed", detail=detail))
        )

    async def _finish(
        self,
        session: AsyncSession,
        plan: GenerationPlan,
        stream: GenerationStream,
        reply: Reply,
    ) -> None:
        """Store the final row, the remaining events and the generation's end in one
        transaction, then publish ``message.completed`` and ``done`` locally."""
        ended = time.perf_counter()
        final: list[Event] = []
        try:
            await session.rollback()
            row = (
                await session.execute(
                    update(m.Message)
                    .where(m.Message.id == plan.assistant_id)
                    .values(
                        content=reply.content,
                        status=reply.status,
                        finish_reason=reply.finish_reason,
                        prompt_tokens=reply.prompt_tokens,
                        completion_tokens=reply.completion_tokens,
                        time_to_first_token_ms=reply.milliseconds_since_start(reply.first_token_at),
                        duration_ms=reply.milliseconds_since_start(ended),
                        error=reply.error,
                        updated_at=func.clock_timestamp(),
                        completed_at=func.clock_timestamp(),
                    )
                    .returning(m.Message)
                )
            ).scalar_one_or_none()
            await session.execute(
                update(m.Thread)
                .where(m.Thread.id == plan.thread_id)
                .values(last_activity_at=func.clock_timestamp())
            )
            items: list[tuple[EventName, str]] = []
            if row is not None:
                siblings = await sibling_ids(session, row)
                completed = MessageCompleted(message=to_message(row, siblings))
                items.append(("message.completed", encode_payload(completed)))
            items.append(("done", encode_payload(DonePayload())))
            while stream.persisting is not None:
                await stream.persisting.wait()
            final = stream.prepare(items)
            pending = stream.take_unpersisted()
            await write_events(session, [(stream, [*pending, *final])])
            await session.execute(
                update(m.Generation)
                .where(m.Generation.id == plan.generation_id)
                .values(status="finished", finished_at=func.clock_timestamp())
            )
            await session.commit()
        except Exception as exc:
            logger.exception("could not store the reply of generation %s", plan.generation_id)
            await self._release(plan, describe_exception(exc))
            error = ErrorPayload(code="storage_failed", detail=describe_exception(exc))
            final = stream.prepare(
                [("error", encode_payload(error)), ("done", encode_payload(DonePayload()))]
            )
        finally:
            stream.deliver(final)
            stream.mark_finished()

    async def _release(self, plan: GenerationPlan, detail: str) -> None:
        """Best effort after a failed final write: never leave the thread busy."""
        try:
            async with self._session_factory() as session:
                await session.execute(
                    update(m.Message)
                    .where(m.Message.id == plan.assistant_id, m.Message.status == "in_progress")
                    .values(status="failed", error=f"could not store the reply: {detail}")
                )
                await session.execute(
                    update(m.Generation)
                    .where(m.Generation.id == plan.generation_id)
                    .values(status="finished", finished_at=func.clock_timestamp())
                )
                await session.commit()
        except Exception:
            logger.exception("could not release generation %s", plan.generation_id)


def describe_exception(exc: BaseException) -> str:
    """A one-line description of ``exc`` for an error event or the ``error`` column."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
