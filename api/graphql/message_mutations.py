"""Mutations of messages: store, edit and delete them, and start, answer or stop a
generation (which runs on its own, as with REST; follow it with ``generation``)."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types import Info

from api.errors import NotFoundError
from api.generation.manager import GenerationManager
from api.graphql.context import GraphContext
from api.graphql.inputs import (
    AppendMessageInput,
    RegenerateInput,
    SendMessageInput,
    ToolOutputInput,
    body,
)
from api.graphql.services import (
    message_service,
    parse_id,
    send_service,
    stream_access,
    version_match,
)
from api.graphql.types import Message, message_from, message_of
from api.messages.sending import StartedGeneration
from api.schemas.messages import EditMessage, Regenerate, SendMessage, ToolOutputs


@strawberry.type
class GenerationStarted:
    """A generation that was started: follow it with ``generation(threadId, after:
    "<generationId>:0")``. ``userMessage`` is the user message the reply answers."""

    generation_id: strawberry.ID
    user_message: Message | None
    reply: Message


@strawberry.type
class Cancelled:
    """The reply a cancel stopped (its partial text is kept) and its stored status."""

    cancelled: bool
    message_id: strawberry.ID
    status: str


@strawberry.type
class MessageMutation:
    """What a client changes in a thread's messages."""

    @strawberry.mutation(description="Store a message without generating a reply.")
    async def append_message(
        self, info: Info[GraphContext, None], thread_id: strawberry.ID, input: AppendMessageInput
    ) -> Message | None:
        """The stored message (it becomes the head)."""
        thread = parse_id("threadId", thread_id)
        info.context.loaders = None
        async with message_service(info.context) as messages:
            stored = await messages.append(thread, body(SendMessage, input, generate=False))
        return message_from(stored)

    @strawberry.mutation(description="Replace a message's content in place.")
    async def edit_message(
        self,
        info: Info[GraphContext, None],
        thread_id: strawberry.ID,
        message_id: strawberry.ID,
        content: str,
        if_version: int | None = None,
    ) -> Message | None:
        """The edited message."""
        thread, message = parse_id("threadId", thread_id), parse_id("messageId", message_id)
        edit = body(EditMessage, None, content=content)
        info.context.loaders = None
        async with message_service(info.context) as messages:
            edited = await messages.edit(thread, message, edit, version_match(if_version))
        return message_from(edited)

    @strawberry.mutation(description="Delete a message and everything below it.")
    async def delete_message(
        self,
        info: Info[GraphContext, None],
        thread_id: strawberry.ID,
        message_id: strawberry.ID,
        if_version: int | None = None,
    ) -> strawberry.ID:
        """The id of the deleted message."""
        thread, message = parse_id("threadId", thread_id), parse_id("messageId", message_id)
        info.context.loaders = None
        async with message_service(info.context) as messages:
            await messages.delete(thread, message, version_match(if_version))
        return strawberry.ID(str(message))

    @strawberry.mutation(description="Send a user message; its reply is generated on its own.")
    async def send_message(
        self,
        info: Info[GraphContext, None],
        thread_id: strawberry.ID,
        input: SendMessageInput,
        idempotency_key: str | None = None,
    ) -> GenerationStarted | None:
        """The generation, the user message and the reply placeholder."""
        thread = parse_id("threadId", thread_id)
        async with send_service(info.context) as sending:
            started = await sending.send(thread, body(SendMessage, input), idempotency_key)
        return await _started(info.context, thread, started)

    @strawberry.mutation(description="Generate a new reply beside an assistant message.")
    async def regenerate(
        self,
        info: Info[GraphContext, None],
        thread_id: strawberry.ID,
        message_id: strawberry.ID,
        input: RegenerateInput | None = None,
        idempotency_key: str | None = None,
    ) -> GenerationStarted | None:
        """The generation and the new reply placeholder."""
        thread, message = parse_id("threadId", thread_id), parse_id("messageId", message_id)
        async with send_service(info.context) as sending:
            started = await sending.regenerate(
                thread, message, body(Regenerate, input), idempotency_key
            )
        return await _started(info.context, thread, started)

    @strawberry.mutation(description="Answer a reply's client-defined function calls.")
    async def submit_tool_outputs(
        self,
        info: Info[GraphContext, None],
        thread_id: strawberry.ID,
        message_id: strawberry.ID,
        outputs: list[ToolOutputInput],
    ) -> GenerationStarted | None:
        """The generation that resumes the reply."""
        thread, message = parse_id("threadId", thread_id), parse_id("messageId", message_id)
        answers = body(ToolOutputs, None, outputs=[vars(output) for output in outputs])
        async with send_service(info.context) as sending:
            started = await sending.tool_outputs(thread, message, answers)
        return await _started(info.context, thread, started)

    @strawberry.mutation(description="Stop the generation running in the thread.")
    async def cancel_generation(
        self, info: Info[GraphContext, None], thread_id: strawberry.ID
    ) -> Cancelled | None:
        """The stopped reply; ``CONFLICT`` when nothing is being generated."""
        thread = parse_id("threadId", thread_id)
        async with stream_access(info.context) as access:
            await access.check(thread)
        generations: GenerationManager = info.context.state.generations
        message_id, status = await generations.cancel_or_conflict(thread)
        return Cancelled(cancelled=True, message_id=strawberry.ID(str(message_id)), status=status)


async def _started(
    context: GraphContext, thread_id: UUID, started: StartedGeneration
) -> GenerationStarted:
    """What a mutation that started a generation answers, once the model answered (so
    a failure before any output is an error of the mutation, as REST's 502)."""
    generations: GenerationManager = context.state.generations
    if started.stream is not None:
        await started.stream.wait_opened()
        reply_id: UUID | None = started.stream.assistant_id
    else:
        found = await generations.find(started.generation_id)
        reply_id = found.message_id if found else None
    context.loaders = None
    tree = await context.loaders_of().trees.load(thread_id)
    path = tree.path_to(reply_id)
    if not path:
        raise NotFoundError(f"the reply of generation {started.generation_id} was deleted")
    reply = path[-1]
    user = next((row for row in reversed(path) if row.role == "user"), None)
    return GenerationStarted(
        generation_id=strawberry.ID(str(started.generation_id)),
        user_message=message_of(tree, user) if user else None,
        reply=message_of(tree, reply),
    )
