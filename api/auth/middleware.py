"""Authentication of every API request: ``Authorization: Bearer <key>``, or on a
thread's ``/stream`` and ``/events`` and on ``/api/events`` a ``stream_token`` query
parameter (for ``EventSource``).

While auth is off every request is the local principal's, and no header is read.
The page, its assets, the API documents and ``/healthz`` need no key.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.base import DefineMiddleware

from api.auth.authenticator import Authenticator
from api.errors import UnauthorizedError
from api.schemas.auth import Principal

# ``/graphql`` authenticates each operation itself (``api.graphql.context``): a bad key
# is then a GraphQL error, and a WebSocket sends its key in ``connection_init``.
PUBLIC_PATHS = [r"^/$", r"^/static/", r"^/schema(/|$)", r"^/healthz$", r"^/graphql$"]
_STREAM_PATH = re.compile(r"^/api/threads/([0-9a-fA-F-]{36})/(?:stream|events)$")
_EVENTS_PATH = "/api/events"
STREAM_TOKEN_PARAMETER = "stream_token"


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Puts the caller (a ``Principal``) in ``request.user``, or answers 401."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """The principal of the request's key or stream token (401 without one)."""
        state = connection.app.state
        if not state.auth_required:
            local: Principal = state.local_principal
            return AuthenticationResult(user=local, auth=None)
        authenticator: Authenticator = state.authenticator
        header = connection.headers.get("authorization")
        if header:
            return AuthenticationResult(
                user=await authenticator.by_authorization(header), auth=None
            )
        token = connection.query_params.get(STREAM_TOKEN_PARAMETER)
        path = connection.scope["path"]
        if token and connection.scope.get("method") == "GET":
            if stream := _STREAM_PATH.match(path):
                principal = await authenticator.by_stream_token(token, UUID(stream.group(1)))
                return AuthenticationResult(user=principal, auth=None)
            if path == _EVENTS_PATH:
                principal = await authenticator.by_events_token(token)
                return AuthenticationResult(user=principal, auth=None)
        raise UnauthorizedError(
            "this server requires an API key: send `Authorization: Bearer <key>`"
        )


def auth_middleware() -> DefineMiddleware:
    """The middleware, with the public paths left out."""
    return DefineMiddleware(BearerAuthMiddleware, exclude=PUBLIC_PATHS)
