"""The service's exception hierarchy, mapped to HTTP in one place.

Services raise these; ``exception_handlers`` turns each into Litestar's error
shape ``{"status_code", "detail", "extra"?}`` so every 4xx/5xx reads the same.
"""

from __future__ import annotations

from typing import Any, ClassVar

from litestar import MediaType, Request, Response


class PlaygroundError(Exception):
    """Base of every error the service reports to a client on purpose."""

    status_code: ClassVar[int] = 500

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequestError(PlaygroundError):
    """The request is well-formed JSON but asks for something invalid."""

    status_code = 400


class NotFoundError(PlaygroundError):
    """An id names nothing here (or something that belongs to another thread)."""

    status_code = 404


class ConflictError(PlaygroundError):
    """The request clashes with the current state, e.g. a reply is still being generated."""

    status_code = 409


class UnprocessableError(PlaygroundError):
    """Well-formed, but contradicts an earlier request (an idempotency key reused with
    another body)."""

    status_code = 422


class UnavailableError(PlaygroundError):
    """This process is shutting down and takes no new generations."""

    status_code = 503


class PayloadTooLargeError(PlaygroundError):
    """A field is over its documented size limit."""

    status_code = 413


class UpstreamError(PlaygroundError):
    """The model server failed before any output reached the client."""

    status_code = 502


class UpstreamTimeoutError(UpstreamError):
    """The model server did not answer in time, before any output reached the client."""

    status_code = 504


def playground_error_handler(_: Request[Any, Any, Any], exc: PlaygroundError) -> Response[Any]:
    """Render a ``PlaygroundError`` in Litestar's error shape."""
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": exc.detail}
    if exc.extra:
        body["extra"] = exc.extra
    return Response(content=body, status_code=exc.status_code, media_type=MediaType.JSON)


exception_handlers = {PlaygroundError: playground_error_handler}
