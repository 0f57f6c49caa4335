"""``Subscription.generation``: a thread's generation, followed from any process from
the durable events the SSE streams use, resumable after any ``eventId``."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from uuid import UUID

import strawberry
from strawberry.types import Info

from api.errors import BadRequestError
from api.generation.manager import GenerationManager
from api.graphql.context import GraphContext
from api.graphql.errors import as_graphql_errors
from api.graphql.events import GenerationEvent, event_of
from api.graphql.services import opened, parse_id, stream_access
from api.schemas.events import parse_event_id


@strawberry.type
class Subscription:
    """What a client follows live."""

    @strawberry.subscription(
        description="The events of the thread's generation after `after` (an eventId, or"
        ' "<generationId>:0" for all of a generation), else of the running one, until'
        " GenerationDone; nothing when no generation runs."
    )
    async def generation(
        self, info: Info[GraphContext, None], thread_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[GenerationEvent, None]:
        """Follow, then end with the generation."""
        context = info.context
        # ServiceErrors sees only the call that makes this generator, not what it raises.
        with as_graphql_errors():
            thread = parse_id("threadId", thread_id)
            async with opened(context, stream_access) as access:
                await access.check(thread)
            generations: GenerationManager = context.state.generations
            point = await _start_point(generations, thread, after)
            if point is None:
                return
            generation_id, position = point
            async for event in generations.follow(generation_id, position):
                # Each event's messages read the trees as they are now.
                context.loaders = None
                yield event_of(generation_id, event)


async def _start_point(
    generations: GenerationManager, thread_id: UUID, after: str | None
) -> tuple[UUID, int] | None:
    """The generation and position to follow from: after ``after``, or the start of the
    running generation (also when ``after`` names one gone past its retention)."""
    if after:
        point = parse_event_id(after)
        if point is None:
            raise BadRequestError(
                f"after {after!r} is not an eventId (`<generation id>:<n>`)",
                extra={"field": "after"},
            )
        generation_id, _ = point
        found = await generations.thread_of(generation_id)
        if found is not None:
            if found != thread_id:
                raise BadRequestError(
                    f"after names generation {generation_id} of another thread",
                    extra={"field": "after"},
                )
            return point
    running = await generations.running(thread_id)
    return None if running is None else (running.id, 0)
