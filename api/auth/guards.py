"""Route guards on the caller's role."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from api.errors import ForbiddenError
from api.schemas.auth import Principal


async def require_admin(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """403 unless the caller is an admin (the local principal is one while auth is off).

    OPTIONS requests are not authenticated (a browser's preflight carries no key) and
    only learn which methods exist, so they pass. A coroutine: Litestar runs a plain
    function guard in a worker thread.
    """
    if connection.scope.get("method") == "OPTIONS":
        return
    caller: Principal = connection.user
    if not caller.is_admin:
        raise ForbiddenError("this needs an admin key")
