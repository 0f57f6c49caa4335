"""Opaque cursors for ranked search results (keyset pagination on rank and key)."""

from __future__ import annotations

import base64
import binascii
import math
from uuid import UUID

import msgspec

from api.errors import BadRequestError


class SearchCursor(msgspec.Struct, array_like=True):
    """The sort position of the last result on a page: its rank, then its key (the
    message's id, or the thread's for a title match)."""

    rank: float
    key: UUID


def encode_cursor(cursor: SearchCursor) -> str:
    """Encode ``cursor`` as a URL-safe token (the rank round-trips exactly in JSON)."""
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).decode().rstrip("=")


def decode_cursor(token: str) -> SearchCursor:
    """Decode a token from ``encode_cursor``; anything else is a 400 naming ``cursor``."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cursor = msgspec.json.decode(raw, type=SearchCursor)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise invalid_cursor() from exc
    if not math.isfinite(cursor.rank):
        raise invalid_cursor()
    return cursor


def invalid_cursor() -> BadRequestError:
    """The 400 for a cursor this service did not make."""
    return BadRequestError(
        "invalid cursor: pass back the next_cursor of a previous page of this search",
        extra={"field": "cursor"},
    )
