"""Serve a generation's events as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

from litestar.response import ServerSentEvent, ServerSentEventMessage

from api.schemas.events import Event, event_id


def sse_response(events: AsyncIterator[Event], generation_id: UUID) -> ServerSentEvent:
    """An SSE response sending ``events`` (replayed and then live) of one generation.

    Disconnecting ends only this response: the generation keeps running and storing.
    """

    async def messages() -> AsyncIterator[ServerSentEventMessage]:
        async for event in events:
            yield ServerSentEventMessage(
                data=event.data, event=event.name, id=event_id(generation_id, event.seq)
            )

    return ServerSentEvent(messages(), status_code=200)
