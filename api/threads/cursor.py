"""Opaque cursors for listing threads by activity (keyset pagination)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from api import cursors


class ThreadCursor(msgspec.Struct, array_like=True):
    """The sort key of the last thread on a page."""

    last_activity_at: datetime
    id: UUID


encode_cursor = cursors.encode_cursor


def decode_cursor(token: str) -> ThreadCursor:
    """Decode a token from ``encode_cursor``; anything else is a 400 naming ``cursor``."""
    return cursors.decode_cursor(token, ThreadCursor)
