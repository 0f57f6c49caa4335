"""Turn thread rows into the bodies clients see."""

from __future__ import annotations

import msgspec

from api.schemas import ChatParams
from api.threads.schemas import Thread
from api.tools.client import ClientFunction
from db import models as m


def to_thread(row: m.Thread) -> Thread:
    """Build the client view of a thread row."""
    return Thread(
        id=row.id,
        title=row.title,
        system_prompt=row.system_prompt,
        default_system_prompt=row.default_system_prompt,
        model=row.model,
        params=msgspec.convert(row.params, ChatParams),
        tools=msgspec.convert(row.tools, list[str | ClientFunction]),
        metadata=row.metadata_,
        head_id=row.head_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_activity_at=row.last_activity_at,
    )
