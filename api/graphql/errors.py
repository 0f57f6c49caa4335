"""Service errors as GraphQL errors: ``extensions.code`` (and ``field`` for bad input)
instead of an HTTP status, and never an internal error's text."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from inspect import isawaitable
from typing import Any, TypeVar

import msgspec
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.utils.str_converters import to_camel_case

from api.errors import BadRequestError, PlaygroundError, as_playground_error

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The code of each HTTP status a service error carries (README "GraphQL").
CODES = {
    400: "BAD_USER_INPUT",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    412: "CONFLICT",
    413: "BAD_USER_INPUT",
    422: "BAD_USER_INPUT",
    429: "RATE_LIMITED",
    502: "UPSTREAM_ERROR",
    503: "UNAVAILABLE",
    504: "UPSTREAM_ERROR",
}
_AT = re.compile(r" - at `\$\.?([^`]*)`$")


def graphql_error(exc: BaseException) -> GraphQLError:
    """The GraphQL error a client is told for ``exc``; a failure of ours is logged and
    told as ``INTERNAL_SERVER_ERROR`` without its text."""
    if isinstance(exc, GraphQLError):
        return exc
    error = as_playground_error(exc)
    if error is None:
        logger.error("GraphQL resolver failed", exc_info=exc)
        return GraphQLError("Internal Server Error", extensions={"code": "INTERNAL_SERVER_ERROR"})
    extensions: dict[str, Any] = {
        "code": CODES.get(error.status_code, "INTERNAL_SERVER_ERROR"),
        "status": error.status_code,
        **{key: value for key, value in (error.extra or {}).items() if key != "header"},
    }
    if isinstance(extensions.get("field"), str):
        # The name the client wrote: GraphQL's camelCase, not the REST body's.
        extensions["field"] = to_camel_case(extensions["field"])
    if error.retry_after_s:
        extensions["retryAfter"] = error.retry_after_s
    return GraphQLError(error.detail, extensions=extensions)


def rename_field(error: PlaygroundError, renames: Mapping[str, str]) -> None:
    """Make ``error`` name the GraphQL argument that stands for the REST field it names,
    where their names differ (``renames``: REST name to argument)."""
    field = (error.extra or {}).get("field")
    if isinstance(field, str) and field in renames:
        error.extra = {**(error.extra or {}), "field": renames[field]}


def converted(kind: type[T], fields: dict[str, Any]) -> T:
    """``fields`` (snake_case, absent ones left out) as the REST body ``kind``, with its
    limits checked by msgspec: a violation is ``BAD_USER_INPUT`` naming the field."""
    try:
        return msgspec.convert(fields, kind)
    except msgspec.ValidationError as exc:
        message = str(exc)
        found = _AT.search(message)
        field = found.group(1) if found else None
        text = _AT.sub("", message)
        raise BadRequestError(
            f"{field}: {text}" if field else text, extra={"field": field} if field else None
        ) from None


@contextmanager
def as_graphql_errors() -> Iterator[None]:
    """What the block raises, raised as the GraphQL error a client is told."""
    try:
        yield
    except Exception as exc:
        raise graphql_error(exc) from exc


class ServiceErrors(SchemaExtension):
    """Turns what a resolver raises into a GraphQL error with ``extensions.code``."""

    def resolve(
        self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any
    ) -> Any:
        """Resolve the field, translating its error."""
        with as_graphql_errors():
            result = _next(root, info, *args, **kwargs)
        if isawaitable(result):
            return _guarded(result)
        return result


async def _guarded(result: Awaitable[Any]) -> Any:
    with as_graphql_errors():
        return await result
