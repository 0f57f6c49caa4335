"""Conditional requests on threads and messages: the ``If-Match`` header an operation
takes, and answers carrying the ``ETag`` of the row they show (``api.preconditions``)."""

from __future__ import annotations

from typing import Annotated, Protocol, TypeVar

from litestar import Response
from litestar.datastructures import ResponseHeader
from litestar.params import HeaderParameter

from api.preconditions import etag


class Versioned(Protocol):
    """A body showing one row at its version."""

    @property
    def version(self) -> int:
        """The row's version."""
        ...


Body = TypeVar("Body", bound=Versioned)

# A plain string, empty when absent: ``str | None`` would be documented as nullable.
IfMatchHeader = Annotated[
    str,
    HeaderParameter(
        name="If-Match",
        description='Change only if the current ETag is one of these (`"3"`, a list, or'
        " `*`); otherwise 412 with the current representation in `extra.current`.",
    ),
]
ETAG = [
    ResponseHeader(
        name="ETag",
        documentation_only=True,
        # Never sent as is; gives the header its string schema, which OpenAPI requires.
        value='"1"',
        description='The version of the row shown, a strong entity tag (`"3"`); send it'
        " back in `If-Match`.",
    )
]


def tagged(body: Body, status_code: int = 200) -> Response[Body]:
    """``body`` answered with its ``ETag``."""
    return Response(body, status_code=status_code, headers={"ETag": etag(body.version)})
