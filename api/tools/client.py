"""Client-defined functions (OpenAI playground style): a JSON Schema each, run by the client.

A thread may declare functions beside the built-in tools. The server never runs them:
when the model calls one, its arguments are validated against the declared schema and
handed to the client, which answers with the output. The schema itself is checked when
the thread is saved (``check_client_function``), so a bad schema is a 400 then, not a
failure in the middle of a reply.

Validation uses the ``jsonschema`` package (Draft 2020-12). Only references inside the
schema (``#/...``) are allowed, and the validator is given a registry that cannot fetch
anything, so a schema can never make the server open a URL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

import msgspec
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match
from referencing.jsonschema import EMPTY_REGISTRY

from api.errors import BadRequestError
from api.llm.request import ToolSpec
from api.schemas.tools import ClientFunction
from api.tools.base import ToolOutcome, function_spec
from api.tools.builtins import DEFAULT_TOOL_NAMES


def client_spec(fn: ClientFunction) -> ToolSpec:
    """The function as OpenAI's chat-completions ``tools`` list item wants it."""
    return function_spec(fn.name, fn.description, fn.parameters)


def check_client_function(
    fn: ClientFunction, *, field: str, reserved: Collection[str] = DEFAULT_TOOL_NAMES
) -> None:
    """Reject a declaration whose name is taken or whose schema is not a valid object schema.

    ``field`` is where the declaration sits in the request (e.g. ``"tools[2]"``); the
    error names the exact place, e.g. ``tools[2].parameters.properties.city.type``.
    ``reserved`` lists names already in use (the built-in tools by default).
    """
    if fn.name in reserved:
        raise BadRequestError(
            f"{field}.name {fn.name!r} is the name of a built-in tool; choose another",
            extra={"field": f"{field}.name"},
        )
    where = f"{field}.parameters"
    try:
        Draft202012Validator.check_schema(fn.parameters)
    except SchemaError as exc:
        path = where + exc.json_path.removeprefix("$")
        raise BadRequestError(
            f"{where} is not a valid JSON Schema: {exc.message} (at {path})",
            extra={"field": path},
        ) from None
    if fn.parameters.get("type") != "object":
        raise BadRequestError(
            f'{where}.type must be "object": a function takes an object of named arguments',
            extra={"field": f"{where}.type"},
        )
    for path, ref in _references(fn.parameters, where):
        if not ref.startswith("#"):
            raise BadRequestError(
                f"{path} {ref!r} points outside the schema; only local references (#/...) "
                "are allowed",
                extra={"field": path},
            )


def validate_client_arguments(fn: ClientFunction, arguments_json: str) -> ToolOutcome:
    """Decode the model's arguments for ``fn`` and check them against its schema.

    Valid → ``ToolOutcome(arguments=..., output=None, error=None)``: the client supplies
    the output later. Invalid → an outcome whose ``error`` names the place, in the same
    style as the built-in tools' (``... - at `$.city```).
    """
    prefix = f"invalid arguments for {fn.name}: "
    try:
        arguments = msgspec.json.decode(arguments_json)
    except msgspec.DecodeError as exc:
        return ToolOutcome(arguments=None, error=f"{prefix}arguments are not valid JSON ({exc})")
    try:
        # An explicit registry: the default one fetches remote $refs over the network.
        validator = Draft202012Validator(fn.parameters, registry=EMPTY_REGISTRY)
        error = best_match(validator.iter_errors(arguments))
    except Exception as exc:
        # e.g. a local $ref to a definition that does not exist: the schema's fault.
        return ToolOutcome(
            arguments=None, error=f"{prefix}the declared schema cannot be used ({exc})"
        )
    if error is not None:
        return ToolOutcome(
            arguments=None, error=f"{prefix}{error.message} - at `{error.json_path}`"
        )
    if not isinstance(arguments, dict):
        return ToolOutcome(arguments=None, error=f"{prefix}arguments must be a JSON object")
    return ToolOutcome(arguments=arguments)


def _references(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every ``$ref``/``$dynamicRef`` in a schema, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}"
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                yield here, value
            else:
                yield from _references(value, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _references(item, f"{path}[{index}]")
