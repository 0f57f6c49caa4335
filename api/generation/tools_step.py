"""Running the tool calls of one model turn: validate, announce, run, report.

Built-in tools are decoded into their msgspec Struct and run; client-defined
functions are checked against their JSON Schema and left for the client to answer.
A call with bad arguments (or an unknown name) is not run: its error goes to the
client as ``tool_result`` with ``error`` and to the model as the tool message, so
the model can correct itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec

from api.generation.reply import ToolCallBuffer
from api.generation.stream import GenerationStream
from api.schemas.events import ToolCallPayload, ToolCallView, ToolResultPayload, encode_payload
from api.schemas.tools import ClientFunction
from api.tools.base import ToolContext, ToolOutcome, decode_arguments, run_decoded
from api.tools.client import validate_client_arguments
from api.tools.registry import ToolRegistry


@dataclass(frozen=True, slots=True)
class CallResult:
    """A call of the turn and what became of it; ``pending`` calls wait for the client."""

    call: ToolCallBuffer
    outcome: ToolOutcome
    tool_message_id: UUID
    pending: bool


async def run_calls(
    calls: list[ToolCallBuffer],
    *,
    assistant_id: UUID,
    enabled: set[str],
    registry: ToolRegistry,
    client_functions: dict[str, ClientFunction],
    context: ToolContext,
    stream: GenerationStream,
) -> list[CallResult]:
    """Validate every call, announce the valid ones, run the built-in ones, in order."""
    results: list[CallResult] = []
    for call in calls:
        tool = registry.get(call.name) if call.name in enabled else None
        function = client_functions.get(call.name)
        outcome: ToolOutcome
        pending = False
        if tool is not None:
            arguments, rejected = decode_arguments(tool, call.arguments)
            if rejected is not None:
                outcome = rejected
            else:
                _announce(stream, assistant_id, call, _builtins(arguments))
                outcome = await run_decoded(tool, arguments, context)
        elif function is not None:
            outcome = validate_client_arguments(function, call.arguments)
            if outcome.error is None:
                _announce(stream, assistant_id, call, outcome.arguments or {})
                pending = True
        else:
            offered = sorted([*enabled, *client_functions])
            outcome = ToolOutcome(
                arguments=None,
                error=f"unknown tool {call.name!r}; available: {', '.join(offered) or '(none)'}",
            )
        result = CallResult(
            call=call, outcome=outcome, tool_message_id=uuid.uuid4(), pending=pending
        )
        if not pending:
            stream.publish(
                "tool_result",
                encode_payload(
                    ToolResultPayload(
                        message_id=result.tool_message_id,
                        call_id=call.id,
                        output=outcome.output,
                        error=outcome.error,
                    )
                ),
            )
        results.append(result)
    return results


def _announce(
    stream: GenerationStream, assistant_id: UUID, call: ToolCallBuffer, arguments: dict[str, Any]
) -> None:
    payload = ToolCallPayload(
        message_id=assistant_id,
        call=ToolCallView(id=call.id, name=call.name, arguments=arguments),
    )
    stream.publish("tool_call", encode_payload(payload))


def _builtins(arguments: object) -> dict[str, Any]:
    decoded: dict[str, Any] = msgspec.to_builtins(arguments)
    return decoded
