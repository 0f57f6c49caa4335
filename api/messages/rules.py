"""Rules shared by storing and sending messages: which model and params apply, which
message a new one goes under, and the answers a broken rule gets (the same whether
Python found it or the send statement did, ``api.stores.sends``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from api.errors import BadRequestError, ConflictError, NotFoundError
from api.llm.router import ModelRouter
from api.schemas.params import ChatParams, merge_params
from api.stores.sends import ParentRef, Refused
from api.stores.tree import MessageTree
from api.validation import check_model
from db import models as m


def resolve_model(
    models: ModelRouter, thread: m.Thread, model: str | None, params: ChatParams | None
) -> tuple[str, dict[str, Any]]:
    """The model a request names (else the thread's), checked, and the thread's params
    with the request's on top."""
    chosen = model or thread.model
    check_model(models, chosen)
    merged = merge_params(msgspec.convert(thread.params, ChatParams), params)
    return chosen, msgspec.to_builtins(merged)


def parse_parent(parent_ref: str | None) -> ParentRef:
    """The ``parent_id`` of a request: the head by default, ``"root"``, or a message id
    (400 when it is neither)."""
    if parent_ref is None:
        return "head"
    if parent_ref == "root":
        return "root"
    try:
        return UUID(parent_ref)
    except ValueError:
        raise BadRequestError(
            f'parent_id must be a message id or "root", not {parent_ref!r}',
            extra={"field": "parent_id"},
        ) from None


def choose_parent(thread: m.Thread, tree: MessageTree, parent_ref: str | None) -> m.Message | None:
    """The message a new one goes under: the head by default, none for ``"root"``, or
    the named message of this thread (400 if it is not one, 409 while it is written)."""
    parent_id = parse_parent(parent_ref)
    if parent_id == "head":
        return tree.by_id.get(thread.head_id) if thread.head_id else None
    if parent_id == "root":
        return None
    parent = tree.by_id.get(parent_id)
    if parent is None:
        raise not_a_message_of(thread.id, parent_id)
    if parent.status == "in_progress":
        raise still_generating(parent_id)
    return parent


def not_a_message_of(thread_id: UUID, parent_id: UUID | None) -> BadRequestError:
    """The 400 for a ``parent_id`` that is no message of the thread."""
    return BadRequestError(
        f"parent_id {parent_id} is not a message of thread {thread_id}",
        extra={"field": "parent_id"},
    )


def still_generating(message_id: UUID | None) -> ConflictError:
    """The 409 for a parent whose reply is still being written."""
    return ConflictError(f"message {message_id} is still being generated")


def check_no_open_calls(thread_id: UUID, path: list[m.Message]) -> None:
    """409 when the history runs through a reply still waiting for client tool outputs:
    a model server rejects any turn after unanswered ``tool_calls`` (README "Function
    calling")."""
    waiting = next((row for row in path if row.status == "requires_action"), None)
    if waiting is not None:
        raise waiting_for_outputs(thread_id, waiting.id)


def waiting_for_outputs(thread_id: UUID, message_id: UUID | None) -> ConflictError:
    """The 409 for a history through ``message_id``, a reply waiting for tool outputs."""
    return ConflictError(
        f"message {message_id} is waiting for tool outputs; answer them with POST "
        f"/api/threads/{thread_id}/messages/{message_id}/tool_outputs, or send below "
        "another message (parent_id)",
        extra={"message_id": str(message_id)},
    )


def busy(message_id: UUID | None) -> ConflictError:
    """The 409 for a thread where a reply (``message_id``) is being generated."""
    return ConflictError(
        f"a reply is already being generated in this thread (message {message_id}); "
        "wait for it or cancel it",
        extra={"message_id": str(message_id)},
    )


def refusal(thread_id: UUID, refused: Refused) -> BadRequestError | ConflictError:
    """The answer to a send the send statement refused after it found the thread."""
    named = refused.message_id
    if refused.outcome == "parent_not_found":
        return not_a_message_of(thread_id, named)
    if refused.outcome == "parent_in_progress":
        return still_generating(named)
    if refused.outcome == "waiting_for_outputs":
        return waiting_for_outputs(thread_id, named)
    return busy(named)


def no_request_logged(row: m.Message) -> NotFoundError:
    """The 404 for a message without a stored model request: not a model's reply, or
    one whose request was never logged or was pruned."""
    if row.role != "assistant":
        return NotFoundError(
            f"message {row.id} is a {row.role} message; only a model's reply has a request"
        )
    return NotFoundError(
        f"no request is stored for message {row.id} (written by hand, imported or forked, "
        "from before requests were logged, or pruned after "
        "PLAYGROUND_REQUEST_LOG_RETENTION_DAYS)"
    )
