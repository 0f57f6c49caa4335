"""What the model is sent: the system prompt, then the active branch's turns.

The system prompt follows ``api.tools.prompt.build_system_prompt`` (the default
prompt explaining the enabled tools, then the thread's own: its ``system_prompt``, or
the prompt of the library it uses, rendered by the caller). Turns keep their tool
calls and tool results in OpenAI's shape, so a conversation with tool rounds (or
one regenerated after them) reads to the model as it happened. A call that no tool
message answers (a client function never answered, a cancelled round) is left out:
the model server would reject it.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from api.llm.request import (
    AssistantMessage,
    ChatMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from api.schemas.tools import ClientFunction
from api.tools.prompt import build_system_prompt
from db import models as m


@dataclass(frozen=True, slots=True)
class ThreadTools:
    """The tools a thread offers the model: built-ins by name, and client functions."""

    builtin: list[str]
    client: dict[str, ClientFunction]

    @classmethod
    def of(cls, thread: m.Thread) -> ThreadTools:
        """Read a thread's ``tools`` column."""
        items = msgspec.convert(thread.tools, list[str | ClientFunction])
        return cls(
            builtin=[item for item in items if isinstance(item, str)],
            client={item.name: item for item in items if isinstance(item, ClientFunction)},
        )


def model_context(
    thread: m.Thread,
    path: list[m.Message],
    tools: ThreadTools,
    library_prompt: str | None = None,
) -> list[ChatMessage]:
    """The messages for the model: system prompt, then ``path`` (root first);
    ``library_prompt`` is the thread's prompt of the library, rendered."""
    context: list[ChatMessage] = []
    system = build_system_prompt(
        thread_prompt=library_prompt if thread.prompt_id is not None else thread.system_prompt,
        use_default=thread.default_system_prompt,
        enabled_tools=[*tools.builtin, *tools.client],
        has_title=bool(thread.title),
        descriptions={name: fn.description for name, fn in tools.client.items()},
    )
    if system:
        context.append(SystemMessage(content=system))
    answered = {row.tool_call_id for row in path if row.role == "tool" and row.tool_call_id}
    for row in path:
        if row.role == "system":
            context.append(SystemMessage(content=row.content))
        elif row.role == "user":
            context.append(UserMessage(content=row.content))
        elif row.role == "assistant":
            stored = msgspec.convert(row.tool_calls or [], list[ToolCall])
            calls = [call for call in stored if call.id in answered]
            if calls:
                context.append(AssistantMessage(content=row.content or None, tool_calls=calls))
            elif row.content:
                context.append(AssistantMessage(content=row.content))
        elif row.role == "tool" and row.tool_call_id:
            context.append(ToolMessage(tool_call_id=row.tool_call_id, content=row.content))
    return context
