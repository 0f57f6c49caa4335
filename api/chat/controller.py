"""HTTP endpoints speaking the AI SDK's UI message stream protocol, for ``useChat``
with ``DefaultChatTransport`` (``/api/threads/{thread_id}/chat``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.response import Stream

from api.chat.deps import provide_chat_service
from api.chat.service import ChatService
from api.http.openapi import GENERATING, UI_MESSAGE_CHUNK, errors, operation_class
from api.http.sse import SSE_HEADERS, sse_response
from api.schemas.chat import ChatRequest

# What the AI SDK's own servers send (``UI_MESSAGE_STREAM_HEADERS``): the protocol's
# version beside the SSE headers.
UI_STREAM_HEADERS = {**SSE_HEADERS, "x-vercel-ai-ui-message-stream": "v1"}
PROTOCOL_HEADER = [
    ResponseHeader(
        name="x-vercel-ai-ui-message-stream",
        documentation_only=True,
        description="`v1`: the version of the AI SDK's UI message stream protocol.",
    )
]
STREAM = ResponseSpec(
    data_container=None,
    description="The reply as the AI SDK's UI message stream (`text/event-stream`)",
)


class ChatController(Controller):
    """Send, regenerate, answer client tools and resume, in the AI SDK's protocol."""

    path = "/api/threads/{thread_id:uuid}/chat"
    tags = ["chat"]
    dependencies = {"chat": Provide(provide_chat_service, sync_to_thread=False)}

    @post(
        "/",
        operation_id="chatThread",
        status_code=200,
        responses={
            200: STREAM,
            **errors(
                *GENERATING,
                described={
                    409: "A reply is being generated in the thread (`extra.message_id` names"
                    " it), or tool outputs were sent while no reply waits for them"
                },
            ),
        },
        response_headers=PROTOCOL_HEADER,
        operation_class=operation_class(event_stream=True, event_schema=UI_MESSAGE_CHUNK),
    )
    async def chat(
        self,
        chat: NamedDependency[ChatService],
        thread_id: FromPath[UUID],
        data: JSONBody[ChatRequest],
    ) -> Stream:
        """``DefaultChatTransport``'s request: the last message is sent (a user message)
        or answers the thread's waiting client tool calls (an assistant message with tool
        outputs, after ``addToolResult``); ``regenerate-message`` makes a new reply beside
        the latest one (or the one ``messageId`` names). The thread keeps the history."""
        reply = await chat.chat(thread_id, data)
        if reply.stream is not None:
            # Waiting for the model's first answer lets a failure before any output be a
            # real 502/504.
            await reply.stream.wait_opened()
        return sse_response(chat.frames(reply), UI_STREAM_HEADERS)

    @get(
        "/stream",
        operation_id="resumeChat",
        responses={
            200: STREAM,
            204: ResponseSpec(
                data_container=None, description="Nothing is being generated in the thread"
            ),
            **errors(400, 404),
        },
        response_headers=PROTOCOL_HEADER,
        operation_class=operation_class(event_stream=True, event_schema=UI_MESSAGE_CHUNK),
    )
    async def resume(
        self, chat: NamedDependency[ChatService], thread_id: FromPath[UUID]
    ) -> Response[Any]:
        """The reply running in the thread (on any process), from its start, in the same
        protocol; 204 when nothing runs (the AI SDK's ``resumeStream`` convention)."""
        reply = await chat.resume(thread_id)
        if reply is None:
            return Response(None, status_code=204)
        return sse_response(chat.frames(reply), UI_STREAM_HEADERS)
