"""HTTP endpoints for in-flight generations: follow (resume) and cancel, on any process."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, HeaderParameter

from api.generation.manager import GenerationManager
from api.http.sse import sse_response
from api.schemas.events import parse_event_id
from api.streams.deps import provide_generations

LastEventId = Annotated[str | None, HeaderParameter(name="Last-Event-ID")]


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
    dependencies = {"generations": Provide(provide_generations, sync_to_thread=False)}

    @get("/stream", operation_id="followGeneration")
    async def follow(
        self,
        generations: NamedDependency[GenerationManager],
        thread_id: FromPath[UUID],
        last_event_id_header: LastEventId = None,
        last_event_id: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Events after ``Last-Event-ID`` (header, or ``last_event_id`` query parameter),
        then live, until ``done``. Without an id: the running generation from its first
        event. 204 when nothing is running and the id names no generation of this thread."""
        resume = parse_event_id(last_event_id_header or last_event_id)
        if resume is not None:
            generation_id, after = resume
            if await _belongs(generations, generation_id, thread_id):
                return sse_response(generations.follow(generation_id, after), generation_id)
        running = await generations.running(thread_id)
        if running is None:
            return Response(None, status_code=204)
        return sse_response(generations.follow(running.id), running.id)

    @post("/cancel", operation_id="cancelGeneration", status_code=200)
    async def cancel(
        self, generations: NamedDependency[GenerationManager], thread_id: FromPath[UUID]
    ) -> Cancelled:
        """Stop the running generation (on whichever process runs it); its partial reply
        is kept with status ``cancelled``. 409 naming the reply when nothing is being
        generated, or when the reply had already ended before the cancel reached it."""
        message_id, status = await generations.cancel_or_conflict(thread_id)
        return Cancelled(cancelled=True, message_id=message_id, status=status)


async def _belongs(generations: GenerationManager, generation_id: UUID, thread_id: UUID) -> bool:
    local = generations.local(generation_id)
    if local is not None:
        return local.thread_id == thread_id
    generation = await generations.find(generation_id)
    return generation is not None and generation.thread_id == thread_id
