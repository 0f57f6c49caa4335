"""What a chat-completions request sends: messages and tools, as msgspec Structs.

The generation pipeline builds these; the router encodes them once, at the edge,
into the request body. Their JSON is OpenAI's chat-completions shape.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class FunctionCall(msgspec.Struct, kw_only=True):
    """The function an assistant turn calls, with its arguments as the model wrote them."""

    name: str
    arguments: str


class ToolCall(msgspec.Struct, kw_only=True):
    """One call of an assistant turn (also the shape stored in ``message.tool_calls``)."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(msgspec.Struct, tag_field="role", tag="system"):
    """The system prompt."""

    content: str


class UserMessage(msgspec.Struct, tag_field="role", tag="user"):
    """A person's turn."""

    content: str


class AssistantMessage(msgspec.Struct, tag_field="role", tag="assistant"):
    """A model's turn: text, or (content may then be null) the tool calls it made."""

    content: str | None
    tool_calls: list[ToolCall] | msgspec.UnsetType = msgspec.UNSET


class ToolMessage(msgspec.Struct, tag_field="role", tag="tool"):
    """What one tool call gave, for the call it answers."""

    tool_call_id: str
    content: str


ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage


class FunctionSpec(msgspec.Struct, kw_only=True):
    """A function the model may call: its name, purpose and JSON Schema."""

    name: str
    description: str
    parameters: dict[str, Any]


class ToolSpec(msgspec.Struct, kw_only=True):
    """An item of the request's ``tools`` list."""

    type: Literal["function"] = "function"
    function: FunctionSpec


# Keys of a request body that are not sampling parameters.
_NOT_PARAMS = frozenset({"model", "messages", "tools", "stream", "stream_options"})


class SentRequest(msgspec.Struct, kw_only=True):
    """A chat-completions body as it was sent, read back to send it again (a replay)."""

    model: str
    messages: list[ChatMessage]
    tools: list[ToolSpec] = msgspec.field(default_factory=list)


def read_sent(body: dict[str, Any]) -> tuple[SentRequest, dict[str, Any]]:
    """A stored request body's model, messages and tools, and its sampling parameters
    (every other key but the stream options)."""
    params = {key: value for key, value in body.items() if key not in _NOT_PARAMS}
    return msgspec.convert(body, SentRequest), params
