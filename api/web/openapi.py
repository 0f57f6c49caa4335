"""The API documentation at ``/schema``: Swagger UI from vendored files, nothing from a CDN.

Litestar's ``SwaggerRenderPlugin`` takes local asset URLs but still writes the schema
and the start-up call into an inline ``<script>``, which the CSP of these pages
forbids. So ``SwaggerPage`` answers with a fixed page (``docs/index.html``) whose
start-up code is a file (``docs/swagger-init.js``, served under ``/schema/ui/``) that
loads ``/schema/openapi.json``; the Swagger UI build itself is in ``static/vendor/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin, YamlRenderPlugin
from litestar.static_files import create_static_files_router

from api.web.controller import add_security_headers

DOCS_DIR = Path(__file__).parent / "docs"

# The schema changes with the code: revalidate instead of showing a stale one.
_NO_STALE = CacheControlHeader(no_cache=True)


class SwaggerPage(OpenAPIRenderPlugin):
    """Swagger UI at ``/schema`` and ``/schema/swagger``, with its start-up script."""

    def __init__(self) -> None:
        super().__init__(path="/swagger")
        self._page = (DOCS_DIR / "index.html").read_bytes()

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The fixed page; the schema is fetched by the browser, not inlined."""
        return self._page

    def receive_router(self, router: Router) -> None:
        """Serve ``docs/`` under ``/schema/ui/``."""
        router.register(
            # It takes the router's CSP hook, but not its cache control.
            create_static_files_router(
                path="/ui", directories=[DOCS_DIR], cache_control=_NO_STALE, include_in_schema=False
            )
        )


def docs_router() -> Router:
    """The router Litestar fills with the documentation routes, under the pages' CSP."""
    return Router(
        "/schema",
        route_handlers=[],
        include_in_schema=False,
        cache_control=_NO_STALE,
        after_request=add_security_headers,
    )


def docs_plugins() -> list[OpenAPIRenderPlugin]:
    """Swagger UI (also the ``/schema`` page) and the YAML schema; JSON is Litestar's default."""
    return [SwaggerPage(), YamlRenderPlugin()]
