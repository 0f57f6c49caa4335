"""The documents threads are exported as and imported from.

``playground.thread/v1`` is this service's own, versioned format: a whole thread (its
settings, every message of its tree with ``id`` and ``parent_id``, and the head) that
imports back into the same tree. ``ChatDocument`` is OpenAI's chat format
(``{"messages": [...], "tools": [...]}``), one linear branch.

Both are decoded strictly (unknown fields rejected), so a problem is reported with
the JSON path msgspec names, e.g. ``$.messages[3].role``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

import msgspec

from api.schemas.messages import Role, Status
from api.schemas.params import ChatParams, ModelName
from api.schemas.threads import SystemPrompt, Title, ToolList

THREAD_FORMAT: Final = "playground.thread/v1"
# An id inside a document: any text naming a message of that document (exports write
# UUIDs; imports give every message a new one).
DocumentId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
ExportFormat = Literal["json", "markdown", "openai-jsonl"]
BulkFormat = Literal["jsonl", "openai-jsonl"]


class DocumentUsage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Token counts of a reply, as the model server reported them."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class DocumentTimings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """How long a reply took, from the start of its model call."""

    time_to_first_token_ms: float | None = None
    duration_ms: float | None = None


class DocumentFunction(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The function a tool call names, with its arguments as the model wrote them."""

    name: str
    arguments: str


class DocumentToolCall(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One call an assistant turn made (OpenAI's shape)."""

    id: DocumentId
    type: Literal["function"] = "function"
    function: DocumentFunction


class DocumentMessage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One message of the tree. ``parent_id`` is null for a first message (a thread may
    have several: alternatives at the root); replies carry what the model was asked and
    what happened."""

    id: DocumentId
    parent_id: DocumentId | None = None
    role: Role
    content: str = ""
    status: Status = "completed"
    model: str | None = None
    params: dict[str, Any] | None = None
    request_message_count: int | None = None
    usage: DocumentUsage | None = None
    finish_reason: str | None = None
    timings: DocumentTimings | None = None
    error: str | None = None
    tool_calls: list[DocumentToolCall] | None = None
    tool_call_id: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None


class ThreadDocument(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A whole thread in the ``playground.thread/v1`` format: its settings, every message
    of its tree (parents before children) and the head of the active branch."""

    format: Literal["playground.thread/v1"]
    title: Title | None = None
    system_prompt: SystemPrompt | None = None
    default_system_prompt: bool = True
    model: ModelName
    params: ChatParams = msgspec.field(default_factory=ChatParams)
    tools: ToolList = msgspec.field(default_factory=list)
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    head_id: DocumentId | None = None
    created_at: datetime | None = None
    messages: list[DocumentMessage]


class ChatTurn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One message of OpenAI's chat format; ``name`` and the fine-tuning ``weight`` are
    accepted and not stored."""

    role: Role
    content: str | None = None
    tool_calls: list[DocumentToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    weight: int | None = None


class ChatDocument(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """OpenAI's chat format: one linear conversation, and the tools it offered."""

    messages: list[ChatTurn]
    tools: list[dict[str, Any]] | None = None
