"""``OPTIONS`` answers with every method of the path in ``Allow``.

Litestar 2 builds the OPTIONS answer of a path when the path's first handler is
registered, and keeps it when the others join, so ``OPTIONS /api/threads/{id}`` said
``Allow: DELETE, OPTIONS`` although the path also has GET and PATCH (fixed only in
Litestar 3).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response


async def answer_options(request: Request[Any, Any, Any]) -> Response[None] | None:
    """``before_request`` hook: answer an OPTIONS request with the path's methods, as
    registered on the app; any other request goes on to its handler. A coroutine
    although it never waits: Litestar runs a plain function hook in a worker thread.

    The API declares no OPTIONS operation of its own, so every OPTIONS request is
    Litestar's generated one. Set on the app: a router or controller with a
    ``before_request`` of its own would replace it (Litestar keeps the closest one).
    """
    if request.method != "OPTIONS":
        return None
    methods = {
        method
        for path in request.route_handler.paths
        for method in request.app.route_handler_method_map.get(path, {})
    }
    return Response(None, status_code=204, headers={"Allow": ", ".join(sorted(methods))})
