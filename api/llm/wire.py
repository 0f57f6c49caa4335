"""OpenAI chat-completions wire format: the JSON bodies and SSE framing a server sends.

The offline model and the fake upstream server both build their answers here, so the
two speak exactly the format the ``openai`` SDK parses, and it is written once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

JSON = dict[str, Any]

SSE_DONE = b"data: [DONE]\n\n"
SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """Token counts of one completion, as in the ``usage`` object."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens

    def to_json(self) -> JSON:
        """The ``usage`` object of a response body."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


def sse_event(payload: object) -> bytes:
    """Frame one JSON payload as an SSE ``data:`` event."""
    return b"data: " + msgspec.json.encode(payload) + b"\n\n"


def chunk(
    *,
    completion_id: str,
    created: int,
    model: str,
    delta: JSON,
    finish_reason: str | None = None,
    system_fingerprint: str | None = None,
) -> JSON:
    """A ``chat.completion.chunk`` carrying one delta of the single choice (and the
    backend's ``system_fingerprint`` when given)."""
    body: JSON = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
    }
    if system_fingerprint is not None:
        body["system_fingerprint"] = system_fingerprint
    return body


def usage_chunk(*, completion_id: str, created: int, model: str, usage: Usage) -> JSON:
    """The last chunk sent when ``stream_options.include_usage`` is set: no choices, usage."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": usage.to_json(),
    }


def completion(
    *,
    completion_id: str,
    created: int,
    model: str,
    content: str,
    finish_reason: str,
    usage: Usage,
) -> JSON:
    """A non-streamed ``chat.completion`` body with one assistant message."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": usage.to_json(),
    }


def error(
    message: str, *, error_type: str, code: str | None = None, param: str | None = None
) -> JSON:
    """An error body in OpenAI's shape, which the SDK turns into ``APIStatusError.message``."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def model_list(model_ids: Iterable[str], *, owned_by: str) -> JSON:
    """The body of ``GET /models``."""
    return {"object": "list", "data": [model_object(mid, owned_by=owned_by) for mid in model_ids]}


def model_object(model_id: str, *, owned_by: str) -> JSON:
    """One entry of ``GET /models`` (and the body of ``GET /models/{id}``)."""
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owned_by}


def content_text(content: object) -> str:
    """The text of a message's ``content``: a string, or the text parts of a part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return ""


def last_user_text(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The text of the last ``user`` message, or None when there is none."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return None


def prompt_word_count(messages: Sequence[Mapping[str, Any]]) -> int:
    """A rough prompt token count (words in every message) for fake ``usage`` numbers."""
    return sum(len(content_text(m.get("content")).split()) for m in messages)


def requested_max_tokens(body: Mapping[str, Any]) -> int | None:
    """The completion length limit asked for (``max_completion_tokens`` or ``max_tokens``)."""
    limits = [
        value
        for key in ("max_completion_tokens", "max_tokens")
        if isinstance(value := body.get(key), int) and not isinstance(value, bool)
    ]
    return min(limits) if limits else None


def wants_usage(body: Mapping[str, Any]) -> bool:
    """Whether a streamed request asked for the final usage chunk."""
    options = body.get("stream_options")
    return isinstance(options, Mapping) and bool(options.get("include_usage"))


def request_tools(body: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """The well-formed entries of a request's ``tools`` list (None when it has none)."""
    tools = body.get("tools")
    if not isinstance(tools, list):
        return None
    return [tool for tool in tools if isinstance(tool, Mapping)]


def history_error(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """Why ``messages`` break OpenAI's tool-call rule, or None when they keep it.

    The rule, as OpenAI's server enforces it: an assistant message with ``tool_calls``
    is followed by one ``tool`` message per call id before any other message, and a
    ``tool`` message answers a call of the assistant message before it.
    """
    waiting: list[str] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in waiting:
                return (
                    f"messages[{index}]: a 'tool' message must answer a call of the preceding "
                    f"assistant message; {call_id!r} is not one of its open calls"
                )
            waiting.remove(call_id)
            continue
        if waiting:
            return (
                f"messages[{index}]: an assistant message with 'tool_calls' must be followed "
                f"by tool messages answering each call; no answer for {', '.join(waiting)}"
            )
        calls = message.get("tool_calls") if role == "assistant" else None
        if isinstance(calls, list):
            waiting = [str(call.get("id")) for call in calls if isinstance(call, Mapping)]
    if waiting:
        return f"the last assistant message's calls {', '.join(waiting)} have no tool messages"
    return None
