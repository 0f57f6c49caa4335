"""HTTP endpoints for in-flight generations: follow (resume) and cancel."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, HeaderParameter

from api.deps import provide_generations
from api.errors import ConflictError
from api.generation.manager import GenerationManager
from api.generation.sse import sse_response

LastEventId = Annotated[str | None, HeaderParameter(name="Last-Event-ID")]


def _after_seq(last_event_id: str | None, generation_id: UUID) -> int:
    """The position to resume after, when ``last_event_id`` names this generation."""
    if not last_event_id:
        return 0
    prefix, _, seq = last_event_id.rpartition(":")
    if prefix != str(generation_id) or not seq.isdigit():
        return 0
    return int(seq)


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
        """Resume the in-flight generation's events after ``Last-Event-ID``; 204 if none."""
        stream = generations.running(thread_id)
        if stream is None:
            return Response(None, status_code=204)
        after = _after_seq(last_event_id_header or last_event_id, stream.id)
        return sse_response(stream, after)

    @post("/cancel", operation_id="cancelGeneration", status_code=200)
    async def cancel(
        self, generations: NamedDependency[GenerationManager], thread_id: FromPath[UUID]
    ) -> dict[str, Any]:
        """Stop the in-flight generation; its partial reply is kept as ``cancelled``."""
        stream = generations.running(thread_id)
        if stream is None:
            raise ConflictError(f"nothing is being generated in thread {thread_id}")
        await generations.cancel_and_wait(thread_id)
        return {"cancelled": True, "message_id": str(stream.assistant_id)}
