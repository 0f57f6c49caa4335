"""The AI SDK's chat requests mapped onto a thread, through the services the message
endpoints use: the thread stays the source of truth whatever history the client holds.

- ``submit-message`` whose last message is a user message: its text is sent as a new
  message below the thread's head (``SendService.send``).
- ``submit-message`` whose last message is an assistant message: its client tool parts
  that have an output answer the thread's reply waiting in ``requires_action``
  (``SendService.tool_outputs``), as ``addToolResult`` leads the AI SDK to send.
- ``regenerate-message``: a new reply beside the one ``messageId`` names (a stored id),
  else beside the thread's latest reply (``SendService.regenerate``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from api.chat.translate import ChunkTranslator, ui_frames
from api.errors import BadRequestError, ConflictError
from api.generation.context import ThreadTools
from api.generation.feed import with_retry
from api.generation.manager import GenerationManager
from api.generation.stream import GenerationStream
from api.messages.sending import SendService
from api.schemas.auth import Principal
from api.schemas.chat import ChatMessage, ChatRequest
from api.schemas.messages import Regenerate, SendMessage, ToolOutput, ToolOutputs
from api.stores.messages import MessageStore
from api.stores.threads import ThreadStore
from api.stores.tree import MessageTree
from db import models as m

# The states of a client tool part once ``addToolResult`` gave it an output.
_ANSWERED = frozenset({"output-available", "output-error"})


@dataclass(frozen=True, slots=True)
class ChatReply:
    """A generation to answer as a UI message stream: ``reply_id`` is the stored id of
    the UI message (None: its first assistant row), ``stream`` the local stream of a
    generation this request started (None when following one)."""

    thread_id: UUID
    generation_id: UUID
    stream: GenerationStream | None
    reply_id: UUID | None
    client_functions: frozenset[str]
    user_id: UUID | None = None


def reply_root(tree: MessageTree, message_id: UUID) -> tuple[UUID, UUID | None]:
    """The first assistant row of the reply ``message_id`` belongs to, and the user
    message it answers: a reply with tool rounds is several rows (assistant, tool,
    assistant…) below one user message, and the AI SDK shows them as one message."""
    root = message_id
    for row in reversed(tree.path_to(message_id)):
        if row.role == "user":
            return root, row.id
        if row.role == "assistant":
            root = row.id
    return root, None


class ChatService:
    """Maps chat requests onto sends, regenerations and tool outputs of one thread."""

    def __init__(
        self,
        session: AsyncSession,
        caller: Principal,
        sending: SendService,
        generations: GenerationManager,
    ) -> None:
        self._threads = ThreadStore(session, caller.scope)
        self._messages = MessageStore(session)
        self._sending = sending
        self._generations = generations

    async def chat(self, thread_id: UUID, body: ChatRequest) -> ChatReply:
        """Start what the request asks for; 400 naming the field when its last message
        is neither a user message with text nor an assistant message with tool outputs."""
        thread = await self._threads.get(thread_id)
        client = frozenset(ThreadTools.of(thread).client)
        last, field = body.messages[-1], f"messages[{len(body.messages) - 1}]"
        if body.trigger == "regenerate-message":
            return await self._regenerate(thread, body.message_id, client)
        if last.role == "assistant":
            return await self._answer_tools(thread, last, field, client)
        if last.role != "user":
            raise BadRequestError(
                f"{field} is a {last.role} message; send a user message, or an assistant"
                " message with tool outputs",
                extra={"field": f"{field}.role"},
            )
        text = "\n".join(part.text for part in last.parts if part.type == "text" and part.text)
        if not text.strip():
            raise BadRequestError(
                f"{field} has no text part with text to send", extra={"field": f"{field}.parts"}
            )
        started = await self._sending.send(thread_id, SendMessage(content=text))
        return ChatReply(thread_id, started.generation_id, started.stream, None, client)

    async def resume(self, thread_id: UUID) -> ChatReply | None:
        """The generation running in the thread (on any process), from its first event;
        None when nothing runs."""
        thread = await self._threads.get(thread_id)
        running = await self._generations.running(thread_id)
        if running is None:
            return None
        root = user_id = None
        if running.message_id is not None:
            tree = await self._messages.tree(thread_id)
            root, user_id = reply_root(tree, running.message_id)
        client = frozenset(ThreadTools.of(thread).client)
        return ChatReply(thread_id, running.id, None, root, client, user_id)

    def frames(self, reply: ChatReply) -> AsyncIterator[bytes]:
        """The reply's events as the UI message stream, live or replayed from Postgres,
        with ``retry:`` and keep-alive comments as every event stream of the API."""
        translator = ChunkTranslator(
            thread_id=reply.thread_id,
            generation_id=reply.generation_id,
            reply_id=reply.reply_id,
            user_id=reply.user_id,
            client_functions=reply.client_functions,
        )
        events = self._generations.follow_or_idle(reply.generation_id)
        return with_retry(ui_frames(events, translator))

    async def _regenerate(
        self, thread: m.Thread, message_id: str | None, client: frozenset[str]
    ) -> ChatReply:
        """A new reply beside the stored message ``messageId`` names, else beside the
        head; a reply's row stands for its whole reply (tool rounds included)."""
        thread_id = thread.id  # before the send's unit of work may expire the row
        tree = await self._messages.tree(thread_id)
        target = _stored_id(tree, message_id) or thread.head_id
        if target is None:
            raise BadRequestError(
                "the thread has no message to regenerate a reply for",
                extra={"field": "messageId"},
            )
        if tree.by_id[target].role == "user":
            user_id: UUID | None = target
        else:
            target, user_id = reply_root(tree, target)
        started = await self._sending.regenerate(thread_id, target, Regenerate())
        return ChatReply(thread_id, started.generation_id, started.stream, None, client, user_id)

    async def _answer_tools(
        self, thread: m.Thread, last: ChatMessage, field: str, client: frozenset[str]
    ) -> ChatReply:
        """The outputs of the client tool parts of ``last`` for the reply waiting at the
        thread's head; the reply continues as the same UI message."""
        thread_id = thread.id
        tree = await self._messages.tree(thread_id)
        waiting = tree.by_id.get(thread.head_id) if thread.head_id else None
        waiting_id, outputs = _tool_outputs(last, waiting, field)
        # Read before the send, whose unit of work may roll back (expiring the rows).
        root, user_id = reply_root(tree, waiting_id)
        started = await self._sending.tool_outputs(thread_id, waiting_id, outputs)
        return ChatReply(thread_id, started.generation_id, started.stream, root, client, user_id)


def _stored_id(tree: MessageTree, message_id: str | None) -> UUID | None:
    """``message_id`` when it is the id of a message of the thread (the client's own
    ids of messages it made are not)."""
    try:
        candidate = UUID(message_id) if message_id else None
    except ValueError:
        return None
    return candidate if candidate in tree.by_id else None


def _tool_outputs(
    last: ChatMessage, waiting: m.Message | None, field: str
) -> tuple[UUID, ToolOutputs]:
    """The reply waiting for client tool outputs and the outputs the message's tool parts
    give for its calls (an ``output-error`` part as ``error: …`` text, as the server
    writes a tool's failure)."""
    if waiting is None or waiting.status != "requires_action":
        raise ConflictError(
            "the thread is not waiting for tool outputs; send a user message instead",
            extra={"message_id": str(waiting.id)} if waiting else None,
        )
    pending = {str(call.get("id")) for call in waiting.tool_calls or []}
    outputs = [
        ToolOutput(
            call_id=part.tool_call_id,
            output=part.output if part.state == "output-available" else f"error: {part.error_text}",
        )
        for part in last.parts
        if part.tool_call_id is not None
        and part.tool_call_id in pending
        and part.state in _ANSWERED
    ]
    if not outputs:
        raise BadRequestError(
            f"{field} answers none of the calls waiting for outputs ({', '.join(sorted(pending))})",
            extra={"field": f"{field}.parts"},
        )
    return waiting.id, ToolOutputs(outputs=outputs)
