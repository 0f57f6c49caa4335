"""Import checks: a document is decoded and checked whole before anything is stored,
and the first problem is a 400 naming its JSON path (``$.messages[3].parent_id``)."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from api.errors import BadRequestError
from api.schemas.transfer import DocumentMessage, ThreadDocument
from api.tools.registry import ToolRegistry
from api.validation import check_no_nul, check_tools

D = TypeVar("D", bound=msgspec.Struct)

_PATH = re.compile(r" - at `(\$[^`]*)`$")


def bad_document(path: str, detail: str) -> BadRequestError:
    """The 400 of a document: ``detail`` about the part at ``path`` (a JSON path)."""
    return BadRequestError(f"{path}: {detail}", extra={"field": path})


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """How big a document may be."""

    max_bytes: int
    max_messages: int
    max_content_chars: int


@dataclass(frozen=True, slots=True)
class CheckedThread:
    """A document that passed every check: its messages parents first, and the head."""

    document: ThreadDocument
    ordered: list[DocumentMessage]
    head_id: str | None


def check_size(body: bytes, limits: ImportLimits) -> None:
    """Refuse a document over the byte limit."""
    if len(body) > limits.max_bytes:
        raise bad_document("$", f"the document is over {limits.max_bytes} bytes")


def decode_json(body: bytes) -> Any:
    """The JSON value of ``body``, or a 400 saying where it is malformed."""
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise bad_document("$", f"malformed JSON: {exc}") from None


def convert(value: Any, shape: type[D]) -> D:
    """``value`` as ``shape``, or a 400 naming the path msgspec reports."""
    try:
        return msgspec.convert(value, shape)
    except msgspec.ValidationError as exc:
        message = str(exc)
        found = _PATH.search(message)
        path = found.group(1) if found else "$"
        raise bad_document(path, _PATH.sub("", message)) from None


def check_thread(
    document: ThreadDocument, limits: ImportLimits, tools: ToolRegistry
) -> CheckedThread:
    """Check a ``playground.thread/v1`` document: sizes, ids, the tree (every parent
    known, no cycle), tool results answering a call above them, the head, the tools."""
    messages = document.messages
    if len(messages) > limits.max_messages:
        raise bad_document(
            "$.messages", f"{len(messages)} messages; at most {limits.max_messages} per document"
        )
    _check_text(document)
    check_tools(tools, document.tools, field="$.tools")
    by_id: dict[str, int] = {}
    for index, message in enumerate(messages):
        if message.id in by_id:
            raise bad_document(f"$.messages[{index}].id", f"{message.id!r} is used twice")
        by_id[message.id] = index
        if len(message.content) > limits.max_content_chars:
            raise bad_document(
                f"$.messages[{index}].content",
                f"over {limits.max_content_chars} characters",
            )
    for index, message in enumerate(messages):
        if message.parent_id is not None and message.parent_id not in by_id:
            raise bad_document(
                f"$.messages[{index}].parent_id",
                f"{message.parent_id!r} is not the id of a message of this document",
            )
    ordered = _parents_first(messages)
    _check_tool_results(messages, by_id)
    head_id = document.head_id
    if head_id is not None and head_id not in by_id:
        raise bad_document("$.head_id", f"{head_id!r} is not the id of a message of this document")
    if head_id is None and messages:
        parents = {message.parent_id for message in messages}
        head_id = next(m.id for m in reversed(messages) if m.id not in parents)
    return CheckedThread(document=document, ordered=ordered, head_id=head_id)


def _check_text(document: ThreadDocument) -> None:
    """Postgres stores no NUL character: name where one is."""
    try:
        check_no_nul(document)
    except BadRequestError as exc:
        field = str((exc.extra or {}).get("field", ""))
        path = "$" if field in ("", "body") else f"$.{field}"
        raise bad_document(path, "must not contain the NUL character (\\u0000)") from None


def _parents_first(messages: list[DocumentMessage]) -> list[DocumentMessage]:
    """The messages ordered so that each comes after its parent (breadth first from the
    roots, document order among siblings); a message no root leads to is in a cycle."""
    children: dict[str | None, list[DocumentMessage]] = {}
    for message in messages:
        children.setdefault(message.parent_id, []).append(message)
    ordered: list[DocumentMessage] = []
    queue = deque(children.get(None, []))
    while queue:
        message = queue.popleft()
        ordered.append(message)
        queue.extend(children.get(message.id, []))
    if len(ordered) < len(messages):
        reached = {message.id for message in ordered}
        index = next(i for i, m in enumerate(messages) if m.id not in reached)
        raise bad_document(
            f"$.messages[{index}].parent_id",
            "the parent chain never reaches a first message (a cycle)",
        )
    return ordered


def _check_tool_results(messages: list[DocumentMessage], by_id: dict[str, int]) -> None:
    """Every tool result answers a call of the assistant message its run of tool
    results follows (OpenAI's tool-call rule: nothing else comes between)."""
    for index, message in enumerate(messages):
        if message.role != "tool":
            continue
        call_id = message.tool_call_id
        where = f"$.messages[{index}].tool_call_id"
        if not call_id:
            raise bad_document(where, "a tool message must name the call it answers")
        above = _above_tool_results(messages, by_id, message)
        if above is None or not any(call.id == call_id for call in above.tool_calls or []):
            raise bad_document(
                where, f"{call_id!r} answers no tool call of the assistant message it follows"
            )


def _above_tool_results(
    messages: list[DocumentMessage], by_id: dict[str, int], message: DocumentMessage
) -> DocumentMessage | None:
    """The first ancestor of ``message`` that is not a tool result (None at the root)."""
    parent = message.parent_id
    while parent is not None:
        above = messages[by_id[parent]]
        if above.role != "tool":
            return above
        parent = above.parent_id
    return None
