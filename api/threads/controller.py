"""HTTP endpoints for threads (``/api/threads``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody

from api.http.conditional import ETAG, IfMatchHeader, tagged
from api.http.openapi import errors, operation_class, thread_links
from api.http.paging import OwnerFilter, PageCursor, owner_filter, page_limit
from api.preconditions import parse_if_match
from api.schemas.threads import MessageRef, Thread, ThreadCreate, ThreadPage, ThreadUpdate
from api.threads.deps import provide_thread_service
from api.threads.service import ThreadService

PageLimit = Annotated[int, page_limit("Threads")]


class ThreadController(Controller):
    """Create, list, read, change, delete and fork threads."""

    path = "/api/threads"
    tags = ["threads"]
    dependencies = {"threads": Provide(provide_thread_service, sync_to_thread=False)}

    @post(
        "/",
        operation_id="createThread",
        status_code=201,
        responses=errors(400, 413),
        response_headers=ETAG,
        operation_class=operation_class(
            optional_body=True, links={201: thread_links("$response.body#/id")}
        ),
    )
    async def create_thread(
        self,
        threads: NamedDependency[ThreadService],
        data: JSONBody[ThreadCreate | None] = None,
    ) -> Response[Thread]:
        """Create a thread; every field is optional (an empty body is fine)."""
        return tagged(await threads.create(data or ThreadCreate()), 201)

    @get("/", operation_id="listThreads", responses=errors(400, 403))
    async def list_threads(
        self,
        threads: NamedDependency[ThreadService],
        limit: FromQuery[PageLimit] = 20,
        cursor: FromQuery[PageCursor] = "",
        owner: FromQuery[OwnerFilter] = "",
    ) -> ThreadPage:
        """List the caller's threads (an admin's: everyone's, or ``owner``'s), newest
        activity first, a page at a time."""
        return await threads.list(limit, cursor, owner_filter(owner))

    @get(
        "/{thread_id:uuid}",
        operation_id="getThread",
        responses=errors(400, 404),
        response_headers=ETAG,
    )
    async def get_thread(
        self, threads: NamedDependency[ThreadService], thread_id: FromPath[UUID]
    ) -> Response[Thread]:
        """Read one thread."""
        return tagged(await threads.get(thread_id))

    @patch(
        "/{thread_id:uuid}",
        operation_id="updateThread",
        responses=errors(400, 404, 412, 413),
        response_headers=ETAG,
    )
    async def update_thread(
        self,
        threads: NamedDependency[ThreadService],
        thread_id: FromPath[UUID],
        data: JSONBody[ThreadUpdate],
        if_match: IfMatchHeader = "",
    ) -> Response[Thread]:
        """Change a thread's title, system prompt, model, params, tools or metadata
        (with ``If-Match``: only if it is still at that version)."""
        return tagged(await threads.update(thread_id, data, parse_if_match(if_match)))

    @delete(
        "/{thread_id:uuid}",
        operation_id="deleteThread",
        status_code=204,
        responses=errors(400, 404, 412),
    )
    async def delete_thread(
        self,
        threads: NamedDependency[ThreadService],
        thread_id: FromPath[UUID],
        if_match: IfMatchHeader = "",
    ) -> None:
        """Delete a thread and all its messages (a running reply is stopped first; with
        ``If-Match``: only if it is still at that version)."""
        await threads.delete(thread_id, parse_if_match(if_match))

    @post(
        "/{thread_id:uuid}/fork",
        operation_id="forkThread",
        status_code=201,
        responses=errors(
            400, 404, 409, 413, described={409: "The message is still being generated"}
        ),
        response_headers=ETAG,
        operation_class=operation_class(links={201: thread_links("$response.body#/id")}),
    )
    async def fork_thread(
        self,
        threads: NamedDependency[ThreadService],
        thread_id: FromPath[UUID],
        data: JSONBody[MessageRef],
    ) -> Response[Thread]:
        """Copy the path from the root to ``message_id`` into a new thread."""
        return tagged(await threads.fork(thread_id, data.message_id), 201)

    @put(
        "/{thread_id:uuid}/head",
        operation_id="setThreadHead",
        responses=errors(400, 404, 412, 413),
        response_headers=ETAG,
    )
    async def set_head(
        self,
        threads: NamedDependency[ThreadService],
        thread_id: FromPath[UUID],
        data: JSONBody[MessageRef],
        if_match: IfMatchHeader = "",
    ) -> Response[Thread]:
        """Switch branch: the head becomes the newest leaf under ``message_id`` (with
        ``If-Match``: only if the thread is still at that version)."""
        return tagged(await threads.set_head(thread_id, data.message_id, parse_if_match(if_match)))
