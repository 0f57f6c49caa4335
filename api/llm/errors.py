"""Turn a failed model call into an HTTP status and a detail a user can act on, and log it.

Used for failures before a stream starts (which become 502/504 responses) and, by
the generation pipeline, for the ``error`` event of a stream that broke midway. The
log line holds the detail with the API key masked, never the key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping

import httpx2
import openai

from api import metrics

log = logging.getLogger(__name__)

_MAX_DETAIL = 500


def describe_upstream_error(
    exc: Exception, *, timeout_s: float | None = None, secrets: Iterable[str | None] = ()
) -> tuple[int, str]:
    """Map an exception from a model call to ``(http_status, detail)``.

    Timeouts answer 504; every other failure of the model server answers 502 (its own
    4xx too: from our client's point of view the upstream, not the request, failed).
    The timeout in the detail and the API key to mask are read from the failed request
    itself; ``timeout_s`` and ``secrets`` override or add to them.

    Each call logs the failure as one WARNING line for the operator: the model asked
    for, the kind of failure, the upstream's HTTP status and the (masked) detail.
    """
    request = exc.request if isinstance(exc, openai.APIError) else None
    kind, status, detail = _classify(exc, timeout_s if timeout_s is not None else _timeout_of(exc))
    metrics.upstream_error(kind)
    for secret in [*secrets, _bearer_token(request)]:
        if secret:
            detail = detail.replace(secret, "***")
    if len(detail) > _MAX_DETAIL:
        detail = detail[: _MAX_DETAIL - 1] + "…"
    upstream_status = exc.status_code if isinstance(exc, openai.APIStatusError) else "-"
    log.warning(
        "model call failed: model=%s kind=%s upstream_status=%s detail=%s",
        _model_of(request),
        kind,
        upstream_status,
        json.dumps(detail),
    )
    return status, detail


def _classify(exc: Exception, timeout_s: float | None) -> tuple[str, int, str]:
    """``(kind, http_status, detail)``; the kind is a short word for the log."""
    # Order matters: APITimeoutError is an APIConnectionError.
    if isinstance(exc, openai.APITimeoutError):
        after = f" after {timeout_s:g}s" if timeout_s is not None else ""
        return "timeout", 504, f"model server timed out{after}"
    if isinstance(exc, openai.APIStatusError):
        return "status", 502, f"model server answered {exc.status_code}: {_status_message(exc)}"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        reason = str(cause) if cause is not None and str(cause) else exc.message
        return "connection", 502, f"could not reach the model server: {reason}"
    if isinstance(exc, openai.OpenAIError):
        return "sdk", 502, f"model server error: {exc}"
    # A chunk that is not JSON (or not a chunk) fails msgspec's decoding: a ValueError.
    if isinstance(exc, ValueError):
        return "malformed", 502, f"model server sent a malformed stream: {exc}"
    return "unexpected", 502, f"model call failed: {type(exc).__name__}: {exc}"


def _model_of(request: httpx2.Request | None) -> str:
    """The ``model`` of a failed request's JSON body, or ``-`` (no body, e.g. listing models)."""
    if request is None:
        return "-"
    try:
        body = json.loads(request.content)
    except (ValueError, httpx2.RequestNotRead):
        return "-"
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) else "-"


def _status_message(exc: openai.APIStatusError) -> str:
    # ``exc.body`` is the ``error`` object of OpenAI's error shape when the server used
    # it; its message reads better than the SDK's "Error code: 500 - …" wrapper.
    body = exc.body
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
    if isinstance(body, str) and body.strip():
        return body.strip()
    return exc.response.reason_phrase or exc.message


def _timeout_of(exc: Exception) -> float | None:
    """The timeout (seconds) that expired, from the request's ``timeout`` extension."""
    if not isinstance(exc, openai.APITimeoutError):
        return None
    timeouts = exc.request.extensions.get("timeout")
    if not isinstance(timeouts, Mapping):
        return None
    cause = exc.__cause__
    phase = "read"
    if isinstance(cause, httpx2.ConnectTimeout):
        phase = "connect"
    elif isinstance(cause, httpx2.WriteTimeout):
        phase = "write"
    elif isinstance(cause, httpx2.PoolTimeout):
        phase = "pool"
    value = timeouts.get(phase)
    return float(value) if isinstance(value, int | float) else None


def _bearer_token(request: httpx2.Request | None) -> str | None:
    """The API key the request carried, so no detail can echo it back."""
    if request is None:
        return None
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
