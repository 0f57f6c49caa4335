"""Opaque cursors for listing threads by activity (keyset pagination)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from uuid import UUID

import msgspec

from api.errors import BadRequestError


class ThreadCursor(msgspec.Struct, array_like=True):
    """The sort key of the last thread on a page."""

    last_activity_at: datetime
    id: UUID


def encode_cursor(cursor: ThreadCursor) -> str:
    """Encode ``cursor`` as a URL-safe token."""
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).decode().rstrip("=")


def decode_cursor(token: str) -> ThreadCursor:
    """Decode a token from ``encode_cursor``; anything else is a 400 naming ``cursor``."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return msgspec.json.decode(raw, type=ThreadCursor)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise BadRequestError(
            "invalid cursor: pass back the next_cursor of a previous page",
            extra={"field": "cursor"},
        ) from exc
