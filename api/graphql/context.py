"""What every resolver of one GraphQL operation shares: the app's state, the caller
(authenticated once, on first use) and the operation's DataLoaders.

``/graphql`` is left out of the auth middleware so that a missing or bad key is a
GraphQL error (``UNAUTHENTICATED``) rather than an HTTP 401 the client's GraphQL
library cannot read, and so that a WebSocket, which a browser cannot give headers,
authenticates with its ``connection_init`` payload instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.litestar import BaseContext
from strawberry.types import Info

from api.auth.authenticator import Authenticator
from api.errors import UnauthorizedError
from api.graphql.loaders import Loaders
from api.schemas.auth import Principal


class GraphContext(BaseContext, kw_only=True):
    """The context of one operation (one HTTP request, or one WebSocket connection)."""

    state: State
    # Set by strawberry from the WebSocket's ``connection_init`` payload.
    connection_params: dict[str, Any] | None = None
    loaders: Loaders | None = None
    principal: Principal | None = None

    async def caller(self) -> Principal:
        """The principal of the key sent (or the local one while auth is off)."""
        if self.principal is None:
            self.principal = await self._authenticate()
        return self.principal

    async def _authenticate(self) -> Principal:
        if not self.state.auth_required:
            local: Principal = self.state.local_principal
            return local
        header = self._authorization()
        if not header:
            raise UnauthorizedError(
                "this server requires an API key: send `Authorization: Bearer <key>`"
                " (over WebSocket: in the connection_init payload)"
            )
        authenticator: Authenticator = self.state.authenticator
        return await authenticator.by_authorization(header)

    def _authorization(self) -> str:
        if self.websocket is not None:
            params = self.connection_params or {}
            for name, value in params.items():
                if name.lower() == "authorization" and isinstance(value, str):
                    return value
            return ""
        if self.request is not None:
            return self.request.headers.get("authorization", "")
        return ""

    def loaders_of(self) -> Loaders:
        """This operation's DataLoaders; set back to None where what they read may have
        changed (after a write, and at each event of a subscription)."""
        if self.loaders is None:
            self.loaders = Loaders(self.session_factory())
        return self.loaders

    def session_factory(self) -> async_sessionmaker[AsyncSession]:
        """The app's session factory."""
        factory: async_sessionmaker[AsyncSession] = self.state.session_factory
        return factory

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for one resolver's unit of work, closed when it is done."""
        async with self.session_factory()() as session:
            yield session


async def provide_context(state: State) -> GraphContext:
    """The context of an operation; strawberry adds the request or WebSocket to it."""
    return GraphContext(state=state)


def context_of(info: Info[GraphContext, None]) -> GraphContext:
    """The operation's context, typed."""
    return info.context
