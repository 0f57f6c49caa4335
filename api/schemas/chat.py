"""The AI SDK's chat bodies (README "AI SDK (useChat)"): the request
``DefaultChatTransport`` posts, and the UI message stream chunks answered to it.

Field names are the AI SDK's own (camelCase), so a ``useChat`` front-end talks to the
API unchanged. The request is strict where the service reads it (the top level and each
message) and lenient inside a message's parts, whose many other fields (provider
metadata, approval states, …) the AI SDK adds as it evolves.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from api.schemas.messages import Timings, Usage

ChatTrigger = Literal["submit-message", "regenerate-message"]


class ChatPart(msgspec.Struct, kw_only=True, rename="camel"):
    """One part of a UI message. The service reads text parts (``text``) of a user
    message and the client tool parts (``toolCallId``, ``state``, ``output`` or
    ``errorText``) of an assistant message; other fields are accepted and ignored."""

    type: str
    text: str | None = None
    tool_call_id: str | None = None
    state: str | None = None
    output: Any = None
    error_text: str | None = None


class ChatMessage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A UI message as the AI SDK holds it (its id is the client's)."""

    id: str
    role: Literal["system", "user", "assistant"]
    parts: list[ChatPart]
    metadata: Any = None


class ChatRequest(
    msgspec.Struct, kw_only=True, forbid_unknown_fields=True, rename={"message_id": "messageId"}
):
    """Body of ``POST /api/threads/{id}/chat``, as ``DefaultChatTransport`` sends it.

    Only the last message is read: a user message is sent, an assistant message answers
    the thread's waiting client tool calls. The thread keeps the history.
    """

    id: str = ""
    messages: Annotated[list[ChatMessage], msgspec.Meta(min_length=1, max_length=10_000)]
    trigger: ChatTrigger = "submit-message"
    # The message to regenerate (a stored message id), or the client's id of the
    # assistant message a tool output answers; the service falls back to the thread's head.
    message_id: str | None = None


class StartMetadata(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Message metadata sent with ``start``: where the reply is stored."""

    thread_id: str
    generation_id: str
    user_message_id: str | None = None


class FinishMetadata(msgspec.Struct, kw_only=True):
    """Message metadata sent with ``finish``: the reply's last stored row."""

    message_id: str
    status: str
    model: str | None
    usage: Usage | None
    finish_reason: str | None
    timings: Timings | None
    error: str | None


class Chunk(msgspec.Struct, kw_only=True, tag_field="type", rename="camel", omit_defaults=True):
    """One chunk of the AI SDK's UI message stream (a ``data:`` line of JSON)."""


class Start(Chunk, tag="start"):
    """The reply starts; ``messageId`` is the stored id of its first assistant row."""

    message_id: str
    message_metadata: StartMetadata


class StartStep(Chunk, tag="start-step"):
    """An assistant row starts (each tool round is a step)."""


class FinishStep(Chunk, tag="finish-step"):
    """An assistant row ended."""


class TextChunk(Chunk):
    """A chunk of one text part (``id``: the assistant row it is stored in)."""

    id: str


class TextStart(TextChunk, tag="text-start"):
    """A text part opens."""


class TextDelta(TextChunk, tag="text-delta"):
    """A piece of reply text."""

    delta: str


class TextEnd(TextChunk, tag="text-end"):
    """A text part is complete."""


# Each tool chunk declares its own ``providerExecuted`` (a built-in tool the server
# runs) rather than inheriting it: msgspec encodes a base's fields first, which would
# move it from the end of the chunks already sent to clients.
class ToolChunk(Chunk):
    """A chunk of one tool call."""

    tool_call_id: str


class ToolInputChunk(ToolChunk):
    """A chunk of a tool call's input, which names the tool."""

    tool_name: str


class ToolInputStart(ToolInputChunk, tag="tool-input-start"):
    """A tool call begins."""

    provider_executed: bool | None = None


class ToolInputAvailable(ToolInputChunk, tag="tool-input-available"):
    """A tool call whose arguments passed validation."""

    input: Any
    provider_executed: bool | None = None


class ToolInputError(ToolInputChunk, tag="tool-input-error"):
    """A tool call whose arguments were rejected before it ran; the model retries."""

    input: Any
    error_text: str
    provider_executed: bool | None = None


class ToolOutputAvailable(ToolChunk, tag="tool-output-available"):
    """What a built-in tool gave."""

    output: Any
    provider_executed: bool | None = None


class ToolOutputError(ToolChunk, tag="tool-output-error"):
    """A built-in tool that ran and failed."""

    error_text: str
    provider_executed: bool | None = None


class ErrorChunk(Chunk, tag="error"):
    """A failure after the stream started."""

    error_text: str


class Finish(Chunk, tag="finish"):
    """The reply ended; ``messageMetadata`` describes its last stored row."""

    finish_reason: str
    message_metadata: FinishMetadata | None = None
