"""What a server-side tool is, and the one place its arguments are checked and it is run.

A tool is a name, a description, a msgspec Struct describing its arguments and an
async handler. The Struct is the single source of truth: the JSON Schema the model
sees (``Tool.parameters``) is derived from it, and the arguments the model produces
are decoded into it (``validate_and_run``), so the schema and the check cannot drift.

Nothing a tool call does may crash a generation: bad arguments, a handler that raises
or one that runs too long all end as a ``ToolOutcome`` with an ``error``, whose text is
what the model receives as the tool result (so it can correct itself).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import anyio
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.llm.request import FunctionSpec, ToolSpec

A = TypeVar("A", bound=msgspec.Struct)

ERROR_PREFIX = "error: "


class ToolError(Exception):
    """Raised by a handler for a failure the model should read as is (e.g. unknown timezone).

    Its message becomes the tool result's error text, without a traceback or type name.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ToolContext:
    """What a handler may use besides its arguments.

    Handlers that need the database open their own short session from
    ``session_factory`` (and commit it), so a tool never shares the generation's session.
    ``owner_id`` is the thread's owner: a tool reads only that principal's threads.
    ``request_message_id`` is the user message the generation answers, when known:
    ``search_threads`` leaves it out, as it would always find the question itself.
    """

    session_factory: async_sessionmaker[AsyncSession]
    thread_id: UUID
    owner_id: UUID
    request_message_id: UUID | None = None


@dataclass(frozen=True)
class Tool(Generic[A]):
    """A server-side tool: its arguments Struct, async handler and time limit.

    ``arguments`` should be declared with ``forbid_unknown_fields=True`` and its
    constraints given with ``msgspec.Meta`` (they end up in the schema and are enforced
    on decode). ``handler`` returns JSON-able output or raises ``ToolError``.
    """

    name: str
    description: str
    arguments: type[A]
    handler: Callable[[A, ToolContext], Awaitable[object]]
    timeout_s: float = 10

    def parameters(self) -> dict[str, Any]:
        """The JSON Schema of the arguments: a self-contained object schema (no ``$ref``)."""
        return copy.deepcopy(_object_schema(self.arguments))

    def openai_spec(self) -> ToolSpec:
        """The tool as OpenAI's chat-completions ``tools`` list item wants it."""
        return function_spec(self.name, self.description, self.parameters())


def function_spec(name: str, description: str, parameters: dict[str, Any]) -> ToolSpec:
    """A function as OpenAI's chat-completions ``tools`` list item wants it (built-in
    tools and client-defined functions alike)."""
    return ToolSpec(
        function=FunctionSpec(name=name, description=description, parameters=parameters)
    )


class ToolOutcome(msgspec.Struct, kw_only=True):
    """The result of one call: the validated arguments, and the output or the error."""

    # Decoded and validated, as builtins; None when the arguments were rejected.
    arguments: dict[str, Any] | None
    output: Any = None
    error: str | None = None

    def model_text(self) -> str:
        """The tool message content the model receives: the output as JSON, or the error."""
        if self.error is not None:
            return ERROR_PREFIX + self.error
        return msgspec.json.encode(self.output).decode()


async def validate_and_run(tool: Tool[Any], arguments_json: str, ctx: ToolContext) -> ToolOutcome:
    """Decode ``arguments_json`` into the tool's Struct and, when valid, run its handler.

    Never raises for anything the model or the handler did (cancellation of the caller
    still propagates): see ``decode_arguments`` and ``run_decoded``.
    """
    arguments, rejected = decode_arguments(tool, arguments_json)
    if rejected is not None:
        return rejected
    return await run_decoded(tool, arguments, ctx)


def decode_arguments(
    tool: Tool[A], arguments_json: str
) -> tuple[A, None] | tuple[None, ToolOutcome]:
    """The arguments as the tool's Struct, or an outcome whose error names the field.

    Malformed JSON, wrong types, missing, unknown or out-of-range fields are rejected.
    Kept apart from running, so a caller can announce a validated call before it runs.
    """
    try:
        return msgspec.json.decode(arguments_json, type=tool.arguments), None
    except msgspec.ValidationError as exc:
        return None, ToolOutcome(arguments=None, error=f"invalid arguments for {tool.name}: {exc}")
    except msgspec.DecodeError as exc:
        return None, ToolOutcome(
            arguments=None,
            error=f"invalid arguments for {tool.name}: arguments are not valid JSON ({exc})",
        )


async def run_decoded(tool: Tool[A], arguments: A, ctx: ToolContext) -> ToolOutcome:
    """Run the handler on decoded arguments; a handler raising or exceeding
    ``tool.timeout_s`` gives an outcome with an error, never an exception."""
    decoded: dict[str, Any] = msgspec.to_builtins(arguments)
    try:
        # move_on_after rather than fail_after: a TimeoutError raised by the handler
        # itself is then a failure of the handler, not mistaken for our time limit.
        with anyio.move_on_after(tool.timeout_s) as scope:
            output = await tool.handler(arguments, ctx)
        if scope.cancelled_caught:
            return ToolOutcome(
                arguments=decoded, error=f"{tool.name} timed out after {tool.timeout_s:g}s"
            )
        # Normalized here so that model_text() and the SSE encoder can never fail later.
        output = msgspec.to_builtins(output)
    except ToolError as exc:
        return ToolOutcome(arguments=decoded, error=exc.message)
    except Exception as exc:
        return ToolOutcome(
            arguments=decoded, error=f"{tool.name} failed: {type(exc).__name__}: {exc}"
        )
    return ToolOutcome(arguments=decoded, output=output)


@functools.cache
def _object_schema(arguments: type[msgspec.Struct]) -> dict[str, Any]:
    schema = msgspec.json.schema(arguments)
    inlined = _inline_refs(schema, schema.get("$defs", {}), ())
    if not isinstance(inlined, dict) or inlined.get("type") != "object":
        raise TypeError(f"{arguments.__name__} must describe a JSON object")
    # The class name and docstring are noise for the model; the tool's description speaks.
    inlined.pop("title", None)
    inlined.pop("description", None)
    return inlined


def _inline_refs(node: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> Any:
    """Replace every ``{"$ref": "#/$defs/X"}`` with X itself; drop ``$defs``."""
    if isinstance(node, list):
        return [_inline_refs(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.removeprefix("#/$defs/")
        if name in seen:
            raise TypeError(f"recursive argument type {name!r} cannot be inlined")
        siblings = {
            k: _inline_refs(v, defs, seen) for k, v in node.items() if k not in ("$ref", "$defs")
        }
        return {**_inline_refs(defs[name], defs, (*seen, name)), **siblings}
    return {k: _inline_refs(v, defs, seen) for k, v in node.items() if k != "$defs"}
