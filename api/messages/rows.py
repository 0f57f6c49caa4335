"""New message rows, built the same way by sends, tool rounds and client tool outputs."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from db import models as m


def new_message(
    thread_id: UUID, parent_id: UUID | None, role: str, content: str, **columns: Any
) -> m.Message:
    """A new message row (a fresh id, ``completed``, unless ``columns`` say otherwise)."""
    columns.setdefault("status", "completed")
    columns.setdefault("id", uuid.uuid4())
    return m.Message(
        thread_id=thread_id,
        parent_id=parent_id,
        role=role,
        content=content,
        **columns,
    )
