"""The GraphQL input types, each converted to the REST body it stands for, so the
same limits apply (``api.schemas``)."""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry
from strawberry.scalars import JSON

from api.graphql.errors import converted

T = TypeVar("T")


@strawberry.input
class CreateThreadInput:
    """As the body of ``POST /api/threads``; every field is optional."""

    title: str | None = strawberry.UNSET
    system_prompt: str | None = strawberry.UNSET
    default_system_prompt: bool | None = strawberry.UNSET
    model: str | None = strawberry.UNSET
    params: JSON | None = strawberry.UNSET
    tools: JSON | None = strawberry.UNSET
    metadata: JSON | None = strawberry.UNSET


@strawberry.input
class UpdateThreadInput(CreateThreadInput):
    """As the body of ``PATCH /api/threads/{id}``: the same fields, and only the ones
    given change."""


@strawberry.input
class AppendMessageInput:
    """A message stored without generating (``generate: false`` in REST)."""

    content: str
    role: str = "user"
    parent_id: str | None = strawberry.UNSET


@strawberry.input
class SendMessageInput:
    """As the body of ``POST …/messages``: the reply is generated on its own."""

    content: str
    parent_id: str | None = strawberry.UNSET
    model: str | None = strawberry.UNSET
    params: JSON | None = strawberry.UNSET
    if_busy: str | None = strawberry.UNSET


@strawberry.input
class RegenerateInput:
    """As the body of ``POST …/regenerate``; every field is optional."""

    model: str | None = strawberry.UNSET
    params: JSON | None = strawberry.UNSET
    if_busy: str | None = strawberry.UNSET


@strawberry.input
class ToolOutputInput:
    """The answer to one call of a client-defined function."""

    call_id: str
    output: JSON


def body(kind: type[T], value: object | None, **fixed: Any) -> T:
    """``value`` (an input, or None) as the REST body ``kind``: the fields given, plus
    ``fixed``; a null where REST takes no null is ``BAD_USER_INPUT``."""
    given: dict[str, Any] = {}
    if value is not None:
        given = {
            name: field for name, field in vars(value).items() if field is not strawberry.UNSET
        }
    return converted(kind, {**given, **fixed})
