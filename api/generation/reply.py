"""A reply as it accumulates in memory: text, tool-call fragments, usage and timings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

from api.llm.request import FunctionCall, ToolCall
from api.schemas.requests import ModelResponse


@dataclass(slots=True)
class ToolCallBuffer:
    """One tool call assembled from streamed fragments (the arguments come in pieces)."""

    id: str = ""
    name: str = ""
    arguments: str = ""

    def as_call(self) -> ToolCall:
        """The call as an assistant message's ``tool_calls`` item (stored and sent back)."""
        return ToolCall(id=self.id, function=FunctionCall(name=self.name, arguments=self.arguments))


@dataclass(slots=True)
class Reply:
    """One assistant row's reply between batched writes."""

    started: float = field(default_factory=time.perf_counter)
    parts: list[str] = field(default_factory=list)
    unflushed_chars: int = 0
    last_flush: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    # When a compare run's reply ended (its row is written with the others'), else None.
    ended_at: float | None = None
    status: str = "interrupted"
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None
    calls: dict[int, ToolCallBuffer] = field(default_factory=dict)
    # The request log: the body as sent (None: the model was not called), and what the
    # stream said besides text.
    request: dict[str, Any] | None = None
    response: ModelResponse = field(default_factory=ModelResponse)

    @property
    def content(self) -> str:
        """The text received so far."""
        return "".join(self.parts)

    @property
    def tool_calls(self) -> list[ToolCallBuffer]:
        """The calls the model made, in the order it numbered them."""
        return [self.calls[index] for index in sorted(self.calls)]

    def milliseconds_since_start(self, moment: float | None) -> float | None:
        """Milliseconds from the start of the model call to ``moment``."""
        return None if moment is None else round((moment - self.started) * 1000, 3)

    def final_values(self) -> dict[str, Any]:
        """The columns of the assistant row once this reply is over."""
        calls = msgspec.to_builtins([call.as_call() for call in self.tool_calls])
        return {
            "content": self.content,
            "status": self.status,
            "finish_reason": self.finish_reason,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "time_to_first_token_ms": self.milliseconds_since_start(self.first_token_at),
            "duration_ms": self.milliseconds_since_start(self.ended_at or time.perf_counter()),
            "error": self.error,
            "tool_calls": calls or None,
        }
