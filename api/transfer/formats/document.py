"""A stored thread as a ``playground.thread/v1`` document, and back into rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from api.schemas.transfer import THREAD_FORMAT, DocumentMessage, ThreadDocument
from api.schemas.views import to_message, to_thread
from api.stores.messages import new_message
from api.stores.tree import MessageTree
from api.transfer.formats.checks import CheckedThread
from db import models as m


def to_document(
    thread: m.Thread, rows: Sequence[m.Message], system_prompt: str | None
) -> ThreadDocument:
    """The whole tree of ``thread``, parents before children (oldest first), with
    ``system_prompt`` (its literal one, or its prompt of the library rendered: a
    document holds no reference to a prompt, which the importer may not have)."""
    tree = MessageTree(rows)
    ordered: list[m.Message] = []
    pending = list(reversed(tree.children[None]))
    while pending:
        row = pending.pop()
        ordered.append(row)
        pending.extend(reversed(tree.children[row.id]))
    view = to_thread(thread)
    return ThreadDocument(
        format=THREAD_FORMAT,
        title=view.title,
        system_prompt=system_prompt,
        default_system_prompt=view.default_system_prompt,
        model=view.model,
        params=view.params,
        tools=view.tools,
        metadata=view.metadata,
        head_id=str(view.head_id) if view.head_id else None,
        created_at=view.created_at,
        messages=[_document_message(row) for row in ordered],
    )


def _document_message(row: m.Message) -> DocumentMessage:
    # The message as the API shows it (usage with its total, timings grouped), less what
    # only a stored row has (its thread, siblings, prompt reference, version); ids become
    # text, as a document names its messages.
    view = msgspec.to_builtins(to_message(row, []), builtin_types=(datetime,))
    return msgspec.convert(
        {name: view[name] for name in DocumentMessage.__struct_fields__}, DocumentMessage
    )


def thread_row(checked: CheckedThread, owner_id: UUID) -> m.Thread:
    """The new thread row of an imported document (a new id; the head is set later)."""
    document = checked.document
    return m.Thread(
        id=uuid.uuid4(),
        owner_id=owner_id,
        title=document.title,
        system_prompt=document.system_prompt,
        default_system_prompt=document.default_system_prompt,
        model=document.model,
        params=msgspec.to_builtins(document.params),
        tools=msgspec.to_builtins(document.tools),
        metadata_=document.metadata,
    )


def message_rows(checked: CheckedThread, thread_id: UUID) -> tuple[list[m.Message], UUID | None]:
    """New rows (new ids, the same tree) for the document's messages, parents first;
    and the new id of its head."""
    new_ids = {message.id: uuid.uuid4() for message in checked.ordered}
    rows = [
        new_message(
            thread_id,
            new_ids[message.parent_id] if message.parent_id else None,
            message.role,
            message.content,
            id=new_ids[message.id],
            **_columns(message),
        )
        for message in checked.ordered
    ]
    return rows, new_ids[checked.head_id] if checked.head_id else None


def _columns(message: DocumentMessage) -> dict[str, Any]:
    usage, timings = message.usage, message.timings
    columns: dict[str, Any] = {
        # A reply that was running when exported runs nowhere now.
        "status": "interrupted" if message.status == "in_progress" else message.status,
        "model": message.model,
        "params": message.params,
        "request_message_count": message.request_message_count,
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "finish_reason": message.finish_reason,
        "time_to_first_token_ms": timings.time_to_first_token_ms if timings else None,
        "duration_ms": timings.duration_ms if timings else None,
        "error": message.error,
        "tool_calls": msgspec.to_builtins(message.tool_calls) if message.tool_calls else None,
        "tool_call_id": message.tool_call_id,
        "completed_at": message.completed_at,
    }
    # Kept when given: siblings and the newest leaf are ordered by it.
    if message.created_at is not None:
        columns["created_at"] = message.created_at
        columns["updated_at"] = message.created_at
    return columns
