"""What a generation is asked to do, decided and stored by the request that starts it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from api.llm.request import ChatMessage, ToolSpec
from api.schemas.messages import Message
from api.schemas.tools import ClientFunction


@dataclass(frozen=True, slots=True)
class Variant:
    """One reply of a compare run: the row it writes, its model and merged params."""

    assistant_id: UUID
    model: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GenerationPlan:
    """Everything a generation needs; its rows are stored before it starts."""

    generation_id: UUID
    thread_id: UUID
    # The thread's owner (whose data its tools may read) and who asked (whose tokens
    # these are).
    owner_id: UUID
    principal_id: UUID
    assistant_id: UUID
    user_id: UUID | None
    announce: list[Message]
    model: str
    params: dict[str, Any]
    context: list[ChatMessage]
    # Offered to the model: built-in tool names enabled in the thread, client functions.
    tools: list[str] = field(default_factory=list)
    client_functions: dict[str, ClientFunction] = field(default_factory=dict)
    # The tools offered exactly as a stored request offered them (a replay); None: the
    # specs of ``tools`` and ``client_functions``.
    offered: list[ToolSpec] | None = None
    # The prompt version (prompt id, number) the system prompt was rendered from, which
    # every reply row of the generation records.
    prompt: tuple[UUID, int] | None = None
    # A compare run's replies, the first being ``assistant_id``/``model``/``params``;
    # empty for a run of one.
    variants: list[Variant] = field(default_factory=list)


@dataclass(slots=True)
class Turn:
    """The assistant row being written and what the model is sent for it."""

    assistant_id: UUID
    context: list[ChatMessage]
    # The row's siblings, known when it was stored: only this generation adds messages
    # to the thread while it runs, so they need not be read back.
    sibling_ids: list[UUID]
    rounds: int = 0
