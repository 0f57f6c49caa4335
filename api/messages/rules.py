"""Rules shared by storing and sending messages: which model and params apply, and
which message a new one goes under."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec

from api.errors import BadRequestError, ConflictError
from api.llm.router import ModelRouter
from api.schemas.params import ChatParams, merge_params
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


def choose_parent(thread: m.Thread, tree: MessageTree, parent_ref: str | None) -> m.Message | None:
    """The message a new one goes under: the head by default, none for ``"root"``, or
    the named message of this thread (400 if it is not one, 409 while it is written)."""
    if parent_ref is None:
        return tree.by_id.get(thread.head_id) if thread.head_id else None
    if parent_ref == "root":
        return None
    try:
        parent_id = UUID(parent_ref)
    except ValueError:
        raise BadRequestError(
            f'parent_id must be a message id or "root", not {parent_ref!r}',
            extra={"field": "parent_id"},
        ) from None
    parent = tree.by_id.get(parent_id)
    if parent is None:
        raise BadRequestError(
            f"parent_id {parent_id} is not a message of thread {thread.id}",
            extra={"field": "parent_id"},
        )
    if parent.status == "in_progress":
        raise ConflictError(f"message {parent_id} is still being generated")
    return parent
