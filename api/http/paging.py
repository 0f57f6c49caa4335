"""Query parameters shared by the endpoints that answer a page at a time."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar.params import Parameter, ParameterKwarg, QueryParameter

from api.validation import parse_uuid

# A plain string, "" when absent: ``str | None`` would be documented as nullable.
PageCursor = Annotated[
    str, Parameter(description="The `next_cursor` of the previous page; none for the first.")
]
OwnerFilter = Annotated[
    str,
    Parameter(
        description="Only this principal's threads (admins; a member may name only themselves).",
        schema_extra={"format": "uuid"},
    ),
]


def page_limit(items: str) -> ParameterKwarg:
    """The ``limit`` of a list, 1 to 100 ``items`` (as its description names them)."""
    return QueryParameter(ge=1, le=100, description=f"{items} per page, 1-100.")


def owner_filter(owner: str) -> UUID | None:
    """The principal an ``OwnerFilter`` names, None when it is left out; a 400 naming
    ``owner`` when it is not a UUID."""
    return parse_uuid("owner", owner) if owner else None
