"""Checks shared by several services, each raising an error that names the field."""

from __future__ import annotations

from uuid import UUID

import msgspec

from api.errors import BadRequestError, PayloadTooLargeError
from api.llm.router import ModelRouter
from api.schemas.tools import ClientFunction
from api.tools.client import check_client_function
from api.tools.registry import ToolRegistry


def check_content(content: str, limit: int, field: str = "content") -> None:
    """Reject empty, whitespace-only and oversized message text."""
    if not content.strip():
        raise BadRequestError(f"{field} must not be empty", extra={"field": field})
    if len(content) > limit:
        raise PayloadTooLargeError(
            f"{field} is {len(content)} characters long; the limit is {limit}",
            extra={"field": field, "limit": limit},
        )


def check_no_nul(body: msgspec.Struct) -> None:
    """Reject a NUL character (U+0000) in any string of ``body``, naming where it is.

    Postgres can store it neither in ``text`` nor in ``jsonb`` columns.
    """
    _reject_nul(msgspec.to_builtins(body), "")


def _reject_nul(value: object, path: str) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            field = path or "body"
            raise BadRequestError(
                f"{field} must not contain the NUL character (\\u0000)", extra={"field": field}
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key, path or "body")
            _reject_nul(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_nul(item, f"{path}[{index}]")


def check_model(models: ModelRouter, model: str, field: str = "model") -> None:
    """Reject a model this service does not offer, listing the ones it does."""
    if not models.is_known(model):
        known = [info.id for info in models.models]
        raise BadRequestError(
            f"unknown model {model!r}; known models: {', '.join(known)}",
            extra={"field": field, "known_models": known},
        )


def check_tools(
    tools: ToolRegistry, items: list[str | ClientFunction], field: str = "tools"
) -> None:
    """Reject unknown built-in tool names, invalid client function schemas and names used
    twice, naming the offending item."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        name = item if isinstance(item, str) else item.name
        where = f"{field}[{index}]"
        if name in seen:
            raise BadRequestError(
                f"{where}: the tool name {name!r} is used twice", extra={"field": where}
            )
        seen.add(name)
        if isinstance(item, ClientFunction):
            check_client_function(item, field=where, reserved=tools.names())
        elif tools.get(item) is None:
            known = tools.names()
            raise BadRequestError(
                f"unknown tool {item!r} at {where}; known tools: {', '.join(known) or '(none)'}"
                " (declare your own as {name, description, parameters})",
                extra={"field": where, "known_tools": known},
            )


def parse_uuid(field: str, value: str) -> UUID:
    """``value`` as a UUID, or a 400 naming ``field``."""
    try:
        return UUID(value)
    except ValueError:
        raise BadRequestError(f"{field}: {value!r} is not a UUID", extra={"field": field}) from None
