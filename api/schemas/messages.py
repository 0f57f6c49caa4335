"""Bodies of the message endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from api.schemas.params import ChatParams, ModelName

# A UUID as text, in either case (regex syntax shared by Python and ECMA-262).
UUID_TEXT = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# A character ``str.strip()`` keeps, spelled out so that Python's ``re`` and ECMA-262 (the
# regexes of JSON Schema) agree on it: ``api.validation.check_content`` refuses text
# without one.
NOT_BLANK = r"[^\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
# The service checks content (400 in its own words, 413 over the configured limit);
# ``extra_json_schema`` only documents the rule.
Content = Annotated[str, msgspec.Meta(extra_json_schema={"minLength": 1, "pattern": NOT_BLANK})]
# What a send or regenerate does while a reply is being generated in the thread:
# "reject" answers 409; "interrupt" stops it (its partial text is kept) and goes on.
IfBusy = Literal["reject", "interrupt"]
ParentRef = Annotated[
    str,
    msgspec.Meta(
        max_length=64,
        description='A message id of the thread, or "root" for a new first message.',
        # Documented only: the service parses it and names parent_id when it is neither.
        extra_json_schema={"pattern": f"^(root|{UUID_TEXT})$"},
    ),
]
Role = Literal["system", "user", "assistant", "tool"]
Status = Literal[
    "completed", "in_progress", "cancelled", "failed", "interrupted", "requires_action"
]


class Usage(msgspec.Struct, kw_only=True):
    """Token counts reported by the model server."""

    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None


class Timings(msgspec.Struct, kw_only=True):
    """How long the reply took, measured from the start of the model call."""

    time_to_first_token_ms: float | None
    duration_ms: float | None


class Message(msgspec.Struct, kw_only=True):
    """A message as clients see it; ``sibling_ids`` lists the alternatives at its place,
    itself included, oldest first."""

    id: UUID
    thread_id: UUID
    parent_id: UUID | None
    role: Role
    content: str
    status: Status
    sibling_ids: list[UUID]
    model: str | None = None
    params: dict[str, Any] | None = None
    request_message_count: int | None = None
    # The prompt version the reply's system prompt was rendered from.
    prompt_id: UUID | None = None
    prompt_version: int | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    timings: Timings | None = None
    error: str | None = None
    tool_calls: list[Any] | None = None
    tool_call_id: str | None = None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    # Bumped by every change of the row; the ETag, and what If-Match compares.
    version: int


class MessageList(msgspec.Struct, kw_only=True):
    """The active branch of a thread, oldest first."""

    data: list[Message]


class Variant(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One reply of a compare run: its model (else the thread's) and params on top of
    the thread's, checked like a single request's."""

    model: ModelName | None = None
    params: ChatParams | None = None


# A compare run: two to four replies generated at once, side by side.
Variants = Annotated[list[Variant], msgspec.Meta(min_length=2, max_length=4)]


class SendMessage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /api/threads/{id}/messages``."""

    content: Content
    role: Literal["user", "assistant", "system"] = "user"
    # Default (null): below the head. "root": a new first message (a branch at the root).
    # A str, not a UUID | Literal union, which msgspec cannot decode; the service parses it.
    parent_id: ParentRef | None = None
    generate: bool = True
    stream: bool = True
    model: ModelName | None = None
    params: ChatParams | None = None
    variants: Variants | None = None
    if_busy: IfBusy = "reject"


class EditMessage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``PATCH /api/threads/{id}/messages/{message_id}``: new content, edited in place."""

    content: Content


class Regenerate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST .../messages/{message_id}/regenerate``; every field is optional."""

    model: ModelName | None = None
    params: ChatParams | None = None
    variants: Variants | None = None
    stream: bool = True
    if_busy: IfBusy = "reject"


class ToolOutput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The client's answer to one call of a client-defined function."""

    call_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    # Text is sent to the model as is; anything else as its JSON.
    output: Any


class ToolOutputs(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST .../messages/{message_id}/tool_outputs``: one output per pending call."""

    outputs: Annotated[list[ToolOutput], msgspec.Meta(min_length=1, max_length=64)]
    stream: bool = True


class SendResult(msgspec.Struct, kw_only=True):
    """Answer of a non-streamed send or regenerate: the user message the reply answers
    and the finished reply."""

    user_message: Message | None
    assistant_message: Message


class CompareResult(msgspec.Struct, kw_only=True):
    """Answer of a non-streamed compare run: the user message and its replies, in the
    order of ``variants`` (a variant whose model failed is a ``failed`` reply)."""

    user_message: Message | None
    replies: list[Message]
