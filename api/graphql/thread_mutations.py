"""Mutations of threads: create, update, delete, fork and switch branch."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.context import GraphContext
from api.graphql.inputs import CreateThreadInput, UpdateThreadInput, body
from api.graphql.services import parse_id, thread_service, version_match
from api.graphql.types import Thread, thread_of
from api.schemas.threads import ThreadCreate, ThreadUpdate


@strawberry.type
class ThreadMutation:
    """What a client changes in its threads."""

    @strawberry.mutation(description="Create a thread (as POST /api/threads).")
    async def create_thread(
        self, info: Info[GraphContext, None], input: CreateThreadInput | None = None
    ) -> Thread | None:
        """The new thread."""
        async with thread_service(info.context) as threads:
            return thread_of(await threads.create(body(ThreadCreate, input)))

    @strawberry.mutation(
        description="Change the fields given (with ifVersion: only at that version)."
    )
    async def update_thread(
        self,
        info: Info[GraphContext, None],
        id: strawberry.ID,
        input: UpdateThreadInput,
        if_version: int | None = None,
    ) -> Thread | None:
        """The changed thread."""
        thread_id = parse_id("id", id)
        async with thread_service(info.context) as threads:
            changed = await threads.update(
                thread_id, body(ThreadUpdate, input), version_match(if_version)
            )
        return thread_of(changed)

    @strawberry.mutation(description="Delete a thread and its messages; answers its id.")
    async def delete_thread(
        self, info: Info[GraphContext, None], id: strawberry.ID, if_version: int | None = None
    ) -> strawberry.ID:
        """The id of the deleted thread (a running reply is stopped first)."""
        thread_id = parse_id("id", id)
        async with thread_service(info.context) as threads:
            await threads.delete(thread_id, version_match(if_version))
        return strawberry.ID(str(thread_id))

    @strawberry.mutation(description="Copy the path root→messageId into a new thread.")
    async def fork_thread(
        self, info: Info[GraphContext, None], id: strawberry.ID, message_id: strawberry.ID
    ) -> Thread | None:
        """The new thread."""
        thread_id, message = parse_id("id", id), parse_id("messageId", message_id)
        async with thread_service(info.context) as threads:
            return thread_of(await threads.fork(thread_id, message))

    @strawberry.mutation(description="Make the newest leaf under messageId the head.")
    async def set_head(
        self,
        info: Info[GraphContext, None],
        thread_id: strawberry.ID,
        message_id: strawberry.ID,
        if_version: int | None = None,
    ) -> Thread | None:
        """The thread with its new head."""
        thread, message = parse_id("threadId", thread_id), parse_id("messageId", message_id)
        info.context.loaders = None  # the branch changes: read trees afresh
        async with thread_service(info.context) as threads:
            return thread_of(await threads.set_head(thread, message, version_match(if_version)))
