"""``/graphql``: queries and mutations over HTTP (POST, and GET for queries), the
generation subscription over WebSocket (``graphql-transport-ws``) and over HTTP
(multipart subscriptions, for plain ``fetch``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Response
from strawberry.litestar import make_graphql_controller
from strawberry.subscriptions import (
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)

from api.graphql.context import provide_context
from api.graphql.schema import schema

PATH = "/graphql"

# GraphiQL from vendored files (``static/vendor/``), nothing from a CDN.
GRAPHIQL_PAGE = (Path(__file__).parent / "graphiql.html").read_text(encoding="utf-8")

_Controller = make_graphql_controller(
    schema,
    path=PATH,
    graphql_ide="graphiql",
    context_getter=provide_context,
    # graphql-transport-ws over WebSocket; multipart over HTTP, for plain fetch.
    subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, MULTIPART_SUBSCRIPTION_PROTOCOL),
)


class GraphQLController(_Controller):  # type: ignore[misc,valid-type]
    """The GraphQL endpoint; it has its own schema, so it stays out of the OpenAPI one."""

    include_in_schema = False

    async def render_graphql_ide(self, request: Request[Any, Any, Any]) -> Response[str]:
        """GraphiQL (a browser's GET without a query), from vendored files."""
        return Response(GRAPHIQL_PAGE, media_type=MediaType.HTML)
