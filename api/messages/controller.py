"""HTTP endpoints for messages (``/api/threads/{thread_id}/messages``)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody

from api.generation.manager import GenerationManager
from api.http.conditional import ETAG, IfMatchHeader, tagged
from api.http.openapi import (
    GENERATING,
    REPLY_LINKS,
    errors,
    message_links,
    new_reply_post,
    operation_class,
)
from api.http.sse import sse_response
from api.messages.deps import (
    provide_message_service,
    provide_replay_service,
    provide_send_service,
)
from api.messages.idempotency import KEY_MAX_CHARS
from api.messages.replaying import ReplayService
from api.messages.sending import SendService, StartedGeneration
from api.messages.service import MessageService
from api.preconditions import parse_if_match
from api.schemas.messages import (
    CompareResult,
    EditMessage,
    Message,
    MessageList,
    Regenerate,
    SendMessage,
    SendResult,
    ToolOutputs,
)
from api.schemas.requests import MessageRequest, Replay
from api.streams.deps import provide_generations

# A plain string, empty when absent: ``str | None`` would be documented as nullable.
IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        description="Retries with the same key follow the first request's generation.",
        # Documented only: the service names the header when it is longer.
        schema_extra={"maxLength": KEY_MAX_CHARS},
    ),
]
REPLY = ResponseSpec(
    data_container=SendResult,
    description="The reply: its events as they are generated (`text/event-stream`, with"
    ' `stream: true`, the default), or with `"stream": false` the finished exchange as JSON',
    generate_examples=False,
)
# A send or regeneration may ask for several replies at once (``variants``).
_ONE_OR_SEVERAL: Any = SendResult | CompareResult
REPLIES = ResponseSpec(
    data_container=_ONE_OR_SEVERAL,
    description=f"{REPLY.description} (with `variants`: the user message and every reply)",
    generate_examples=False,
)


class MessageController(Controller):
    """Read the active branch; send, regenerate, edit and delete messages."""

    path = "/api/threads/{thread_id:uuid}/messages"
    tags = ["messages"]
    dependencies = {
        "messages": Provide(provide_message_service, sync_to_thread=False),
        "sending": Provide(provide_send_service, sync_to_thread=False),
        "replaying": Provide(provide_replay_service, sync_to_thread=False),
        "generations": Provide(provide_generations, sync_to_thread=False),
    }

    @get("/", operation_id="listMessages", responses=errors(400, 404))
    async def list_messages(
        self, messages: NamedDependency[MessageService], thread_id: FromPath[UUID]
    ) -> MessageList:
        """The active branch, oldest first; each message lists its ``sibling_ids``."""
        return await messages.list_branch(thread_id)

    @get(
        "/{message_id:uuid}",
        operation_id="getMessage",
        responses=errors(400, 404),
        response_headers=ETAG,
    )
    async def get_message(
        self,
        messages: NamedDependency[MessageService],
        thread_id: FromPath[UUID],
        message_id: FromPath[UUID],
    ) -> Response[Message]:
        """Read one message of the thread."""
        return tagged(await messages.get(thread_id, message_id))

    @post(
        "/",
        operation_id="sendMessage",
        status_code=200,
        responses={
            200: REPLIES,
            201: ResponseSpec(
                data_container=Message,
                description="With `generate: false`: the stored message",
                generate_examples=False,
            ),
            **errors(*GENERATING, 422),
        },
        operation_class=operation_class(
            event_stream=True,
            links={
                200: REPLY_LINKS,
                201: message_links("$response.body#/thread_id", "$response.body#/id"),
            },
        ),
    )
    async def send_message(
        self,
        messages: NamedDependency[MessageService],
        sending: NamedDependency[SendService],
        generations: NamedDependency[GenerationManager],
        thread_id: FromPath[UUID],
        data: JSONBody[SendMessage],
        idempotency_key: IdempotencyKey = "",
    ) -> Response[Any]:
        """Send a message: stream the reply (SSE), wait for it (``stream: false``), or
        only store the message (``generate: false``, answered 201). A retry with the same
        ``Idempotency-Key`` follows the first request's generation instead of starting
        another."""
        if not data.generate:
            return tagged(await messages.append(thread_id, data), 201)
        started = await sending.send(thread_id, data, idempotency_key)
        return await _answer(sending, generations, started, streamed=data.stream)

    @patch(
        "/{message_id:uuid}",
        operation_id="editMessage",
        responses=errors(400, 404, 409, 412, 413),
        response_headers=ETAG,
    )
    async def edit_message(
        self,
        messages: NamedDependency[MessageService],
        thread_id: FromPath[UUID],
        message_id: FromPath[UUID],
        data: JSONBody[EditMessage],
        if_match: IfMatchHeader = "",
    ) -> Response[Message]:
        """Replace a message's content in place (with ``If-Match``: only if it is still
        at that version)."""
        return tagged(await messages.edit(thread_id, message_id, data, parse_if_match(if_match)))

    @delete(
        "/{message_id:uuid}",
        operation_id="deleteMessage",
        status_code=204,
        responses=errors(
            400,
            404,
            409,
            412,
            described={409: "The message, or one below it, is still being generated"},
        ),
    )
    async def delete_message(
        self,
        messages: NamedDependency[MessageService],
        thread_id: FromPath[UUID],
        message_id: FromPath[UUID],
        if_match: IfMatchHeader = "",
    ) -> None:
        """Delete a message and everything below it (with ``If-Match``: only if it is
        still at that version)."""
        await messages.delete(thread_id, message_id, parse_if_match(if_match))

    @new_reply_post(
        "/{message_id:uuid}/regenerate", operation_id="regenerateMessage", answer=REPLIES
    )
    async def regenerate(
        self,
        sending: NamedDependency[SendService],
        generations: NamedDependency[GenerationManager],
        thread_id: FromPath[UUID],
        message_id: FromPath[UUID],
        data: JSONBody[Regenerate | None] = None,
        idempotency_key: IdempotencyKey = "",
    ) -> Response[Any]:
        """Generate a new reply beside an assistant message (or below a user message)."""
        body = data or Regenerate()
        started = await sending.regenerate(thread_id, message_id, body, idempotency_key)
        return await _answer(sending, generations, started, streamed=body.stream)

    @post(
        "/{message_id:uuid}/tool_outputs",
        operation_id="submitToolOutputs",
        status_code=200,
        responses={
            200: REPLY,
            **errors(
                *GENERATING,
                described={
                    409: "The message is not waiting for tool outputs, or a reply is being"
                    " generated in the thread"
                },
            ),
        },
        operation_class=operation_class(event_stream=True, links={200: REPLY_LINKS}),
    )
    async def submit_tool_outputs(
        self,
        sending: NamedDependency[SendService],
        generations: NamedDependency[GenerationManager],
        thread_id: FromPath[UUID],
        message_id: FromPath[UUID],
        data: JSONBody[ToolOutputs],
    ) -> Response[Any]:
        """Answer the client-defined function calls of a reply in ``requires_action``;
        the reply resumes (SSE, or JSON with ``stream: false``)."""
        started = await sending.tool_outputs(thread_id, message_id, data)
        return await _answer(sending, generations, started, streamed=data.stream)

    @get(
        "/{message_id:uuid}/request",
        operation_id="getMessageRequest",
        responses=errors(
            400,
            404,
            described={404: "No such message, or it is not a reply whose request is stored"},
        ),
    )
    async def get_request(
        self,
        messages: NamedDependency[MessageService],
        thread_id: FromPath[UUID],
        message_id: FromPath[UUID],
    ) -> MessageRequest:
        """The request behind a reply exactly as the model server got it (model, params,
        composed messages, tools; never a key), with what came back besides text: every
        model call of the run that wrote it, one per tool round, oldest first."""
        return await messages.request_log(thread_id, message_id)

    @new_reply_post("/{message_id:uuid}/replay", operation_id="replayMessage", answer=REPLY)
    async def replay(
        self,
        replaying: NamedDependency[ReplayService],
        generations: NamedDependency[GenerationManager],
        thread_id: FromPath[UUID],
        message_id: FromPath[UUID],
        data: JSONBody[Replay | None] = None,
        idempotency_key: IdempotencyKey = "",
    ) -> Response[Any]:
        """Send the stored request behind a reply again, exactly (optionally to another
        ``model`` or with other ``params``); the answer is a new sibling of the reply."""
        body = data or Replay()
        started = await replaying.replay(thread_id, message_id, body, idempotency_key)
        return await _answer(replaying, generations, started, streamed=body.stream)


async def _answer(
    sending: SendService,
    generations: GenerationManager,
    started: StartedGeneration,
    *,
    streamed: bool,
) -> Response[Any]:
    if started.stream is not None:
        # Waiting for the model's first answer lets a failure before any output be a
        # real 502/504.
        await started.stream.wait_opened()
    if streamed:
        return sse_response(generations.frames(started.generation_id))
    async for _ in sending.follow(started.generation_id):
        pass
    return Response(await sending.result(started.generation_id), status_code=200)
