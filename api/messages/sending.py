"""Sending: store a user message (or tool outputs) and a reply placeholder, then start
the generation that writes the reply.

Sends and regenerations validate and store their rows here, before any response
starts, then hand a ``GenerationPlan`` to the generation manager. The thread row is
locked first, like every transaction that changes a thread's messages. A send makes
all its checks and writes in one statement (``api.stores.sends``) and answers the rule
it broke as the unit of work of a regeneration answers it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import BadRequestError, ConflictError, NotFoundError, UnavailableError
from api.generation.context import ThreadTools, model_context
from api.generation.manager import GenerationManager, new_generation_id
from api.generation.plan import GenerationPlan, Variant
from api.generation.stream import GenerationStream
from api.llm.request import ChatMessage, SentRequest, ToolSpec
from api.llm.router import ModelRouter
from api.messages.idempotency import IdempotentRequest
from api.messages.outputs import answer_rows
from api.messages.rules import busy, check_no_open_calls, parse_parent, refusal
from api.messages.variants import (
    Chosen,
    check_variants,
    choose,
    first_variant,
    offered,
    placeholders,
    run_result,
    side_by_side,
)
from api.prompts.resolve import RenderedPrompt, thread_prompt
from api.quotas import check_limits, check_quotas
from api.schemas.auth import Principal
from api.schemas.events import Event
from api.schemas.messages import (
    CompareResult,
    Message,
    Regenerate,
    SendMessage,
    SendResult,
    ToolOutputs,
)
from api.schemas.views import to_message
from api.settings import GenerationSettings
from api.stores.generations import BUSY_INDEXES, IDEMPOTENCY_INDEX, GenerationStore
from api.stores.messages import MessageStore, message_in
from api.stores.sends import NewSend, NotReached, Refused, SendStore
from api.stores.threads import ThreadStore, thread_not_found
from api.stores.tree import MessageTree
from api.unit_of_work import commit, run_unit
from api.validation import check_content, check_model, check_no_nul
from db import models as m

SEND_ADVICE = "retry with the same Idempotency-Key"


@dataclass(frozen=True, slots=True)
class StartedGeneration:
    """A generation a send or regenerate started, or (``stream`` None) the one an
    earlier request with the same idempotency key started."""

    generation_id: UUID
    stream: GenerationStream | None


class SendService:
    """Send, regenerate and answer tool calls over one DB session."""

    def __init__(
        self,
        session: AsyncSession,
        models: ModelRouter,
        generations: GenerationManager,
        settings: GenerationSettings,
        caller: Principal,
    ) -> None:
        self._session = session
        self._caller = caller
        self._threads = ThreadStore(session, caller.scope)
        self._messages = MessageStore(session)
        self._runs = GenerationStore(session)
        self._sends = SendStore(session)
        self._models = models
        self._generations = generations
        self._max_chars = settings.playground_max_content_chars

    async def send(
        self, thread_id: UUID, body: SendMessage, idempotency_key: str | None = None
    ) -> StartedGeneration:
        """Store the user message and a reply placeholder, then start the generation."""
        return await self._retried(lambda: self._send(thread_id, body, idempotency_key))

    async def regenerate(
        self,
        thread_id: UUID,
        message_id: UUID,
        body: Regenerate,
        idempotency_key: str | None = None,
    ) -> StartedGeneration:
        """Start a new reply beside an assistant message, or below a user message."""
        return await self._retried(
            lambda: self._regenerate(thread_id, message_id, body, idempotency_key)
        )

    async def tool_outputs(
        self, thread_id: UUID, message_id: UUID, body: ToolOutputs
    ) -> StartedGeneration:
        """Store the client's outputs for a reply waiting on them, then resume the reply."""
        return await self._retried(lambda: self._tool_outputs(thread_id, message_id, body))

    async def _retried(
        self, attempt: Callable[[], Awaitable[StartedGeneration]]
    ) -> StartedGeneration:
        """The send's unit of work, run again after a failure before its COMMIT."""
        return await run_unit(self._session, attempt)

    async def _commit(self) -> None:
        """COMMIT the send; a lost COMMIT is a 503 the client retries with its
        Idempotency-Key, never a silent second send."""
        await commit(self._session, "the message", SEND_ADVICE)

    async def _send(
        self, thread_id: UUID, body: SendMessage, idempotency_key: str | None
    ) -> StartedGeneration:
        if body.role != "user":
            raise BadRequestError(
                f"role {body.role!r} is only allowed with generate: false",
                extra={"field": "role"},
            )
        check_content(body.content, self._max_chars)
        check_no_nul(body)
        check_variants(body)
        request = IdempotentRequest.of(idempotency_key, f"send {thread_id}", body)
        parent = parse_parent(body.parent_id)
        if body.if_busy == "interrupt" or not self._generations.accepting:
            earlier = await self._settle(thread_id, request, body.if_busy)
            if earlier is not None:
                return earlier
        generation_id = new_generation_id()
        first_model, first_params = first_variant(body)
        found = await self._sends.send(
            NewSend(
                thread_id=thread_id,
                scope=self._caller.scope,
                principal_id=self._caller.id,
                process=self._generations.instance_id,
                content=body.content,
                parent=parent,
                model=first_model,
                params=first_params,
                key=request.key if request else None,
                digest=request.digest if request else None,
                limited=self._caller.limits.any(),
                generation_id=generation_id,
            )
        )
        if isinstance(found, NotReached):
            return await self._not_reached(thread_id, request, found)
        # The rules in the order a regeneration checks them: the model, the parent, the
        # tool outputs, the quotas (counted only past those two), a reply running.
        chosen = choose(self._models, found.thread, body)
        if found.usage is not None:
            check_limits(self._caller.limits, found.usage, len(chosen))
        if isinstance(found, Refused):
            raise refusal(thread_id, found)
        prompt = await thread_prompt(self._session, found.thread)
        if prompt is not None:
            await self._messages.record_prompt(found.reply, prompt.prompt_id, prompt.version)
        tools = offered(found.thread, chosen)
        context = model_context(
            found.thread, [*found.path, found.user], tools, prompt.text if prompt else None
        )
        replies = [found.reply]
        if len(chosen) > 1:
            more = placeholders(found.thread.id, found.user.id, chosen, len(context), prompt)
            replies += more[1:]
            await self._messages.add(replies[1:])
            await self._runs.set_variants(generation_id, [row.id for row in replies])
        await self._commit()
        announce = [to_message(found.user, found.sibling_ids), *side_by_side(replies)]
        return self._launch(found.thread, generation_id, announce, chosen, context, tools, prompt)

    async def _settle(
        self, thread_id: UUID, request: IdempotentRequest | None, if_busy: str
    ) -> StartedGeneration | None:
        """A retry's earlier generation, found before anything is stopped (it may be the
        running reply); else the thread settled for a new reply (or the 503)."""
        await self._threads.check_visible(thread_id)
        earlier = await self._earlier(thread_id, request)
        if earlier is None:
            await self._settle_busy(thread_id, if_busy)
        return earlier

    async def _not_reached(
        self, thread_id: UUID, request: IdempotentRequest | None, found: NotReached
    ) -> StartedGeneration:
        """The earlier request's generation, the 422 for its key reused, or the 404."""
        if found.outcome == "earlier" and found.generation_id is not None:
            # Nothing was stored; end the transaction, which holds the thread's lock.
            await self._session.rollback()
            return StartedGeneration(generation_id=found.generation_id, stream=None)
        if found.outcome == "key_reused" and request is not None:
            raise request.reused()
        raise thread_not_found(thread_id)

    async def _regenerate(
        self,
        thread_id: UUID,
        message_id: UUID,
        body: Regenerate,
        idempotency_key: str | None,
    ) -> StartedGeneration:
        check_no_nul(body)
        check_variants(body)
        request = IdempotentRequest.of(
            idempotency_key, f"regenerate {thread_id} {message_id}", body
        )
        earlier = await self._settle(thread_id, request, body.if_busy)
        if earlier is not None:
            return earlier
        thread = await self._threads.get(thread_id, lock=True)
        tree = await self._messages.tree(thread_id)
        target = message_in(tree, thread_id, message_id)
        if target.role == "assistant":
            parent_id = target.parent_id
        elif target.role == "user":
            parent_id = target.id
        else:
            raise BadRequestError(
                f"message {message_id} is a {target.role} message; regenerate an assistant "
                "reply or a user message",
                extra={"field": "message_id"},
            )
        chosen = choose(self._models, thread, body)
        return await self._start(thread, [], tree.path_to(parent_id), chosen, request, tree)

    async def _tool_outputs(
        self, thread_id: UUID, message_id: UUID, body: ToolOutputs
    ) -> StartedGeneration:
        check_no_nul(body)
        await self._threads.check_visible(thread_id)
        await self._settle_busy(thread_id, "reject")
        thread = await self._threads.get(thread_id, lock=True)
        tree = await self._messages.tree(thread_id)
        waiting = message_in(tree, thread_id, message_id)
        if waiting.status != "requires_action":
            raise ConflictError(
                f"message {message_id} is not waiting for tool outputs (status {waiting.status})"
            )
        rows, below = answer_rows(tree, waiting, body.outputs, self._max_chars)
        self._messages.mark_answered(waiting)
        model, params = waiting.model or thread.model, dict(waiting.params or {})
        check_model(self._models, model)
        path = [*tree.path_to(below), *rows]
        return await self._start(thread, rows, path, [(model, params)], None, tree)

    def follow(self, generation_id: UUID) -> AsyncIterator[Event]:
        """The events of a generation this service started (or an earlier request did)."""
        return self._generations.follow(generation_id)

    async def result(self, generation_id: UUID) -> SendResult | CompareResult:
        """The stored outcome of a finished generation, for a non-streamed request."""
        generation = await self._runs.get(generation_id)
        if generation is None:
            raise NotFoundError(f"generation {generation_id} not found")
        return run_result(await self._messages.tree(generation.thread_id), generation)

    async def _earlier(
        self, thread_id: UUID, request: IdempotentRequest | None
    ) -> StartedGeneration | None:
        """The generation an earlier request with the same idempotency key started."""
        if request is None:
            return None
        generation = await self._runs.by_key(thread_id, request.key)
        if generation is None:
            return None
        if generation.request_hash != request.digest:
            raise request.reused()
        return StartedGeneration(generation_id=generation.id, stream=None)

    async def _settle_busy(self, thread_id: UUID, if_busy: str) -> None:
        """With ``if_busy: interrupt``, stop the running reply (any process) first."""
        if not self._generations.accepting:
            raise UnavailableError("this server is shutting down; retry on another one")
        if if_busy == "interrupt":
            await self._generations.cancel(thread_id, "cancelled")

    async def _start(
        self,
        thread: m.Thread,
        new_rows: list[m.Message],
        path: list[m.Message],
        chosen: Chosen,
        request: IdempotentRequest | None,
        tree: MessageTree,
        sent: SentRequest | None = None,
    ) -> StartedGeneration:
        """Store ``new_rows``, the reply placeholders (one per variant) and the
        generation in one transaction, then start it; with ``sent``, the model gets its
        messages (as first rendered) and tools instead of the thread's (a replay)."""
        thread_id = thread.id  # before a rollback expires it
        check_no_open_calls(thread_id, path)
        await check_quotas(self._session, self._caller, len(chosen))
        tools = offered(thread, chosen)
        prompt = None if sent else await thread_prompt(self._session, thread)
        rendered = prompt.text if prompt else None
        context = sent.messages if sent else model_context(thread, path, tools, rendered)
        parent_id = path[-1].id if path else None
        replies = placeholders(thread_id, parent_id, chosen, len(context), prompt)
        generation = self._generation_row(thread_id, replies, request)
        try:
            await self._messages.add([*new_rows, *replies])
            await self._runs.add(generation)
            await self._threads.set_head(thread_id, replies[0].id)
            await self._commit()
        except IntegrityError as exc:
            await self._session.rollback()
            violated = str(exc.orig)
            if not any(index in violated for index in (*BUSY_INDEXES, IDEMPOTENCY_INDEX)):
                raise
            # A retry racing its first attempt lands here once that one committed.
            earlier = await self._earlier(thread_id, request)
            if earlier is not None:
                return earlier
            raise await self._busy(thread_id) from exc
        # The new rows came back with their defaults (eager_defaults): no reload needed.
        grown = MessageTree([*tree.by_id.values(), *new_rows, *replies])
        announce = [to_message(row, grown.sibling_ids(row)) for row in [*new_rows, *replies]]
        sent_tools = None if sent is None else sent.tools
        return self._launch(
            thread, generation.id, announce, chosen, context, tools, prompt, sent_tools
        )

    def _launch(
        self,
        thread: m.Thread,
        generation_id: UUID,
        announce: list[Message],
        chosen: Chosen,
        context: list[ChatMessage],
        tools: ThreadTools,
        prompt: RenderedPrompt | None,
        sent_tools: list[ToolSpec] | None = None,
    ) -> StartedGeneration:
        """Start the generation of stored rows. ``announce`` lists the new rows, the
        reply placeholders last (one per variant): the first new row is the request's
        own (the user message, or the first tool output)."""
        new_rows, replies = announce[: -len(chosen)], announce[-len(chosen) :]
        model, params = chosen[0]
        plan = GenerationPlan(
            generation_id=generation_id,
            thread_id=thread.id,
            owner_id=thread.owner_id,
            principal_id=self._caller.id,
            assistant_id=replies[0].id,
            user_id=new_rows[0].id if new_rows else None,
            announce=announce,
            model=model,
            params=params,
            context=context,
            tools=tools.builtin,
            client_functions=tools.client,
            prompt=(prompt.prompt_id, prompt.version) if prompt else None,
            offered=sent_tools,
            variants=[]
            if len(chosen) == 1
            else [Variant(row.id, *choice) for row, choice in zip(replies, chosen, strict=True)],
        )
        return StartedGeneration(generation_id=generation_id, stream=self._generations.start(plan))

    def _generation_row(
        self, thread_id: UUID, replies: list[m.Message], request: IdempotentRequest | None
    ) -> m.Generation:
        """The row of a generation this process starts, writing ``replies``."""
        return m.Generation(
            id=new_generation_id(),
            thread_id=thread_id,
            principal_id=self._caller.id,
            message_id=replies[0].id,
            variant_ids=[row.id for row in replies] if len(replies) > 1 else None,
            owner=self._generations.instance_id,
            idempotency_key=request.key if request else None,
            request_hash=request.digest if request else None,
        )

    async def _busy(self, thread_id: UUID) -> ConflictError:
        # The generation in the way may have finished since the insert failed: the
        # newest one is then the one that was in the way.
        blocking = await self._runs.running(thread_id) or await self._runs.latest(thread_id)
        return busy(blocking.message_id if blocking else None)
