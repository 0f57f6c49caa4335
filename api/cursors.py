"""Opaque page cursors: the sort key of a page's last item (a msgspec Struct) as a
URL-safe token, and back. Keyset pagination resumes after that key."""

from __future__ import annotations

import base64
import binascii
from typing import TypeVar

import msgspec

from api.errors import BadRequestError

Position = TypeVar("Position", bound=msgspec.Struct)


def encode_cursor(position: msgspec.Struct) -> str:
    """Encode ``position`` as a URL-safe token (floats round-trip exactly in JSON)."""
    return base64.urlsafe_b64encode(msgspec.json.encode(position)).decode().rstrip("=")


def decode_cursor(token: str, kind: type[Position]) -> Position:
    """Decode a token from ``encode_cursor`` into ``kind``; anything else is a 400
    naming ``cursor``."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return msgspec.json.decode(raw, type=kind)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise BadRequestError(
            "invalid cursor: pass back the next_cursor of a previous page",
            extra={"field": "cursor"},
        ) from exc
