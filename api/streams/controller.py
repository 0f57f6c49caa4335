"""HTTP endpoints for in-flight generations: follow (resume) and cancel, on any process."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery

from api.errors import BadRequestError
from api.generation.manager import GenerationManager
from api.http.openapi import errors, operation_class
from api.http.sse import (
    ThreadStreamToken,
    last_event_id_header,
    last_event_id_query,
    resume_after,
    sse_response,
)
from api.schemas.auth import StreamToken
from api.schemas.events import EVENT_ID_PATTERN, parse_event_id
from api.streams.deps import provide_generations, provide_stream_access
from api.streams.service import StreamAccess

_EVENT_ID_DOC = "The id of the last event received, `<generation id>:<n>`; resume after it."
# Plain strings, empty when absent: an optional ``str | None`` is documented as nullable,
# and a header or query value is never null.
LastEventIdHeader = Annotated[str, last_event_id_header(_EVENT_ID_DOC, EVENT_ID_PATTERN)]
LastEventIdQuery = Annotated[str, last_event_id_query(_EVENT_ID_DOC, EVENT_ID_PATTERN)]


class Cancelled(msgspec.Struct, kw_only=True):
    """Answer of a cancel: the reply that was stopped (its partial text is kept) and its
    stored status (``in_progress`` only while its process has not stored it yet)."""

    cancelled: bool
    message_id: UUID
    status: str


class GenerationController(Controller):
    """Follow or stop the generation running in a thread."""

    path = "/api/threads/{thread_id:uuid}"
    tags = ["generations"]
    dependencies = {
        "generations": Provide(provide_generations, sync_to_thread=False),
        "access": Provide(provide_stream_access, sync_to_thread=False),
    }

    @get(
        "/stream",
        operation_id="followGeneration",
        responses={
            200: ResponseSpec(
                data_container=None,
                description="The events of the generation after the given id, then live ones",
            ),
            204: ResponseSpec(
                data_container=None, description="Nothing is being generated in the thread"
            ),
            **errors(400, 404),
        },
        operation_class=operation_class(event_stream=True),
    )
    async def follow(
        self,
        generations: NamedDependency[GenerationManager],
        access: NamedDependency[StreamAccess],
        thread_id: FromPath[UUID],
        last_event_id_header: LastEventIdHeader = "",
        last_event_id: FromQuery[LastEventIdQuery] = "",
        stream_token: FromQuery[ThreadStreamToken] = "",
    ) -> Response[Any]:
        """Events after ``Last-Event-ID`` (header, or ``last_event_id`` query parameter),
        then live, until ``done``. Without an id, or with the id of a generation that is
        gone (past its retention): the running generation from its first event. 204 when
        nothing is running; 400 for an id that is malformed or of another thread."""
        await access.check(thread_id)
        resume = await _resume_point(generations, thread_id, last_event_id_header, last_event_id)
        if resume is not None:
            generation_id, after = resume
            return sse_response(generations.frames(generation_id, after))
        running = await generations.running(thread_id)
        if running is None:
            return Response(None, status_code=204)
        return sse_response(generations.frames(running.id))

    @post(
        "/cancel",
        operation_id="cancelGeneration",
        status_code=200,
        responses=errors(
            400, 404, 409, described={409: "Nothing is being generated in the thread"}
        ),
    )
    async def cancel(
        self,
        generations: NamedDependency[GenerationManager],
        access: NamedDependency[StreamAccess],
        thread_id: FromPath[UUID],
    ) -> Cancelled:
        """Stop the running generation (on whichever process runs it); its partial reply
        is kept with status ``cancelled``. 409 naming the reply when nothing is being
        generated, or when the reply had already ended before the cancel reached it."""
        await access.check(thread_id)
        message_id, status = await generations.cancel_or_conflict(thread_id)
        return Cancelled(cancelled=True, message_id=message_id, status=status)

    @post(
        "/stream-token",
        operation_id="createStreamToken",
        status_code=200,
        responses=errors(400, 404),
    )
    async def stream_token(
        self, access: NamedDependency[StreamAccess], thread_id: FromPath[UUID]
    ) -> StreamToken:
        """A short-lived token that lets `EventSource` (which cannot send headers) follow
        this thread's stream: `GET /api/threads/{thread_id}/stream?stream_token=…`. It
        works for this thread only, and never carries the key itself."""
        return await access.token(thread_id)


async def _resume_point(
    generations: GenerationManager, thread_id: UUID, header: str, query: str
) -> tuple[UUID, int] | None:
    """The generation of this thread and the position to resume after, from the header
    (else the query parameter); None without an id or for a generation that is gone."""
    resume = resume_after(
        header,
        query,
        parse_event_id,
        source="this API",
        shape="Last-Event-ID is `<generation id>:<n>`",
    )
    if resume is None:
        return None
    field, (generation_id, after) = resume
    owner = await generations.thread_of(generation_id)
    if owner is None:
        return None
    if owner != thread_id:
        raise BadRequestError(
            f"{field} names generation {generation_id} of another thread;"
            " a Last-Event-ID resumes only a generation of this thread",
            extra={"field": field},
        )
    return generation_id, after
