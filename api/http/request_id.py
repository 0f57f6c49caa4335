"""``X-Request-ID``: one id per request, in its log lines and on its response.

A client (or a proxy in front) may send its own id; it is kept when it is a sane token,
so one id can be followed across services. Anything else is replaced by a fresh one:
the id lands verbatim in log lines, so it must not be able to forge or break them.
"""

from __future__ import annotations

import re
from uuid import uuid4

from litestar.datastructures import Headers, MutableScopeHeaders
from litestar.types import Message, Scope

REQUEST_ID_HEADER = "X-Request-ID"

_SANE = re.compile(r"[A-Za-z0-9._-]{1,128}")
_STATE_KEY = "request_id"


def request_id(scope: Scope) -> str:
    """The id of the request in ``scope``: decided on first use, then kept in its state.

    Read lazily rather than set by a middleware, because a request that matches no route
    (404, 405) never reaches route middleware but is still logged and answered.
    """
    state = scope["state"]
    found = state.get(_STATE_KEY)
    if isinstance(found, str):
        return found
    given = Headers.from_scope(scope).get(REQUEST_ID_HEADER)
    chosen = given if given is not None and _SANE.fullmatch(given) else uuid4().hex
    state[_STATE_KEY] = chosen
    return chosen


async def send_request_id(message: Message, scope: Scope) -> None:
    """``before_send`` hook: put the request id on every HTTP response, errors and SSE too."""
    if message["type"] == "http.response.start":
        MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id(scope)
