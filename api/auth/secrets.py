"""API key secrets and stream tokens: how they are made, stored and checked.

A key is ``pgk_`` and 43 URL-safe characters of ``secrets.token_urlsafe(32)`` (256 random
bits): a SHA-256 of it is enough to store, and a lookup by that hash is exact. The
first 12 characters are kept as its prefix, to tell keys apart in lists and logs.

A stream token lets ``EventSource`` (which cannot send headers) follow one thread's
stream: ``st_<key id>.<thread id>.<expiry>.<signature>``, an HMAC-SHA256 keyed with the
key's stored hash. Any process can check it from the key's row, so revoking the key
ends its tokens at once, and the key itself never appears in a URL. A token for the
caller's thread-list feed (``GET /api/events``) is made the same way, bound to the
principal instead of a thread: ``se_<key id>.<principal id>.<expiry>.<signature>``, its
signed text starting with ``events.`` so that neither kind passes for the other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from uuid import UUID

KEY_PREFIX = "pgk_"
SHOWN_PREFIX_CHARS = 12
STREAM_TOKEN_PREFIX = "st_"
EVENTS_TOKEN_PREFIX = "se_"


def new_key() -> str:
    """A fresh secret key, shown once to whoever created it."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    """What is stored of a key: its SHA-256, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str:
    """The start of a key, safe to show: it identifies a key without revealing it."""
    return key[:SHOWN_PREFIX_CHARS]


@dataclass(frozen=True, slots=True)
class StreamTokenClaims:
    """What a stream token says: which key issued it, for which thread (or, for the
    thread-list feed, ``events``, which principal), until when."""

    key_id: UUID
    thread_id: UUID
    expires_at: int
    signature: str
    events: bool = False

    def payload(self) -> str:
        """The signed part."""
        signed = f"{self.key_id.hex}.{self.thread_id.hex}.{self.expires_at}"
        return f"events.{signed}" if self.events else signed


def sign_stream_token(key_id: UUID, thread_id: UUID, expires_at: int, stored_hash: str) -> str:
    """A token for ``thread_id``'s stream, valid until ``expires_at`` (Unix seconds)."""
    claims = StreamTokenClaims(key_id, thread_id, expires_at, "")
    return f"{STREAM_TOKEN_PREFIX}{claims.payload()}.{_signature(claims, stored_hash)}"


def sign_events_token(key_id: UUID, principal_id: UUID, expires_at: int, stored_hash: str) -> str:
    """A token for ``principal_id``'s thread-list feed, valid until ``expires_at``."""
    claims = StreamTokenClaims(key_id, principal_id, expires_at, "", events=True)
    signed = claims.payload().removeprefix("events.")
    return f"{EVENTS_TOKEN_PREFIX}{signed}.{_signature(claims, stored_hash)}"


def parse_stream_token(token: str) -> StreamTokenClaims | None:
    """The claims of a well-formed token of either kind (not yet verified), else None."""
    events = token.startswith(EVENTS_TOKEN_PREFIX)
    if not events and not token.startswith(STREAM_TOKEN_PREFIX):
        return None
    parts = token[len(STREAM_TOKEN_PREFIX) :].split(".")
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    try:
        return StreamTokenClaims(
            UUID(hex=parts[0]), UUID(hex=parts[1]), int(parts[2]), parts[3], events
        )
    except ValueError:
        return None


def signature_matches(claims: StreamTokenClaims, stored_hash: str) -> bool:
    """Whether the token was signed with the key whose stored hash is ``stored_hash``."""
    return hmac.compare_digest(claims.signature, _signature(claims, stored_hash))


def _signature(claims: StreamTokenClaims, stored_hash: str) -> str:
    return hmac.new(
        bytes.fromhex(stored_hash), claims.payload().encode(), hashlib.sha256
    ).hexdigest()
