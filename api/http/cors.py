"""CORS: which browser origins other than the API's own may call it (``PLAYGROUND_CORS_ORIGINS``).

Litestar's CORS middleware wraps the whole app, outside routing and the exception
handlers: it answers every ``OPTIONS`` request carrying an ``Origin`` itself (204 for an
allowed origin, method and headers; 400 otherwise), so ``answer_options`` only sees the
plain ones, and it adds its headers to every other response, errors and SSE streams too.
"""

from __future__ import annotations

from litestar.config.cors import CORSConfig
from litestar.types import Method

from api.http.request_id import REQUEST_ID_HEADER
from api.settings import AccessSettings

# What the API's operations use; a preflight for anything else is refused.
ALLOWED_METHODS: tuple[Method, ...] = ("GET", "POST", "PATCH", "PUT", "DELETE")
# The request headers a front-end sends: its key, JSON bodies, safe retries of a send,
# resuming a stream, and conditional writes.
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "If-Match")
# The response headers a front-end reads (WWW-Authenticate: a 401 says to send a key).
# A cross-origin script sees only the CORS-safelisted ones unless told otherwise.
EXPOSED_HEADERS = ("ETag", "Retry-After", REQUEST_ID_HEADER, "WWW-Authenticate")


def cors_config(access: AccessSettings) -> CORSConfig | None:
    """The CORS setup for ``access.cors_origins``; None (no CORS headers at all) when no
    origin is listed. No credentials: a key travels in ``Authorization``, not a cookie."""
    origins = access.cors_origins
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=list(ALLOWED_METHODS),
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
    )
