"""The generation pipeline: call the model, stream its reply to followers, store it.

A generation runs as a task of the app's task group with its own DB session, so
it never depends on the HTTP connection that started it. Text is kept in memory
and written to the assistant row in batches; the final write is shielded from
cancellation so a stop, a shutdown or a dropped client never loses the reply.
When the model calls tools, ``ToolRounds`` stores the round and the model is
called again with the results.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from uuid import UUID

import anyio
import openai
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api import metrics
from api.errors import UpstreamError, UpstreamTimeoutError
from api.generation.finish import describe_exception, finish_generation
from api.generation.plan import GenerationPlan, Turn
from api.generation.reply import Reply, ToolCallBuffer
from api.generation.rounds import ToolRounds
from api.generation.stream import GenerationStream
from api.llm.chunks import ChunkStream
from api.llm.errors import describe_upstream_error
from api.llm.request import ToolSpec
from api.llm.router import ModelRouter
from api.schemas.events import ErrorPayload, MessageCreated, encode_payload
from api.schemas.requests import ModelResponse
from api.schemas.views import usage_of
from api.settings import GenerationSettings
from api.stores.messages import save_partial_content
from api.tools.client import client_spec
from api.tools.registry import ToolRegistry

logger = logging.getLogger(__name__)

EARLY_END = "the model server ended the stream early"


class GenerationRunner:
    """Runs one generation from a stored plan to its final row."""

    def __init__(
        self,
        owner: str,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        router: ModelRouter,
        registry: ToolRegistry,
        settings: GenerationSettings,
    ) -> None:
        self._owner = owner
        self._engine = engine
        self._session_factory = session_factory
        self._router = router
        self._registry = registry
        self._rounds = ToolRounds(
            owner, session_factory, registry, settings.playground_max_tool_rounds
        )
        self._flush_interval = settings.playground_flush_interval_ms / 1000
        self._flush_chars = settings.playground_flush_chars
        self._idle_s = min(
            router.settings.playground_upstream_idle_timeout_s,
            router.settings.playground_upstream_timeout_s,
        )

    async def run(self, plan: GenerationPlan, stream: GenerationStream) -> None:
        """Generate, publish and store the reply (and its tool rounds); ends with ``done``."""
        for message in plan.announce:
            stream.publish("message.created", encode_payload(MessageCreated(message=message)))
        if plan.variants:
            await self._compare(plan, stream)
            return
        turn = Turn(
            assistant_id=plan.assistant_id,
            context=list(plan.context),
            sibling_ids=plan.announce[-1].sibling_ids,
        )
        # The same for every round of the generation.
        tools = self._tool_specs(plan)
        async with self._session_factory() as session:
            while True:
                reply = Reply()
                next_turn: Turn | None = None
                try:
                    with stream.cancellable() as scope:
                        await self._stream_reply(plan, tools, stream, turn, reply)
                        if reply.status == "completed" and reply.calls:
                            next_turn = await self._rounds.run(session, plan, stream, turn, reply)
                    if scope.cancelled_caught:
                        reply.status = stream.cancel_reason or "cancelled"
                        next_turn = None
                except Exception as exc:
                    logger.exception("generation %s failed", plan.generation_id)
                    self._fail(plan, stream, reply, f"internal error: {type(exc).__name__}: {exc}")
                    next_turn = None
                metrics.reply_ended(plan.model, reply)
                if next_turn is not None:
                    turn = next_turn
                    continue
                # Counted before the final write, which ends the stream: a client that
                # saw ``done`` finds the generation counted.
                metrics.generation_finished(plan.model, reply.status)
                with anyio.CancelScope(shield=True):
                    await finish_generation(
                        session, self._session_factory, self._owner, plan, stream, [(turn, reply)]
                    )
                return

    async def _compare(self, plan: GenerationPlan, stream: GenerationStream) -> None:
        """A compare run: every variant's model call at once, their text interleaved on
        the one stream, then one final write of all the replies. No tools are offered,
        so each variant is one call. The response starts at once: a variant whose model
        server fails is a ``failed`` reply (an ``error`` event naming it), not an HTTP
        error."""
        stream.mark_opened()
        sibling_ids = plan.announce[-1].sibling_ids
        ends = [
            (
                replace(
                    plan,
                    assistant_id=variant.assistant_id,
                    model=variant.model,
                    params=variant.params,
                ),
                Turn(variant.assistant_id, list(plan.context), sibling_ids),
                Reply(),
            )
            for variant in plan.variants
        ]
        async with anyio.create_task_group() as group:
            for one, turn, reply in ends:
                group.start_soon(self._variant, one, stream, turn, reply)
        metrics.generation_finished(plan.model, ends[0][2].status)
        async with self._session_factory() as session:
            with anyio.CancelScope(shield=True):
                await finish_generation(
                    session,
                    self._session_factory,
                    self._owner,
                    plan,
                    stream,
                    [(turn, reply) for _, turn, reply in ends],
                )

    async def _variant(
        self, plan: GenerationPlan, stream: GenerationStream, turn: Turn, reply: Reply
    ) -> None:
        """One reply of a compare run, until it ends (or the run is stopped)."""
        try:
            with stream.cancellable() as scope:
                await self._stream_reply(plan, [], stream, turn, reply)
            if scope.cancelled_caught:
                reply.status = stream.cancel_reason or "cancelled"
        except Exception as exc:
            logger.exception("generation %s failed", plan.generation_id)
            self._fail(plan, stream, reply, f"internal error: {type(exc).__name__}: {exc}")
        reply.ended_at = time.perf_counter()
        metrics.reply_ended(plan.model, reply)

    async def _stream_reply(
        self,
        plan: GenerationPlan,
        tools: list[ToolSpec],
        stream: GenerationStream,
        turn: Turn,
        reply: Reply,
    ) -> None:
        reply.request = self._router.request_body(plan.model, turn.context, plan.params, tools)
        try:
            upstream = await self._router.stream_body(reply.request)
        except openai.APIError as exc:
            status, detail = describe_upstream_error(exc)
            if stream.opened:
                self._fail(plan, stream, reply, detail)
            else:
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
                    delta = choice.delta
                    if delta is not None and delta.content:
                        self._append(stream, turn.assistant_id, reply, delta.content)
                        if self._due(reply):
                            await self._flush(turn.assistant_id, reply)
                    if delta is not None and delta.tool_calls:
                        for fragment in delta.tool_calls:
                            buffer = reply.calls.setdefault(fragment.index, ToolCallBuffer())
                            buffer.id = fragment.id or buffer.id
                            if fragment.function is not None:
                                buffer.name += fragment.function.name or ""
                                buffer.arguments += fragment.function.arguments or ""
                    if choice.finish_reason:
                        reply.finish_reason = choice.finish_reason
            # Only the server says a reply is whole: a finish reason and then [DONE].
            if reply.finish_reason and upstream.ended_with_done:
                reply.status = "completed"
            else:
                self._broke(plan, stream, reply, "early_end", EARLY_END)
        except openai.APITimeoutError:
            detail = f"the model server sent nothing for {self._idle_s:g} s"
            self._broke(plan, stream, reply, "stall", detail)
        except Exception as exc:
            # Anything breaking the stream here (dropped connection, malformed chunk, an
            # error event) comes from the model server: the reply fails, the text is kept.
            detail = f"the model server stream broke: {describe_exception(exc)}"
            self._broke(plan, stream, reply, "broken_stream", detail)
        finally:
            reply.response = _response(upstream, reply)
            with anyio.CancelScope(shield=True):
                await upstream.close()

    def _tool_specs(self, plan: GenerationPlan) -> list[ToolSpec]:
        if plan.offered is not None:
            return plan.offered
        specs = self._registry.openai_specs(plan.tools)
        specs.extend(client_spec(function) for function in plan.client_functions.values())
        return specs

    def _append(self, stream: GenerationStream, message_id: UUID, reply: Reply, text: str) -> None:
        if reply.first_token_at is None:
            reply.first_token_at = time.perf_counter()
        reply.parts.append(text)
        reply.unflushed_chars += len(text)
        stream.publish_delta(message_id, text)

    def _due(self, reply: Reply) -> bool:
        return (
            reply.unflushed_chars >= self._flush_chars
            or time.perf_counter() - reply.last_flush >= self._flush_interval
        )

    async def _flush(self, message_id: UUID, reply: Reply) -> None:
        await save_partial_content(self._engine, message_id, reply.content)
        reply.unflushed_chars = 0
        reply.last_flush = time.perf_counter()

    def _broke(
        self, plan: GenerationPlan, stream: GenerationStream, reply: Reply, kind: str, detail: str
    ) -> None:
        """A stream that started and then failed: one log line (never the key), then
        the same ending as any failure after the first byte."""
        metrics.upstream_error(kind)
        logger.warning(
            "model stream failed: model=%s kind=%s generation=%s detail=%s",
            plan.model,
            kind,
            plan.generation_id,
            detail,
        )
        self._fail(plan, stream, reply, detail)

    def _fail(
        self, plan: GenerationPlan, stream: GenerationStream, reply: Reply, detail: str
    ) -> None:
        """The reply failed: an ``error`` event (naming the reply in a compare run)."""
        reply.status, reply.error = "failed", detail
        named = plan.assistant_id if plan.variants else None
        error = ErrorPayload(code="generation_failed", detail=detail, message_id=named)
        stream.publish("error", encode_payload(error))


def _response(upstream: ChunkStream, reply: Reply) -> ModelResponse:
    """What the model server said besides text, for the request log."""
    return ModelResponse(
        id=upstream.response_id,
        model=upstream.model,
        system_fingerprint=upstream.system_fingerprint,
        finish_reason=reply.finish_reason,
        usage=usage_of(reply.prompt_tokens, reply.completion_tokens),
    )
