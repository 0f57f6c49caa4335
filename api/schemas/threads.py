"""Bodies of the thread endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from api.schemas.params import ChatParams, ModelName
from api.schemas.prompts import Variables
from api.schemas.tools import ClientFunction

Title = Annotated[str, msgspec.Meta(max_length=200)]
SystemPrompt = Annotated[str, msgspec.Meta(max_length=100_000)]
# Built-in tools by name, and client-defined functions with a JSON Schema.
ToolList = Annotated[list[str | ClientFunction], msgspec.Meta(max_length=64)]
# A version of the thread's prompt, or "latest": the newest one when each reply starts.
PromptVersionRef = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)] | Literal["latest"]


class ThreadCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /api/threads``; every field is optional."""

    title: Title | None = None
    system_prompt: SystemPrompt | None = None
    default_system_prompt: bool = True
    # A prompt of the library instead of system_prompt (not both).
    prompt_id: UUID | None = None
    prompt_version: PromptVersionRef | None = None
    prompt_variables: Variables | None = None
    model: ModelName | None = None
    params: ChatParams | None = None
    tools: ToolList | None = None
    metadata: dict[str, Any] | None = None


class ThreadUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``PATCH /api/threads/{id}``: only the fields present change."""

    title: Title | msgspec.UnsetType | None = msgspec.UNSET
    system_prompt: SystemPrompt | msgspec.UnsetType | None = msgspec.UNSET
    default_system_prompt: bool | msgspec.UnsetType = msgspec.UNSET
    prompt_id: UUID | msgspec.UnsetType | None = msgspec.UNSET
    prompt_version: PromptVersionRef | msgspec.UnsetType | None = msgspec.UNSET
    prompt_variables: Variables | msgspec.UnsetType | None = msgspec.UNSET
    model: ModelName | msgspec.UnsetType = msgspec.UNSET
    params: ChatParams | msgspec.UnsetType = msgspec.UNSET
    tools: ToolList | msgspec.UnsetType = msgspec.UNSET
    metadata: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


class Thread(msgspec.Struct, kw_only=True):
    """A thread as clients see it; ``owner_id`` is the principal it belongs to."""

    id: UUID
    owner_id: UUID
    title: str | None
    system_prompt: str | None
    default_system_prompt: bool
    # The prompt of the library the thread uses (null: none), its version ("latest":
    # the newest at each reply) and the values of its variables.
    prompt_id: UUID | None
    prompt_version: int | Literal["latest"] | None
    prompt_variables: dict[str, str]
    model: str
    params: ChatParams
    tools: list[str | ClientFunction]
    metadata: dict[str, Any]
    head_id: UUID | None
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    # Bumped by every change but activity; the ETag, and what If-Match compares.
    version: int


class ThreadPage(msgspec.Struct, kw_only=True):
    """One page of threads, newest activity first; pass ``next_cursor`` back for the next."""

    data: list[Thread]
    next_cursor: str | None


class MessageRef(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body naming one message: fork at it, or make its branch the active one."""

    message_id: UUID
