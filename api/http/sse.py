"""Serve Server-Sent Events: the response that writes a stream's frames, and the
parameters a follower resumes or authenticates with."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Annotated, Generic, NamedTuple, TypeVar

from litestar.params import HeaderParameter, Parameter, ParameterKwarg, QueryParameter
from litestar.response import Stream

from api.errors import BadRequestError

# What Litestar's ServerSentEvent response sent, kept: no caching, and no buffering
# in a proxy (nginx reads X-Accel-Buffering), so each event reaches the client at once.
SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}

# Read by the auth middleware; declared so the document lists them.
ThreadStreamToken = Annotated[
    str,
    Parameter(
        description="A token from `POST /api/threads/{thread_id}/stream-token`, for clients"
        " that cannot send `Authorization` (EventSource)."
    ),
]
EventsStreamToken = Annotated[
    str,
    Parameter(
        description="A token from `POST /api/events/stream-token`, for clients that cannot"
        " send `Authorization` (EventSource)."
    ),
]

Position = TypeVar("Position")


class Resume(NamedTuple, Generic[Position]):
    """Where a follower resumes: after ``position``, as ``field`` gave it."""

    field: str
    position: Position


def last_event_id_header(described: str, pattern: str) -> ParameterKwarg:
    """The ``Last-Event-ID`` header of a stream whose ids match ``pattern``."""
    return HeaderParameter(
        name="Last-Event-ID", description=described, schema_extra={"pattern": pattern}
    )


def last_event_id_query(described: str, pattern: str) -> ParameterKwarg:
    """``last_event_id``, the query parameter standing in for the header."""
    return QueryParameter(
        description=f"{described} For clients that cannot set the header (EventSource).",
        schema_extra={"pattern": pattern},
    )


def resume_after(
    header: str,
    query: str,
    parse: Callable[[str], Position | None],
    *,
    source: str,
    shape: str,
) -> Resume[Position] | None:
    """Where a follower resumes: the ``Last-Event-ID`` header, else the ``last_event_id``
    query parameter; None without either. A value ``parse`` does not read is a 400 naming
    its field (a query value beside a good header too), saying it is not an id of
    ``source``, whose ids look like ``shape``."""
    found: Resume[Position] | None = None
    for field, value in (("Last-Event-ID", header), ("last_event_id", query)):
        if not value:
            continue
        position = parse(value)
        if position is None:
            raise BadRequestError(
                f"{field} {value!r} is not an event id of {source} ({shape}, as in the"
                " events' `id:`)",
                extra={"field": field},
            )
        if found is None:
            found = Resume(field, position)
    return found


def sse_response(frames: AsyncIterator[bytes], headers: Mapping[str, str] = SSE_HEADERS) -> Stream:
    """An SSE response writing ``frames`` as they come: ready-made bytes (a generation's
    shared frames, a feed's, the AI SDK's chunks), each written as is.

    Disconnecting ends only this response: what it follows keeps running and storing.
    """
    return Stream(frames, status_code=200, media_type="text/event-stream", headers=headers)
