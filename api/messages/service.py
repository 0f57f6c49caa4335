"""Message operations: list the active branch, send, regenerate, edit and delete.

Sends and regenerations validate and store their rows here, before any response
starts, then hand a ``GenerationPlan`` to the generation manager.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    UnavailableError,
    UnprocessableError,
    UpstreamError,
)
from api.generation.context import ThreadTools, model_context
from api.generation.manager import GenerationManager, new_generation_id
from api.generation.pipeline import GenerationPlan
from api.generation.stream import GenerationStream
from api.llm.router import ModelRouter
from api.messages.mapping import to_message
from api.messages.queries import load_tree, message_in, sibling_ids
from api.messages.rows import new_message
from api.messages.schemas import (
    EditMessage,
    Message,
    MessageList,
    Regenerate,
    SendMessage,
    SendResult,
    ToolOutput,
    ToolOutputs,
)
from api.messages.tree import MessageTree
from api.schemas import ChatParams, merge_params
from api.settings import GenerationSettings
from api.threads.service import load_thread
from api.validation import check_content, check_model, check_no_nul
from db import models as m

# Either index refuses a second running generation in a thread.
_BUSY_INDEXES = ("uq_generation_thread_id_running", "uq_message_thread_id_in_progress")
_IDEMPOTENCY_INDEX = "uq_generation_thread_id_idempotency_key"


@dataclass(frozen=True, slots=True)
class StartedGeneration:
    """A generation a send or regenerate started, or (``stream`` None) the one an
    earlier request with the same idempotency key started."""

    generation_id: UUID
    stream: GenerationStream | None


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """An ``Idempotency-Key`` and a digest of the request it was sent with."""

    key: str
    digest: str

    @classmethod
    def of(cls, key: str | None, target: str, body: msgspec.Struct) -> IdempotentRequest | None:
        """The request's key and digest, or None without a key."""
        if not key:
            return None
        if len(key) > 200:
            raise BadRequestError(
                "Idempotency-Key is longer than 200 characters",
                extra={"field": "Idempotency-Key"},
            )
        digest = hashlib.sha256(target.encode() + b"\n" + msgspec.json.encode(body)).hexdigest()
        return cls(key=key, digest=digest)


class MessageService:
    """Message use cases over one DB session (one unit of work per request)."""

    def __init__(
        self,
        session: AsyncSession,
        models: ModelRouter,
        generations: GenerationManager,
        settings: GenerationSettings,
    ) -> None:
        self._session = session
        self._models = models
        self._generations = generations
        self._max_chars = settings.playground_max_content_chars

    async def list_branch(self, thread_id: UUID) -> MessageList:
        """The active branch of a thread, oldest first, with each message's siblings."""
        thread = await load_thread(self._session, thread_id)
        tree = await load_tree(self._session, thread_id)
        path = tree.path_to(thread.head_id)
        return MessageList(data=[to_message(row, tree.sibling_ids(row)) for row in path])

    async def get(self, thread_id: UUID, message_id: UUID) -> Message:
        """One message of the thread, or a 404."""
        await load_thread(self._session, thread_id)
        tree = await load_tree(self._session, thread_id)
        row = message_in(tree, thread_id, message_id)
        return to_message(row, tree.sibling_ids(row))

    async def append(self, thread_id: UUID, body: SendMessage) -> Message:
        """Store a message without generating (few-shot turns built by hand)."""
        check_content(body.content, self._max_chars)
        check_no_nul(body)
        thread = await load_thread(self._session, thread_id, lock=True)
        # Nothing is generated, but a bad model or params is still a mistake worth naming.
        self._resolve_model(thread, body.model, body.params)
        tree = await load_tree(self._session, thread_id)
        parent = self._parent(thread, tree, body.parent_id)
        row = new_message(thread_id, parent.id if parent else None, body.role, body.content)
        self._session.add(row)
        await self._session.flush()
        self._touch(thread, head_id=row.id)
        await self._session.commit()
        return await self._view(row.id)

    async def start_send(
        self, thread_id: UUID, body: SendMessage, idempotency_key: str | None = None
    ) -> StartedGeneration:
        """Store the user message and a reply placeholder, then start the generation."""
        if body.role != "user":
            raise BadRequestError(
                f"role {body.role!r} is only allowed with generate: false",
                extra={"field": "role"},
            )
        check_content(body.content, self._max_chars)
        check_no_nul(body)
        request = IdempotentRequest.of(idempotency_key, f"send {thread_id}", body)
        earlier = await self._earlier(thread_id, request)
        if earlier is not None:
            return earlier
        await self._settle_busy(thread_id, body.if_busy)
        thread = await load_thread(self._session, thread_id, lock=True)
        model, params = self._resolve_model(thread, body.model, body.params)
        tree = await load_tree(self._session, thread_id)
        parent = self._parent(thread, tree, body.parent_id)
        user = new_message(thread_id, parent.id if parent else None, "user", body.content)
        path = [*tree.path_to(parent.id if parent else None), user]
        return await self._start(thread, [user], path, model, params, request, tree)

    async def start_regenerate(
        self,
        thread_id: UUID,
        message_id: UUID,
        body: Regenerate,
        idempotency_key: str | None = None,
    ) -> StartedGeneration:
        """Start a new reply beside an assistant message, or below a user message."""
        check_no_nul(body)
        request = IdempotentRequest.of(
            idempotency_key, f"regenerate {thread_id} {message_id}", body
        )
        earlier = await self._earlier(thread_id, request)
        if earlier is not None:
            return earlier
        await self._settle_busy(thread_id, body.if_busy)
        thread = await load_thread(self._session, thread_id, lock=True)
        tree = await load_tree(self._session, thread_id)
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
        model, params = self._resolve_model(thread, body.model, body.params)
        return await self._start(thread, [], tree.path_to(parent_id), model, params, request, tree)

    async def start_tool_outputs(
        self, thread_id: UUID, message_id: UUID, body: ToolOutputs
    ) -> StartedGeneration:
        """Store the client's outputs for a reply waiting on them, then resume the reply."""
        check_no_nul(body)
        await self._settle_busy(thread_id, "reject")
        thread = await load_thread(self._session, thread_id, lock=True)
        tree = await load_tree(self._session, thread_id)
        waiting = message_in(tree, thread_id, message_id)
        if waiting.status != "requires_action":
            raise ConflictError(
                f"message {message_id} is not waiting for tool outputs (status {waiting.status})"
            )
        # The built-in calls of that turn were answered already, as a chain of tool rows.
        chain = [waiting]
        while children := [c for c in tree.children[chain[-1].id] if c.role == "tool"]:
            chain.append(children[0])
        answered = {row.tool_call_id for row in chain[1:]}
        pending = [
            call["id"] for call in waiting.tool_calls or [] if call.get("id") not in answered
        ]
        outputs = self._check_outputs(body.outputs, pending)
        rows = []
        parent_id = chain[-1].id
        for output in outputs:
            content = (
                output.output
                if isinstance(output.output, str)
                else (msgspec.json.encode(output.output).decode())
            )
            if len(content) > self._max_chars:
                raise PayloadTooLargeError(
                    f"the output for {output.call_id} is {len(content)} characters long; "
                    f"the limit is {self._max_chars}",
                    extra={"field": "outputs.output", "limit": self._max_chars},
                )
            row = new_message(thread_id, parent_id, "tool", content, tool_call_id=output.call_id)
            rows.append(row)
            parent_id = row.id
        waiting.status = "completed"
        model, params = waiting.model or thread.model, dict(waiting.params or {})
        check_model(self._models, model)
        path = [*tree.path_to(chain[-1].id), *rows]
        return await self._start(thread, rows, path, model, params, None, tree)

    @staticmethod
    def _check_outputs(outputs: list[ToolOutput], pending: list[str]) -> list[ToolOutput]:
        """The outputs in the order of the calls; 400 for unknown, repeated or missing ids."""
        by_id: dict[str, ToolOutput] = {}
        for index, output in enumerate(outputs):
            field = f"outputs[{index}].call_id"
            if output.call_id not in pending:
                raise BadRequestError(
                    f"{field}: {output.call_id!r} is not a call waiting for output; "
                    f"waiting: {', '.join(pending) or '(none)'}",
                    extra={"field": field, "pending_call_ids": pending},
                )
            if output.call_id in by_id:
                raise BadRequestError(
                    f"{field}: {output.call_id!r} is answered twice", extra={"field": field}
                )
            by_id[output.call_id] = output
        missing = [call_id for call_id in pending if call_id not in by_id]
        if missing:
            raise BadRequestError(
                f"outputs: no output for {', '.join(missing)}; every waiting call needs one",
                extra={"field": "outputs", "missing_call_ids": missing},
            )
        return [by_id[call_id] for call_id in pending]

    async def edit(self, thread_id: UUID, message_id: UUID, body: EditMessage) -> Message:
        """Replace a message's content in place (its replies are left as they are)."""
        check_content(body.content, self._max_chars)
        check_no_nul(body)
        await load_thread(self._session, thread_id, lock=True)
        tree = await load_tree(self._session, thread_id)
        row = message_in(tree, thread_id, message_id)
        if row.status == "in_progress":
            raise ConflictError(f"message {message_id} is still being generated")
        row.content = body.content
        row.updated_at = func.clock_timestamp()
        await self._session.commit()
        return await self._view(row.id)

    async def delete(self, thread_id: UUID, message_id: UUID) -> None:
        """Delete a message and its descendants; the head moves up if it was below."""
        thread = await load_thread(self._session, thread_id, lock=True)
        tree = await load_tree(self._session, thread_id)
        row = message_in(tree, thread_id, message_id)
        doomed = tree.subtree(row.id)
        running = [item.id for item in doomed if item.status == "in_progress"]
        if running:
            raise ConflictError(
                f"message {running[0]} is still being generated; cancel it first",
                extra={"message_id": str(running[0])},
            )
        if thread.head_id in {item.id for item in doomed}:
            self._touch(thread, head_id=row.parent_id)
        await self._session.delete(row)
        await self._session.commit()

    async def result(self, generation_id: UUID) -> SendResult:
        """The stored outcome of a finished generation, for a non-streamed request."""
        generation = await self._session.get_one(
            m.Generation, generation_id, populate_existing=True
        )
        tree = await load_tree(self._session, generation.thread_id)
        assistant = tree.by_id.get(generation.message_id) if generation.message_id else None
        if assistant is None:
            raise NotFoundError(f"the reply of generation {generation_id} was deleted")
        if assistant.status == "failed":
            raise UpstreamError(assistant.error or "the model server failed")
        user = next(
            (row for row in reversed(tree.path_to(assistant.id)) if row.role == "user"), None
        )
        return SendResult(
            user_message=to_message(user, tree.sibling_ids(user)) if user else None,
            assistant_message=to_message(assistant, tree.sibling_ids(assistant)),
        )

    async def _earlier(
        self, thread_id: UUID, request: IdempotentRequest | None
    ) -> StartedGeneration | None:
        """The generation an earlier request with the same idempotency key started."""
        if request is None:
            return None
        generation = await self._session.scalar(
            select(m.Generation).where(
                m.Generation.thread_id == thread_id,
                m.Generation.idempotency_key == request.key,
            )
        )
        if generation is None:
            return None
        if generation.request_hash != request.digest:
            raise UnprocessableError(
                f"Idempotency-Key {request.key!r} was used with a different request; "
                "use a new key for a new request",
                extra={"field": "Idempotency-Key"},
            )
        return StartedGeneration(generation_id=generation.id, stream=None)

    async def _settle_busy(self, thread_id: UUID, if_busy: str) -> None:
        """With ``if_busy: interrupt``, stop the running reply (any process) first."""
        if not self._generations.accepting:
            raise UnavailableError("this server is shutting down; retry on another one")
        if if_busy == "interrupt":
            await self._generations.cancel(thread_id, "cancelled")

    def _resolve_model(
        self, thread: m.Thread, model: str | None, params: ChatParams | None
    ) -> tuple[str, dict[str, Any]]:
        chosen = model or thread.model
        check_model(self._models, chosen)
        merged = merge_params(msgspec.convert(thread.params, ChatParams), params)
        return chosen, msgspec.to_builtins(merged)

    def _parent(
        self, thread: m.Thread, tree: MessageTree, parent_ref: str | None
    ) -> m.Message | None:
        if parent_ref is None:
            return tree.by_id.get(thread.head_id) if thread.head_id else None
        if parent_ref == "root":
            return None
        try:
            parent_id = UUID(parent_ref)
        except ValueError:
            raise BadRequestError(
                f'parent_id must be a message id or "root", not {parent_ref!r}',
                extra={"field": "parent_id"},
            ) from None
        parent = tree.by_id.get(parent_id)
        if parent is None:
            raise BadRequestError(
                f"parent_id {parent_id} is not a message of thread {thread.id}",
                extra={"field": "parent_id"},
            )
        if parent.status == "in_progress":
            raise ConflictError(f"message {parent_id} is still being generated")
        return parent

    async def _start(
        self,
        thread: m.Thread,
        new_rows: list[m.Message],
        path: list[m.Message],
        model: str,
        params: dict[str, Any],
        request: IdempotentRequest | None,
        tree: MessageTree,
    ) -> StartedGeneration:
        """Store ``new_rows``, the reply placeholder and the generation in one
        transaction, then start it."""
        thread_id = thread.id  # read before a rollback could expire the row
        tools = ThreadTools.of(thread)
        context = model_context(thread, path, tools)
        assistant = new_message(
            thread.id,
            path[-1].id if path else None,
            "assistant",
            "",
            status="in_progress",
            model=model,
            params=params,
            request_message_count=len(context),
        )
        generation = m.Generation(
            id=new_generation_id(),
            thread_id=thread_id,
            message_id=assistant.id,
            owner=self._generations.instance_id,
            idempotency_key=request.key if request else None,
            request_hash=request.digest if request else None,
        )
        try:
            # The messages go in one multi-row INSERT (a reply's parent in the same
            # statement satisfies its foreign key). No ORM relationships order the tables,
            # so the generation, which points at the reply, is flushed after them (by the
            # autoflush of the UPDATE below).
            self._session.add_all([*new_rows, assistant])
            await self._session.flush()
            self._session.add(generation)
            # Core, not the ORM object: nothing reads the thread row back after this.
            await self._session.execute(
                update(m.Thread)
                .where(m.Thread.id == thread_id)
                .values(
                    head_id=assistant.id,
                    updated_at=func.clock_timestamp(),
                    last_activity_at=func.clock_timestamp(),
                )
            )
            await self._session.commit()
        except IntegrityError as exc:
            await self._session.rollback()
            violated = str(exc.orig)
            if not any(index in violated for index in (*_BUSY_INDEXES, _IDEMPOTENCY_INDEX)):
                raise
            # A retry racing its first attempt lands here once that one committed.
            earlier = await self._earlier(thread_id, request)
            if earlier is not None:
                return earlier
            raise await self._busy(thread_id) from exc
        # The new rows came back with their defaults (eager_defaults): no reload needed.
        grown = MessageTree([*tree.by_id.values(), *new_rows, assistant])
        announce = [to_message(row, grown.sibling_ids(row)) for row in [*new_rows, assistant]]
        plan = GenerationPlan(
            generation_id=generation.id,
            thread_id=thread.id,
            assistant_id=assistant.id,
            user_id=new_rows[0].id if new_rows else None,
            announce=announce,
            model=model,
            params=params,
            context=context,
            tools=tools.builtin,
            client_functions=tools.client,
        )
        stream = self._generations.start(plan)
        return StartedGeneration(generation_id=generation.id, stream=stream)

    async def _busy(self, thread_id: UUID) -> ConflictError:
        running = await self._session.scalar(
            select(m.Generation.message_id).where(
                m.Generation.thread_id == thread_id, m.Generation.status == "running"
            )
        )
        return ConflictError(
            f"a reply is already being generated in this thread (message {running}); "
            "wait for it or cancel it",
            extra={"message_id": str(running)},
        )

    def _touch(self, thread: m.Thread, *, head_id: UUID | None) -> None:
        thread.head_id = head_id
        thread.updated_at = func.clock_timestamp()
        thread.last_activity_at = func.clock_timestamp()

    async def _view(self, message_id: UUID) -> Message:
        row = await self._session.get_one(m.Message, message_id, populate_existing=True)
        return to_message(row, await sibling_ids(self._session, row))
