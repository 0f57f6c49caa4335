"""``Idempotency-Key``: a retry of a send or regenerate follows the first request's
generation instead of starting another (README "Durable replies: resume, cancel, one
at a time")."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import msgspec

from api.errors import BadRequestError, UnprocessableError

KEY_MAX_CHARS = 200


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """An ``Idempotency-Key`` and a digest of the request it was sent with."""

    key: str
    digest: str

    @classmethod
    def of(cls, key: str | None, target: str, body: msgspec.Struct) -> IdempotentRequest | None:
        """The request's key and digest, or None without a key."""
        if not key:
            return None
        if len(key) > KEY_MAX_CHARS:
            raise BadRequestError(
                f"Idempotency-Key is longer than {KEY_MAX_CHARS} characters",
                extra={"field": "Idempotency-Key"},
            )
        digest = hashlib.sha256(target.encode() + b"\n" + msgspec.json.encode(body)).hexdigest()
        return cls(key=key, digest=digest)

    def reused(self) -> UnprocessableError:
        """The 422 for this key when an earlier request used it with another body."""
        return UnprocessableError(
            f"Idempotency-Key {self.key!r} was used with a different request; "
            "use a new key for a new request",
            extra={"field": "Idempotency-Key"},
        )
