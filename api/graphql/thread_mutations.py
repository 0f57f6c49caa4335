"""Mutations of threads: create, update, delete, fork and switch branch."""

from __future__ import annotations

from uuid import UUID

import strawberry

from api.graphql.inputs import CreateThreadInput, UpdateThreadInput, body
from api.graphql.services import thread_service, version_match, with_service
from api.graphql.types import Thread, thread_of
from api.schemas.threads import ThreadCreate, ThreadUpdate
from api.threads.service import ThreadService


@strawberry.type
class ThreadMutation:
    """What a client changes in its threads."""

    @strawberry.mutation(description="Create a thread (as POST /api/threads).")
    @with_service(thread_service)
    async def create_thread(
        self, threads: ThreadService, input: CreateThreadInput | None = None
    ) -> Thread | None:
        """The new thread."""
        return thread_of(await threads.create(body(ThreadCreate, input)))

    @strawberry.mutation(
        description="Change the fields given (with ifVersion: only at that version)."
    )
    @with_service(thread_service)
    async def update_thread(
        self,
        threads: ThreadService,
        id: UUID,
        input: UpdateThreadInput,
        if_version: int | None = None,
    ) -> Thread | None:
        """The changed thread."""
        data = body(ThreadUpdate, input)
        return thread_of(await threads.update(id, data, version_match(if_version)))

    @strawberry.mutation(description="Delete a thread and its messages; answers its id.")
    @with_service(thread_service)
    async def delete_thread(
        self, threads: ThreadService, id: UUID, if_version: int | None = None
    ) -> strawberry.ID:
        """The id of the deleted thread (a running reply is stopped first)."""
        await threads.delete(id, version_match(if_version))
        return strawberry.ID(str(id))

    @strawberry.mutation(description="Copy the path root→messageId into a new thread.")
    @with_service(thread_service)
    async def fork_thread(
        self, threads: ThreadService, id: UUID, message_id: UUID
    ) -> Thread | None:
        """The new thread."""
        return thread_of(await threads.fork(id, message_id))

    @strawberry.mutation(description="Make the newest leaf under messageId the head.")
    @with_service(thread_service, changes_trees=True)
    async def set_head(
        self,
        threads: ThreadService,
        thread_id: UUID,
        message_id: UUID,
        if_version: int | None = None,
    ) -> Thread | None:
        """The thread with its new head."""
        return thread_of(await threads.set_head(thread_id, message_id, version_match(if_version)))
