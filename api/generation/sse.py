"""Serve a generation's events as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar.response import ServerSentEvent, ServerSentEventMessage

from api.generation.stream import GenerationStream


def sse_response(stream: GenerationStream, after_seq: int = 0) -> ServerSentEvent:
    """An SSE response replaying ``stream`` after ``after_seq`` and then following it live.

    Disconnecting ends only this response: the generation keeps running and storing.
    """

    async def messages() -> AsyncIterator[ServerSentEventMessage]:
        async for event in stream.follow(after_seq):
            yield ServerSentEventMessage(
                data=event.data, event=event.name, id=stream.event_id(event.seq)
            )

    return ServerSentEvent(messages(), status_code=200)
