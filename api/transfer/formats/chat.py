"""OpenAI's chat format: a thread's active branch as one fine-tuning line, and a chat
conversation imported as a thread with one linear branch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from api.errors import BadRequestError
from api.generation.context import ThreadTools, model_context
from api.llm.request import ChatMessage, ToolSpec
from api.schemas.tools import ClientFunction
from api.schemas.transfer import THREAD_FORMAT, ChatDocument, DocumentMessage, ThreadDocument
from api.stores.tree import MessageTree
from api.tools.client import client_spec
from api.tools.registry import ToolRegistry
from api.transfer.formats.checks import bad_document, convert
from db import models as m


class ChatLine(msgspec.Struct, kw_only=True):
    """One line of OpenAI's chat fine-tuning format."""

    messages: list[ChatMessage]
    tools: list[ToolSpec]


def to_chat_line(
    thread: m.Thread,
    rows: Sequence[m.Message],
    registry: ToolRegistry,
    library_prompt: str | None = None,
) -> ChatLine:
    """The active branch as the model would be sent it (the system prompt as composed,
    with ``library_prompt`` rendered from the thread's prompt of the library, tool calls
    and their results), with the tools the thread offers."""
    tree = MessageTree(rows)
    tools = ThreadTools.of(thread)
    specs = registry.openai_specs(tools.builtin)
    specs.extend(client_spec(function) for function in tools.client.values())
    return ChatLine(
        messages=model_context(thread, tree.path_to(thread.head_id), tools, library_prompt),
        tools=specs,
    )


def chat_to_document(document: ChatDocument, registry: ToolRegistry, model: str) -> ThreadDocument:
    """A chat conversation as a ``playground.thread/v1`` document: one linear branch.

    A leading system message becomes the thread's own system prompt, used alone (it is
    the prompt as composed when the conversation was exported); built-in tools are
    enabled by name, other functions declared as client functions.
    """
    turns = list(document.messages)
    system_prompt = None
    if turns and turns[0].role == "system":
        system_prompt = turns[0].content or ""
    messages: list[DocumentMessage] = []
    offset = 1 if system_prompt is not None else 0
    for index, turn in enumerate(turns[offset:], start=offset):
        messages.append(
            DocumentMessage(
                id=str(index),
                parent_id=messages[-1].id if messages else None,
                role=turn.role,
                content=turn.content or "",
                tool_calls=turn.tool_calls or None,
                tool_call_id=turn.tool_call_id,
            )
        )
    return ThreadDocument(
        format=THREAD_FORMAT,
        system_prompt=system_prompt,
        default_system_prompt=False,
        model=model,
        tools=[_tool(item, index, registry) for index, item in enumerate(document.tools or [])],
        messages=messages,
    )


def _tool(item: dict[str, Any], index: int, registry: ToolRegistry) -> str | ClientFunction:
    where = f"$.tools[{index}]"
    function = item.get("function")
    if item.get("type") != "function" or not isinstance(function, dict):
        raise bad_document(where, 'expected {"type": "function", "function": {...}}')
    name = function.get("name")
    if isinstance(name, str) and registry.get(name) is not None:
        return name
    declared = {
        key: function[key] for key in ("name", "description", "parameters") if key in function
    }
    try:
        return convert(declared, ClientFunction)
    except BadRequestError as exc:
        # Named from the function object; say where that is in the document.
        path = str((exc.extra or {}).get("field", "$"))
        detail = exc.detail.removeprefix(f"{path}: ")
        raise bad_document(f"{where}.function{path[1:]}", detail) from None
