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
    send_service,
    stream_access,
    version_match,
    with_service,
)
from api.graphql.types import Message, message_from, message_of
from api.messages.sending import SendService, StartedGeneration
from api.messages.service import MessageService
from api.schemas.messages import EditMessage, Regenerate, SendMessage, ToolOutputs
from api.streams.service import StreamAccess


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
    @with_service(message_service, changes_trees=True)
    async def append_message(
        self, messages: MessageService, thread_id: UUID, input: AppendMessageInput
    ) -> Message | None:
        """The stored message (it becomes the head)."""
        stored = await messages.append(thread_id, body(SendMessage, input, generate=False))
        return message_from(stored)

    @strawberry.mutation(description="Replace a message's content in place.")
    @with_service(message_service, changes_trees=True)
    async def edit_message(
        self,
        messages: MessageService,
        thread_id: UUID,
        message_id: UUID,
        content: str,
        if_version: int | None = None,
    ) -> Message | None:
        """The edited message."""
        edit = body(EditMessage, None, content=content)
        edited = await messages.edit(thread_id, message_id, edit, version_match(if_version))
        return message_from(edited)

    @strawberry.mutation(description="Delete a message and everything below it.")
    @with_service(message_service, changes_trees=True)
    async def delete_message(
        self,
        messages: MessageService,
        thread_id: UUID,
        message_id: UUID,
        if_version: int | None = None,
    ) -> strawberry.ID:
        """The id of the deleted message."""
        await messages.delete(thread_id, message_id, version_match(if_version))
        return strawberry.ID(str(message_id))

    @strawberry.mutation(description="Send a user message; its reply is generated on its own.")
    @with_service(send_service)
    async def send_message(
        self,
        sending: SendService,
        info: Info[GraphContext, None],
        thread_id: UUID,
        input: SendMessageInput,
        idempotency_key: str | None = None,
    ) -> GenerationStarted | None:
        """The generation, the user message and the reply placeholder."""
        started = await sending.send(thread_id, body(SendMessage, input), idempotency_key)
        return await _started(info.context, thread_id, started)

    @strawberry.mutation(description="Generate a new reply beside an assistant message.")
    @with_service(send_service)
    async def regenerate(
        self,
        sending: SendService,
        info: Info[GraphContext, None],
        thread_id: UUID,
        message_id: UUID,
        input: RegenerateInput | None = None,
        idempotency_key: str | None = None,
    ) -> GenerationStarted | None:
        """The generation and the new reply placeholder."""
        again = body(Regenerate, input)
        started = await sending.regenerate(thread_id, message_id, again, idempotency_key)
        return await _started(info.context, thread_id, started)

    @strawberry.mutation(description="Answer a reply's client-defined function calls.")
    @with_service(send_service)
    async def submit_tool_outputs(
        self,
        sending: SendService,
        info: Info[GraphContext, None],
        thread_id: UUID,
        message_id: UUID,
        outputs: list[ToolOutputInput],
    ) -> GenerationStarted | None:
        """The generation that resumes the reply."""
        answers = body(ToolOutputs, None, outputs=[vars(output) for output in outputs])
        started = await sending.tool_outputs(thread_id, message_id, answers)
        return await _started(info.context, thread_id, started)

    @strawberry.mutation(description="Stop the generation running in the thread.")
    @with_service(stream_access)
    async def cancel_generation(
        self, access: StreamAccess, info: Info[GraphContext, None], thread_id: UUID
    ) -> Cancelled | None:
        """The stopped reply; ``CONFLICT`` when nothing is being generated."""
        await access.check(thread_id)
        generations: GenerationManager = info.context.state.generations
        message_id, status = await generations.cancel_or_conflict(thread_id)
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
