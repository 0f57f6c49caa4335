"""The events of ``Subscription.generation``: the SSE events of a generation as GraphQL
types, each with the SSE event's id (``<generation id>:<n>``) as ``eventId``."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
import strawberry
from strawberry.scalars import JSON

from api.graphql.types import Message, message_from
from api.schemas import events as sse


@strawberry.type
class MessageCreated:
    """A stored message: the user message, then the reply placeholder."""

    event_id: str
    message: Message


@strawberry.type
class MessageDelta:
    """A piece of reply text; the deltas of a message concatenate to its content."""

    event_id: str
    message_id: strawberry.ID
    content: str


@strawberry.type
class ToolCallEvent:
    """A tool call whose arguments passed validation."""

    event_id: str
    message_id: strawberry.ID
    call_id: str
    name: str
    arguments: JSON


@strawberry.type
class ToolResultEvent:
    """What a call gave: ``output``, or ``error``; ``messageId`` is the tool message."""

    event_id: str
    message_id: strawberry.ID
    call_id: str
    output: JSON | None
    error: str | None


@strawberry.type
class MessageCompleted:
    """The final row of a reply, whatever its status."""

    event_id: str
    message: Message


@strawberry.type
class GenerationError:
    """A failure after the generation started."""

    event_id: str
    code: str
    detail: str


@strawberry.type
class GenerationDone:
    """Always the last event of a generation."""

    event_id: str


GenerationEvent = Annotated[
    MessageCreated
    | MessageDelta
    | ToolCallEvent
    | ToolResultEvent
    | MessageCompleted
    | GenerationError
    | GenerationDone,
    strawberry.union("GenerationEvent"),
]


def event_of(generation_id: UUID, event: sse.Event) -> Any:
    """The GraphQL event of a published one."""
    event_id = f"{generation_id}:{event.seq}"
    data = event.data.encode()
    if event.name == "message.created":
        created = msgspec.json.decode(data, type=sse.MessageCreated)
        return MessageCreated(event_id=event_id, message=message_from(created.message))
    if event.name == "message.delta":
        delta = msgspec.json.decode(data, type=sse.MessageDelta)
        return MessageDelta(
            event_id=event_id,
            message_id=strawberry.ID(str(delta.message_id)),
            content=delta.content,
        )
    if event.name == "tool_call":
        call = msgspec.json.decode(data, type=sse.ToolCallPayload)
        return ToolCallEvent(
            event_id=event_id,
            message_id=strawberry.ID(str(call.message_id)),
            call_id=call.call.id,
            name=call.call.name,
            arguments=JSON(call.call.arguments),
        )
    if event.name == "tool_result":
        result = msgspec.json.decode(data, type=sse.ToolResultPayload)
        return ToolResultEvent(
            event_id=event_id,
            message_id=strawberry.ID(str(result.message_id)),
            call_id=result.call_id,
            output=result.output,
            error=result.error,
        )
    if event.name == "message.completed":
        completed = msgspec.json.decode(data, type=sse.MessageCompleted)
        return MessageCompleted(event_id=event_id, message=message_from(completed.message))
    if event.name == "error":
        error = msgspec.json.decode(data, type=sse.ErrorPayload)
        return GenerationError(event_id=event_id, code=error.code, detail=error.detail)
    return GenerationDone(event_id=event_id)
