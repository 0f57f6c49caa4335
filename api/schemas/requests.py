"""Bodies of the request log: what was sent to the model for a reply, and replaying it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from api.schemas.messages import IfBusy, Usage
from api.schemas.params import ChatParams, ModelName
from db import models as m


class ModelResponse(msgspec.Struct, kw_only=True):
    """What a model call's stream said besides its text: the upstream's completion
    ``id``, the ``model`` and ``system_fingerprint`` it named, the finish reason as the
    server sent it, and the usage it reported (null when it said nothing of it)."""

    id: str | None = None
    model: str | None = None
    system_fingerprint: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None


class ModelCall(msgspec.Struct, kw_only=True):
    """One call of the model: the request body exactly as sent (no key, no headers), and
    what came back; ``message_id`` is the reply row it wrote."""

    message_id: UUID
    created_at: datetime
    request: dict[str, Any]
    response: ModelResponse


class MessageRequest(msgspec.Struct, kw_only=True):
    """Answer of ``GET .../messages/{message_id}/request``: every model call of the run
    that wrote the message, oldest first (one per tool round; in a compare run, the
    message's own call)."""

    message_id: UUID
    generation_id: UUID
    rounds: list[ModelCall]


class Replay(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST .../messages/{message_id}/replay``; every field is optional:
    another ``model``, ``params`` merged over the stored request's."""

    model: ModelName | None = None
    params: ChatParams | None = None
    stream: bool = True
    if_busy: IfBusy = "reject"


# The keys of a request body, in the order people read them (JSONB keeps its own order).
_READING_ORDER = ("model", "messages", "tools")


def readable_request(body: dict[str, Any]) -> dict[str, Any]:
    """A stored request body with its model, messages and tools first."""
    first = {key: body[key] for key in _READING_ORDER if key in body}
    return {**first, **{key: value for key, value in body.items() if key not in first}}


def to_model_call(row: m.ModelRequest) -> ModelCall:
    """The client view of one logged call."""
    return ModelCall(
        message_id=row.message_id,
        created_at=row.created_at,
        request=readable_request(row.request),
        response=msgspec.convert(row.response, ModelResponse),
    )
