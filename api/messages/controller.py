"""HTTP endpoints for messages (``/api/threads/{thread_id}/messages``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from api.deps import provide_message_service
from api.generation.sse import sse_response
from api.generation.stream import GenerationStream
from api.messages.schemas import EditMessage, Message, MessageList, Regenerate, SendMessage
from api.messages.service import MessageService


class MessageController(Controller):
    """Read the active branch; send, regenerate, edit and delete messages."""

    path = "/api/threads/{thread_id:uuid}/messages"
    tags = ["messages"]
    dependencies = {"messages": Provide(provide_message_service, sync_to_thread=False)}

    @get("/", operation_id="listMessages")
    async def list_messages(
        self, messages: NamedDependency[MessageService], thread_id: FromPath[UUID]
    ) -> MessageList:
        """The active branch, oldest first; each message lists its ``sibling_ids``."""
        return await messages.list_branch(thread_id)

    @get("/{message_id:uuid}", operation_id="getMessage")
    async def get_message(
        self,
        messages: NamedDependency[MessageService],
        thread_id: FromPath[UUID],
        message_id: FromPath[UUID],
    ) -> Message:
        """Read one message of the thread."""
        return await messages.get(thread_id, message_id)

    @post("/", operation_id="sendMessage", status_code=200)
    async def send_message(
        self,
        messages: NamedDependency[MessageService],
        thread_id: FromPath[UUID],
        data: JSONBody[SendMessage],
    ) -> Response[Any]:
        """Send a message: stream the reply (SSE), wait for it (``stream: false``), or
        only store the message (``generate: false``, answered 201)."""
        if not data.generate:
            return Response(await messages.append(thread_id, data), status_code=201)
        stream = await messages.start_send(thread_id, data)
        return await _answer(messages, stream, streamed=data.stream)

    @patch("/{message_id:uuid}", operation_id="editMessage")
    async def edit_message(
        self,
        messages: NamedDependency[MessageService],
        thread_id: FromPath[UUID],
        message_id: FromPath[UUID],
        data: JSONBody[EditMessage],
    ) -> Message:
        """Replace a message's content in place."""
        return await messages.edit(thread_id, message_id, data)

    @delete("/{message_id:uuid}", operation_id="deleteMessage", status_code=204)
    async def delete_message(
        self,
        messages: NamedDependency[MessageService],
        thread_id: FromPath[UUID],
        message_id: FromPath[UUID],
    ) -> None:
        """Delete a message and everything below it."""
        await messages.delete(thread_id, message_id)

    @post("/{message_id:uuid}/regenerate", operation_id="regenerateMessage", status_code=200)
    async def regenerate(
        self,
        messages: NamedDependency[MessageService],
        thread_id: FromPath[UUID],
        message_id: FromPath[UUID],
        data: JSONBody[Regenerate | None] = None,
    ) -> Response[Any]:
        """Generate a new reply beside an assistant message (or below a user message)."""
        body = data or Regenerate()
        stream = await messages.start_regenerate(thread_id, message_id, body)
        return await _answer(messages, stream, streamed=body.stream)


async def _answer(
    messages: MessageService, stream: GenerationStream, *, streamed: bool
) -> Response[Any]:
    # Waiting for the model's first answer lets a failure before any output be a real 502/504.
    await stream.wait_opened()
    if streamed:
        return sse_response(stream)
    await stream.wait_finished()
    return Response(await messages.result(stream), status_code=200)
