"""Query parameters shared by the endpoints that answer a page at a time."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

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
