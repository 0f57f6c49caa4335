"""``Query``: threads (a Relay connection), one thread, the models and the tools."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types import Info

from api.errors import BadRequestError
from api.graphql.context import GraphContext
from api.graphql.services import thread_service, with_service
from api.graphql.types import ModelList, Thread, Tool, model_of, thread_of, tool_of
from api.llm.router import ModelRouter
from api.threads.cursor import ThreadCursor, encode_cursor
from api.threads.service import ThreadService
from api.tools.registry import ToolRegistry

# The REST page size limits.
MAX_FIRST = 100


@strawberry.type
class ThreadEdge:
    """A thread and the cursor to list the threads after it."""

    cursor: str
    node: Thread


@strawberry.type
class PageInfo:
    """Where a page ends: pass ``endCursor`` as ``after`` for the next one."""

    end_cursor: str | None
    has_next_page: bool


@strawberry.type
class ThreadConnection:
    """A page of threads, newest activity first (as ``GET /api/threads``)."""

    edges: list[ThreadEdge]
    page_info: PageInfo


@strawberry.type
class Query:
    """What a client reads."""

    @strawberry.field(description="The caller's threads, newest activity first.")
    @with_service(thread_service, renames={"cursor": "after"})
    async def threads(
        self, threads: ThreadService, first: int = 20, after: str | None = None
    ) -> ThreadConnection:
        """A page of threads; the same order and cursors as ``GET /api/threads``."""
        if not 1 <= first <= MAX_FIRST:
            raise BadRequestError(
                f"first must be between 1 and {MAX_FIRST}", extra={"field": "first"}
            )
        page = await threads.list(first, after or None)
        edges = [
            ThreadEdge(
                cursor=encode_cursor(ThreadCursor(view.last_activity_at, view.id)),
                node=thread_of(view),
            )
            for view in page.data
        ]
        return ThreadConnection(
            edges=edges,
            page_info=PageInfo(
                end_cursor=edges[-1].cursor if edges else None,
                has_next_page=page.next_cursor is not None,
            ),
        )

    @strawberry.field(description="One thread of the caller.")
    @with_service(thread_service)
    async def thread(self, threads: ThreadService, id: UUID) -> Thread | None:
        """The thread, or ``NOT_FOUND``."""
        return thread_of(await threads.get(id))

    @strawberry.field(description="The models on offer.")
    async def models(self, info: Info[GraphContext, None]) -> ModelList:
        """As ``GET /api/models``."""
        await info.context.caller()
        router: ModelRouter = info.context.state.models
        return ModelList(
            data=[model_of(model) for model in router.models], default_model=router.default_model
        )

    @strawberry.field(description="The server-side tools a thread may enable.")
    async def tools(self, info: Info[GraphContext, None]) -> list[Tool]:
        """As ``GET /api/tools``."""
        await info.context.caller()
        registry: ToolRegistry = info.context.state.tools
        return [tool_of(tool) for tool in registry.all()]
