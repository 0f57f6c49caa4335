"""The service's exception hierarchy, mapped to HTTP in one place.

Services raise these; ``exception_handlers`` turns each into Litestar's error
shape ``{"status_code", "detail", "extra"?}`` so every 4xx/5xx reads the same.
"""

from __future__ import annotations

from typing import Any, ClassVar

import asyncpg
from litestar import MediaType, Request, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from db.transient import is_unavailable


class PlaygroundError(Exception):
    """Base of every error the service reports to a client on purpose."""

    status_code: ClassVar[int] = 500
    # Sent as ``Retry-After`` when set: how soon a retry may succeed.
    retry_after_s: int | None = None
    headers: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        detail: str,
        *,
        extra: dict[str, Any] | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        if retry_after_s is not None:
            self.retry_after_s = retry_after_s


class BadRequestError(PlaygroundError):
    """The request is well-formed JSON but asks for something invalid."""

    status_code = 400


class UnauthorizedError(PlaygroundError):
    """No key, or a key that is wrong, expired or revoked."""

    status_code = 401
    headers = {"WWW-Authenticate": "Bearer"}


class ForbiddenError(PlaygroundError):
    """A valid key whose principal may not do this (a member on an admin route)."""

    status_code = 403


class NotFoundError(PlaygroundError):
    """An id names nothing here (or something that belongs to another thread)."""

    status_code = 404


class ConflictError(PlaygroundError):
    """The request clashes with the current state, e.g. a reply is still being generated."""

    status_code = 409


class PreconditionFailedError(PlaygroundError):
    """``If-Match`` names a version the thread or message no longer has; ``extra.current``
    is what is stored now."""

    status_code = 412


class UnprocessableError(PlaygroundError):
    """Well-formed, but contradicts an earlier request (an idempotency key reused with
    another body)."""

    status_code = 422


class UnavailableError(PlaygroundError):
    """This process is shutting down and takes no new generations."""

    status_code = 503
    retry_after_s = 1


class DatabaseUnavailableError(UnavailableError):
    """The database cannot be reached now; the service recovers by itself when it can."""


class PayloadTooLargeError(PlaygroundError):
    """A field is over its documented size limit."""

    status_code = 413


class RateLimitedError(PlaygroundError):
    """A quota of the caller is used up; ``extra.limit`` names it, ``Retry-After`` says
    when it frees up."""

    status_code = 429


class UpstreamError(PlaygroundError):
    """The model server failed before any output reached the client."""

    status_code = 502


class UpstreamTimeoutError(UpstreamError):
    """The model server did not answer in time, before any output reached the client."""

    status_code = 504


DATABASE_UNAVAILABLE = "the database is unavailable; retry in a moment"


def as_playground_error(exc: BaseException) -> PlaygroundError | None:
    """The error a client is told for ``exc``: itself, a 503 when the database cannot
    be reached, or None for a failure of ours (a plain 500)."""
    if isinstance(exc, PlaygroundError):
        return exc
    if is_unavailable(exc):
        return DatabaseUnavailableError(DATABASE_UNAVAILABLE)
    return None


def playground_error_handler(_: Request[Any, Any, Any], exc: PlaygroundError) -> Response[Any]:
    """Render a ``PlaygroundError`` in Litestar's error shape."""
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": exc.detail}
    if exc.extra:
        body["extra"] = exc.extra
    headers = dict(exc.headers)
    if exc.retry_after_s:
        headers["Retry-After"] = str(exc.retry_after_s)
    return Response(
        content=body, status_code=exc.status_code, media_type=MediaType.JSON, headers=headers
    )


def database_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A database that cannot be reached is a 503 with ``Retry-After``; any other
    database error is Litestar's plain 500."""
    error = as_playground_error(exc)
    if error is None:
        body = {"status_code": 500, "detail": "Internal Server Error"}
        return Response(content=body, status_code=500, media_type=MediaType.JSON)
    return playground_error_handler(request, error)


exception_handlers = {
    PlaygroundError: playground_error_handler,
    DBAPIError: database_error_handler,
    SQLAlchemyTimeoutError: database_error_handler,
    ConnectionError: database_error_handler,
    asyncpg.exceptions.PostgresError: database_error_handler,
    asyncpg.exceptions.InterfaceError: database_error_handler,
}
