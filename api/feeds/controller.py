"""HTTP endpoints of the live feeds: a thread's changes and the caller's thread list's,
as Server-Sent Events that any process serves (README "Live feeds")."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath, FromQuery

from api.feeds.deps import provide_feeds
from api.feeds.service import FeedService
from api.http.openapi import errors, operation_class
from api.http.sse import (
    EventsStreamToken,
    ThreadStreamToken,
    last_event_id_header,
    last_event_id_query,
    resume_after,
    sse_response,
)
from api.schemas.auth import StreamToken
from api.schemas.feed import FEED_ID_PATTERN, FeedPosition, parse_feed_id
from api.streams.deps import provide_stream_access
from api.streams.service import StreamAccess
from db.models import FEED_KINDS

_ID_DOC = "The id of the last event received (as its `id:` gave it); resume after it."
LastFeedIdHeader = Annotated[str, last_event_id_header(_ID_DOC, FEED_ID_PATTERN)]
LastFeedIdQuery = Annotated[str, last_event_id_query(_ID_DOC, FEED_ID_PATTERN)]

FEED_EVENT = Schema(
    type=OpenAPIType.OBJECT,
    required=["id", "event", "data"],
    properties={
        "id": Schema(type=OpenAPIType.STRING, pattern=FEED_ID_PATTERN),
        "event": Schema(type=OpenAPIType.STRING, enum=list(FEED_KINDS)),
        "data": Schema(type=OpenAPIType.STRING, content_media_type="application/json"),
    },
    description="One change: `id:` (its place in the log, `<xid>-<id>`), `event:` (its"
    ' kind) and JSON `data:` (README "Live feeds"). The stream does not end by itself.',
)
_FEED_OK = ResponseSpec(
    data_container=None, description="The changes after the given id, then live ones"
)


def _after(header: str, query: str) -> FeedPosition | None:
    """The place in the log to resume after, from the header (else the query parameter)."""
    resume = resume_after(header, query, parse_feed_id, source="this feed", shape="`<xid>-<id>`")
    return None if resume is None else resume.position


class FeedController(Controller):
    """Follow what changes in a thread, or in the caller's thread list."""

    path = "/api"
    tags = ["feeds"]
    dependencies = {
        "feeds": Provide(provide_feeds, sync_to_thread=False),
        "access": Provide(provide_stream_access, sync_to_thread=False),
    }

    @get(
        "/threads/{thread_id:uuid}/events",
        operation_id="followThreadEvents",
        responses={200: _FEED_OK, **errors(400, 404)},
        operation_class=operation_class(event_stream=True, event_schema=FEED_EVENT),
    )
    async def thread_events(
        self,
        feeds: NamedDependency[FeedService],
        thread_id: FromPath[UUID],
        last_event_id_header: LastFeedIdHeader = "",
        last_event_id: FromQuery[LastFeedIdQuery] = "",
        stream_token: FromQuery[ThreadStreamToken] = "",
    ) -> Response[Any]:
        """What changes in the thread, from any process: messages created, edited or
        deleted, the head moved, settings changed, generations started and finished.
        After ``Last-Event-ID`` (header, or ``last_event_id``), else from now; it ends
        after ``thread.deleted``."""
        after = _after(last_event_id_header, last_event_id)
        return sse_response(await feeds.thread_feed(thread_id, after))

    @get(
        "/events",
        operation_id="followEvents",
        responses={200: _FEED_OK, **errors(400)},
        operation_class=operation_class(event_stream=True, event_schema=FEED_EVENT),
    )
    async def events(
        self,
        feeds: NamedDependency[FeedService],
        last_event_id_header: LastFeedIdHeader = "",
        last_event_id: FromQuery[LastFeedIdQuery] = "",
        stream_token: FromQuery[EventsStreamToken] = "",
    ) -> Response[Any]:
        """What changes in the caller's thread list (an admin's: every thread): threads
        created, renamed or re-set, deleted, and new activity. After ``Last-Event-ID``
        (header, or ``last_event_id``), else from now."""
        after = _after(last_event_id_header, last_event_id)
        return sse_response(await feeds.list_feed(after))

    @post(
        "/events/stream-token",
        operation_id="createEventsStreamToken",
        status_code=200,
        responses=errors(400),
    )
    async def events_token(self, access: NamedDependency[StreamAccess]) -> StreamToken:
        """A short-lived token that lets `EventSource` (which cannot send headers) follow
        the caller's thread list: `GET /api/events?stream_token=…`. It works for that
        feed only, and never carries the key itself."""
        return await access.events_token()
