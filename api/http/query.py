"""Undeclared query parameters are a 400, on every operation of the OpenAPI document.

Litestar ignores query parameters a handler does not declare, so a typo such as
``GET /api/threads?limt=5`` would silently answer the default page.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.routes import HTTPRoute

from api.errors import BadRequestError


async def reject_undeclared_query(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: a 400 naming the query parameters the operation does not declare.

    Only operations in the OpenAPI document are checked (not the page, its assets or
    Litestar's own OPTIONS answers). A coroutine although it never waits: Litestar runs
    a plain function guard in a worker thread, a thread hop on every request.
    """
    # The routed handler itself: the guard's own argument is a fresh copy per request.
    routed = connection.route_handler
    if not isinstance(routed, HTTPRouteHandler) or not routed.resolve_include_in_schema():
        return
    declared = _declared_query(connection.app, routed)
    if declared is None:
        return
    unknown = [name for name in connection.query_params if name not in declared]
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        takes = ", ".join(sorted(declared)) or "none"
        noun = "parameter" if len(unknown) == 1 else "parameters"
        raise BadRequestError(
            f"unknown query {noun} {names}; this operation takes: {takes}",
            extra={"field": unknown[0], "known_query_parameters": sorted(declared)},
        )


# Looked up once per handler. Bounded, so apps built and dropped (tests) do not pile up.
@lru_cache(maxsize=1024)
def _declared_query(app: Litestar, handler: HTTPRouteHandler) -> frozenset[str] | None:
    """The query keys a handler and its dependencies read, from the parameter model Litestar
    built for its route; None if it reads the whole query (or is on no route of the app)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for routed, model in route.route_handler_map.values():
            if routed is handler:
                if "query" in model.expected_reserved_kwargs:
                    return None
                return frozenset(param.field_alias for param in model.expected_query_params)
    return None
