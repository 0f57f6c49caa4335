"""``GET /metrics`` in Prometheus's text format, and the middleware that counts requests.

The HTTP metrics (``playground_requests_total``, ``playground_request_duration_seconds``,
``playground_requests_in_progress``, ``playground_requests_error_total``) are Litestar's
Prometheus middleware; their ``path`` label is the route template
(``/api/threads/{thread_id}``), never the path as sent, so ids do not multiply series.
The service's own metrics are in ``api.metrics``.
"""

from __future__ import annotations

from collections.abc import Sequence

from litestar import MediaType, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.middleware.base import DefineMiddleware
from litestar.plugins.prometheus import PrometheusConfig
from litestar.types import Guard
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector

from api.http.openapi import errors
from api.metrics import MULTIPROCESS, PREFIX


def http_metrics() -> DefineMiddleware:
    """The middleware counting and timing requests by method, route template and status."""
    return PrometheusConfig(app_name=PREFIX, prefix=PREFIX, group_path=True).middleware


def metrics_handler(guards: Sequence[Guard] = ()) -> HTTPRouteHandler:
    """The ``/metrics`` operation, behind ``guards`` (the app passes its admin check).

    A fresh handler per call, so each app gets its own with its own guards.
    """

    # Sync, in a worker thread: in multiprocess mode the exposition reads files.
    @get(
        "/metrics",
        operation_id="getMetrics",
        tags=["meta"],
        guards=list(guards),
        media_type=MediaType.TEXT,
        sync_to_thread=True,
        responses=errors(400, 403, database=False),
        response_description="The metrics in Prometheus's text exposition format 0.0.4",
    )
    def metrics() -> Response[bytes]:
        """Prometheus metrics of this service: HTTP requests, generations, tokens, model
        server errors and database connections; summed over every worker process when
        ``PROMETHEUS_MULTIPROC_DIR`` is set."""
        return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_PLAIN_0_0_4)

    return metrics


def _registry() -> CollectorRegistry:
    """This process's registry, or one reading every process's files in multiprocess mode."""
    if not MULTIPROCESS:
        return REGISTRY
    registry = CollectorRegistry()
    # prometheus-client leaves this constructor unannotated.
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
