"""Serve the playground page (``/``) and its assets (``/static/…``).

Everything lives in ``api/web/static``: plain ES modules, a stylesheet and the
vendored ``marked`` and ``DOMPurify`` builds, so nothing is fetched from the
internet and running the page needs no Node. Every response of this router
carries a Content-Security-Policy that forbids inline scripts and styles and any
other origin, so even HTML that slipped past the Markdown sanitizer could not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.response import File
from litestar.static_files import create_static_files_router

STATIC_DIR = Path(__file__).parent / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# The page is a handful of small files that change with the code: revalidate each
# time instead of risking a stale module mixed with fresh ones after an upgrade.
_NO_STALE = CacheControlHeader(no_cache=True)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def add_security_headers(response: Response[Any]) -> Response[Any]:
    """Put the CSP and its companions on a page or asset response.

    An ``after_request`` hook rather than layered ``response_headers``, because the
    static files router does not inherit those from an enclosing router.
    """
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


@get(
    "/",
    include_in_schema=False,
    cache_control=_NO_STALE,
    after_request=add_security_headers,
)
async def index() -> File:
    """The single page of the playground."""
    return File(
        STATIC_DIR / "index.html",
        filename="index.html",
        content_disposition_type="inline",
        media_type="text/html",
    )


web_router = Router(
    path="/",
    route_handlers=[
        index,
        create_static_files_router(
            path="/static",
            directories=[STATIC_DIR],
            cache_control=_NO_STALE,
            after_request=add_security_headers,
        ),
    ],
)
