"""A thread's active branch as Markdown, for people: roles as headings, tool calls as
fenced JSON."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from api.stores.tree import MessageTree
from db import models as m

_HEADINGS = {"system": "System", "user": "User", "assistant": "Assistant", "tool": "Tool"}


def to_markdown(thread: m.Thread, rows: Sequence[m.Message], system_prompt: str | None) -> str:
    """The title, the thread's own system prompt (``system_prompt``: its literal one, or
    its prompt of the library rendered), then each message of the active branch."""
    parts = [f"# {thread.title or 'Untitled thread'}", f"Model: `{thread.model}`"]
    if system_prompt:
        parts.append(f"## System prompt\n\n{system_prompt}")
    for row in MessageTree(rows).path_to(thread.head_id):
        heading = _HEADINGS[row.role]
        if row.role == "tool" and row.tool_call_id:
            heading += f" (`{row.tool_call_id}`)"
        if row.role == "assistant" and row.status != "completed":
            heading += f" ({row.status})"
        section = [f"## {heading}"]
        if row.content:
            section.append(_fenced(row.content, "") if row.role == "tool" else row.content)
        for call in row.tool_calls or []:
            section.append(_fenced(_pretty(call), "json"))
        parts.append("\n\n".join(section))
    return "\n\n".join(parts) + "\n"


def _pretty(value: object) -> str:
    return msgspec.json.format(msgspec.json.encode(value), indent=2).decode()


def _fenced(text: str, language: str) -> str:
    # A fence longer than any backtick run inside, so the text cannot close it.
    run, fence = 0, 3
    for char in text:
        run = run + 1 if char == "`" else 0
        fence = max(fence, run + 1)
    return f"{'`' * fence}{language}\n{text}\n{'`' * fence}"
