"""The REST API's services, built for one resolver: the caller of the operation and a
session of the resolver's own, closed when it is done (as a REST request's is when its
handler is); and ``with_service``, which gives a resolver its service."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Concatenate, TypeAlias, TypeVar, get_type_hints
from uuid import UUID

import strawberry
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from api.errors import BadRequestError, PlaygroundError
from api.graphql.context import GraphContext
from api.graphql.errors import rename_field
from api.messages.sending import SendService
from api.messages.service import MessageService
from api.preconditions import IfMatch, etag
from api.schemas.auth import Principal
from api.streams.service import StreamAccess
from api.threads.service import ThreadService

S = TypeVar("S")
R = TypeVar("R")
Build: TypeAlias = Callable[[AsyncSession, State, Principal], S]
Resolver: TypeAlias = Callable[..., Awaitable[R]]

_INFO = inspect.Parameter(
    "info", inspect.Parameter.KEYWORD_ONLY, annotation=Info[GraphContext, None]
)


def thread_service(session: AsyncSession, state: State, caller: Principal) -> ThreadService:
    """The thread service of ``caller``."""
    return ThreadService(session, state.models, state.tools, state.generations, caller)


def message_service(session: AsyncSession, state: State, caller: Principal) -> MessageService:
    """The message service of ``caller``."""
    return MessageService(session, state.models, state.settings.generation, caller)


def send_service(session: AsyncSession, state: State, caller: Principal) -> SendService:
    """The send service of ``caller``."""
    return SendService(session, state.models, state.generations, state.settings.generation, caller)


def stream_access(session: AsyncSession, state: State, caller: Principal) -> StreamAccess:
    """Who may reach a thread's generation."""
    return StreamAccess(session, caller, state.settings.access)


@asynccontextmanager
async def opened(context: GraphContext, build: Build[S]) -> AsyncIterator[S]:
    """``build``'s service for the operation's caller, over a session closed on exit."""
    caller = await context.caller()
    async with context.session() as session:
        yield build(session, context.state, caller)


def with_service(
    build: Build[S], *, changes_trees: bool = False, renames: Mapping[str, str] | None = None
) -> Callable[[Callable[Concatenate[Any, S, ...], Awaitable[R]]], Resolver[R]]:
    """A resolver given ``build``'s service, opened for the caller over a session of the
    resolver's own.

    The decorated method takes ``self``, the service, then its GraphQL arguments (and
    ``info``, if it wants the context); strawberry sees ``self``, ``info`` and those
    arguments. An argument typed ``UUID`` is an ``ID`` in the schema, parsed before the
    call: a malformed one is ``BAD_USER_INPUT`` naming it. ``changes_trees``: the write
    changes message trees, so the operation's loaders read them afresh. ``renames``: the
    argument a service error names instead of the REST field (``{"cursor": "after"}``).
    """

    def decorate(resolve: Callable[Concatenate[Any, S, ...], Awaitable[R]]) -> Resolver[R]:
        hints = get_type_hints(resolve)
        self_param, _service, *declared = inspect.signature(resolve).parameters.values()
        ids = [param.name for param in declared if hints[param.name] is UUID]
        wants_info = "info" in hints
        arguments = [
            param.replace(
                kind=inspect.Parameter.KEYWORD_ONLY,
                annotation=strawberry.ID if param.name in ids else hints[param.name],
            )
            for param in declared
            if param.name != "info"
        ]

        @functools.wraps(resolve)
        async def resolver(self: object, *, info: Info[GraphContext, None], **kwargs: Any) -> R:
            for name in ids:
                kwargs[name] = parse_id(to_camel_case(name), kwargs[name])
            if wants_info:
                kwargs["info"] = info
            if changes_trees:
                info.context.loaders = None
            try:
                async with opened(info.context, build) as service:
                    return await resolve(self, service, **kwargs)
            except PlaygroundError as exc:
                rename_field(exc, renames or {})
                raise

        # Strawberry reads the field's arguments and type from the signature.
        resolver.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [self_param, _INFO, *arguments], return_annotation=hints["return"]
        )
        return resolver

    return decorate


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
