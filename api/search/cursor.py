"""Opaque cursors for ranked search results (keyset pagination on rank and key)."""

from __future__ import annotations

import math
from uuid import UUID

import msgspec

from api import cursors
from api.errors import BadRequestError


class SearchCursor(msgspec.Struct, array_like=True):
    """The sort position of the last result on a page: its rank, then its key (the
    message's id, or the thread's for a title match)."""

    rank: float
    key: UUID


encode_cursor = cursors.encode_cursor


def decode_cursor(token: str) -> SearchCursor:
    """Decode a token from ``encode_cursor``; anything else (a rank that is not a
    finite number included) is a 400 naming ``cursor``."""
    cursor = cursors.decode_cursor(token, SearchCursor)
    if not math.isfinite(cursor.rank):
        raise BadRequestError(
            "invalid cursor: pass back the next_cursor of a previous page",
            extra={"field": "cursor"},
        )
    return cursor
