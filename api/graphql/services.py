"""The REST API's services, built for one resolver: the caller of the operation and a
session of the resolver's own (closed when it is done)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from api.errors import BadRequestError
from api.graphql.context import GraphContext
from api.messages.sending import SendService
from api.messages.service import MessageService
from api.preconditions import IfMatch, etag
from api.streams.service import StreamAccess
from api.threads.service import ThreadService


@asynccontextmanager
async def thread_service(context: GraphContext) -> AsyncIterator[ThreadService]:
    """The thread service of the caller."""
    caller, state = await context.caller(), context.state
    async with context.session() as session:
        yield ThreadService(session, state.models, state.tools, state.generations, caller)


@asynccontextmanager
async def message_service(context: GraphContext) -> AsyncIterator[MessageService]:
    """The message service of the caller."""
    caller, state = await context.caller(), context.state
    async with context.session() as session:
        yield MessageService(session, state.models, state.settings.generation, caller)


@asynccontextmanager
async def send_service(context: GraphContext) -> AsyncIterator[SendService]:
    """The send service of the caller."""
    caller, state = await context.caller(), context.state
    async with context.session() as session:
        yield SendService(
            session, state.models, state.generations, state.settings.generation, caller
        )


@asynccontextmanager
async def stream_access(context: GraphContext) -> AsyncIterator[StreamAccess]:
    """Who may reach a thread's generation."""
    caller = await context.caller()
    async with context.session() as session:
        yield StreamAccess(session, caller, context.state.settings.access)


def parse_id(field: str, value: str) -> UUID:
    """An ``ID`` argument as the UUID it names, or ``BAD_USER_INPUT`` naming it."""
    try:
        return UUID(value)
    except ValueError:
        raise BadRequestError(f"{field} is not an id", extra={"field": field}) from None


def version_match(version: int | None) -> IfMatch | None:
    """``ifVersion`` as the ``If-Match`` of REST: the write happens only at that version."""
    if version is None:
        return None
    return IfMatch(any=False, tags=frozenset({etag(version)}))
