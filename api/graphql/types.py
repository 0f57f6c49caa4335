"""The GraphQL object types: threads, messages and the models and tools on offer,
built from the REST API's own views (``api.schemas``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.graphql.context import GraphContext
from api.llm.router import ModelInfo
from api.schemas import messages as rest
from api.schemas.threads import Thread as ThreadView
from api.schemas.views import to_message
from api.stores.tree import MessageTree
from api.tools.registry import ToolInfo
from db import models as m


@strawberry.type
class Usage:
    """Token counts reported by the model server."""

    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None


@strawberry.type
class Timings:
    """How long the reply took, measured from the start of the model call."""

    time_to_first_token_ms: float | None
    duration_ms: float | None


@strawberry.type
class Message:
    """A message; ``siblings`` are the alternatives at its place (itself included),
    ``children`` the messages below it, oldest first."""

    id: strawberry.ID
    thread_id: strawberry.ID
    parent_id: strawberry.ID | None
    role: str
    content: str
    status: str
    sibling_ids: list[strawberry.ID]
    model: str | None
    params: JSON | None
    usage: Usage | None
    finish_reason: str | None
    timings: Timings | None
    error: str | None
    tool_calls: JSON | None
    tool_call_id: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    version: int

    @strawberry.field(description="The messages sharing this one's parent, itself included.")
    async def siblings(self, info: Info[GraphContext, None]) -> list[Message]:
        """Read from the thread's tree, loaded once per operation."""
        tree = await _tree(info, self.thread_id)
        row = tree.by_id.get(UUID(self.id))
        if row is None:
            return []
        return [message_of(tree, sibling) for sibling in tree.children[row.parent_id]]

    @strawberry.field(description="The replies and messages below this one, oldest first.")
    async def children(self, info: Info[GraphContext, None]) -> list[Message]:
        """Read from the thread's tree, loaded once per operation."""
        tree = await _tree(info, self.thread_id)
        return [message_of(tree, child) for child in tree.children[UUID(self.id)]]


@strawberry.type
class Thread:
    """A thread; ``messages`` is its active branch, oldest first."""

    id: strawberry.ID
    owner_id: strawberry.ID
    title: str | None
    system_prompt: str | None
    default_system_prompt: bool
    model: str
    params: JSON
    tools: JSON
    metadata: JSON
    head_id: strawberry.ID | None
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    version: int

    @strawberry.field(description="The active branch (root to head), oldest first.")
    async def messages(self, info: Info[GraphContext, None]) -> list[Message]:
        """The path to the head, read from the thread's tree (loaded once per operation)."""
        tree = await _tree(info, self.id)
        head = UUID(self.head_id) if self.head_id else None
        return [message_of(tree, row) for row in tree.path_to(head)]


@strawberry.type
class Model:
    """A model the playground offers."""

    id: str
    owned_by: str
    offline: bool
    description: str


@strawberry.type
class ModelList:
    """The models on offer and the default one."""

    data: list[Model]
    default_model: str


@strawberry.type
class Tool:
    """A server-side tool a thread may enable."""

    name: str
    description: str
    parameters: JSON


def thread_of(view: ThreadView) -> Thread:
    """The GraphQL thread of a REST view."""
    return Thread(
        id=strawberry.ID(str(view.id)),
        owner_id=strawberry.ID(str(view.owner_id)),
        title=view.title,
        system_prompt=view.system_prompt,
        default_system_prompt=view.default_system_prompt,
        model=view.model,
        params=msgspec.to_builtins(view.params),
        tools=msgspec.to_builtins(view.tools),
        metadata=JSON(view.metadata),
        head_id=strawberry.ID(str(view.head_id)) if view.head_id else None,
        created_at=view.created_at,
        updated_at=view.updated_at,
        last_activity_at=view.last_activity_at,
        version=view.version,
    )


def message_from(view: rest.Message) -> Message:
    """The GraphQL message of a REST view."""
    usage, timings = view.usage, view.timings
    return Message(
        id=strawberry.ID(str(view.id)),
        thread_id=strawberry.ID(str(view.thread_id)),
        parent_id=strawberry.ID(str(view.parent_id)) if view.parent_id else None,
        role=view.role,
        content=view.content,
        status=view.status,
        sibling_ids=[strawberry.ID(str(sibling)) for sibling in view.sibling_ids],
        model=view.model,
        params=JSON(view.params),
        usage=Usage(**msgspec.structs.asdict(usage)) if usage else None,
        finish_reason=view.finish_reason,
        timings=Timings(**msgspec.structs.asdict(timings)) if timings else None,
        error=view.error,
        tool_calls=_builtins(view.tool_calls),
        tool_call_id=view.tool_call_id,
        created_at=view.created_at,
        updated_at=view.updated_at,
        completed_at=view.completed_at,
        version=view.version,
    )


def message_of(tree: MessageTree, row: m.Message) -> Message:
    """The GraphQL message of a stored row of ``tree``."""
    return message_from(to_message(row, tree.sibling_ids(row)))


def model_of(info: ModelInfo) -> Model:
    """The GraphQL model of the REST one."""
    return Model(**msgspec.structs.asdict(info))


def tool_of(info: ToolInfo) -> Tool:
    """The GraphQL tool of the REST one."""
    return Tool(name=info.name, description=info.description, parameters=JSON(info.parameters))


def _builtins(value: Any) -> Any:
    return None if value is None else msgspec.to_builtins(value)


async def _tree(info: Info[GraphContext, None], thread_id: str) -> MessageTree:
    tree: MessageTree = await info.context.loaders_of().trees.load(UUID(thread_id))
    return tree
