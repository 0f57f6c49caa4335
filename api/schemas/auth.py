"""Who is calling, and the bodies of the key endpoints (``/api/keys``, ``/api/me``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

Role = Literal["member", "admin"]
KeyName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
# Stored as a Postgres integer.
LimitValue = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]
ExpiresInDays = Annotated[int, msgspec.Meta(ge=1, le=3650)]


class Limits(msgspec.Struct, kw_only=True):
    """A principal's quotas; null is unlimited (or, on a key, the service default)."""

    tokens_per_day: int | None = None
    requests_per_minute: int | None = None
    max_concurrent_replies: int | None = None

    def or_defaults(self, defaults: Limits) -> Limits:
        """These limits, each unset one taken from ``defaults``."""
        return Limits(
            tokens_per_day=_first(self.tokens_per_day, defaults.tokens_per_day),
            requests_per_minute=_first(self.requests_per_minute, defaults.requests_per_minute),
            max_concurrent_replies=_first(
                self.max_concurrent_replies, defaults.max_concurrent_replies
            ),
        )

    def any(self) -> bool:
        """Whether any limit applies."""
        return any(getattr(self, name) is not None for name in self.__struct_fields__)


def _first(value: int | None, default: int | None) -> int | None:
    return default if value is None else value


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The caller of a request: whose threads it sees and whose quotas it spends.

    ``key_id`` is the key it authenticated with (None for the local principal, which
    is every caller while auth is off); ``limits`` are its effective quotas.
    """

    id: UUID
    name: str
    role: Role
    key_id: UUID | None
    limits: Limits

    @property
    def is_admin(self) -> bool:
        """Admins see every thread and manage keys."""
        return self.role == "admin"

    @property
    def scope(self) -> UUID | None:
        """The owner whose threads this caller may reach; None for all (admins)."""
        return None if self.is_admin else self.id


class Me(msgspec.Struct, kw_only=True):
    """Answer of ``GET /api/me``: who the key belongs to, and whether keys are needed."""

    principal_id: UUID
    name: str
    role: Role
    key_id: UUID | None
    auth: Literal["off", "required"]
    limits: Limits


class KeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /api/keys``: a key for a new principal, or (``principal_id``) one
    more key for an existing principal, which keeps its role, limits and threads."""

    name: KeyName
    admin: bool = False
    expires_in_days: ExpiresInDays | None = None
    principal_id: UUID | None = None
    tokens_per_day: LimitValue | None = None
    requests_per_minute: LimitValue | None = None
    max_concurrent_replies: LimitValue | None = None


class KeyUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``PATCH /api/keys/{id}``: the quotas of the key's principal; a field
    present with null goes back to the service default."""

    tokens_per_day: LimitValue | msgspec.UnsetType | None = msgspec.UNSET
    requests_per_minute: LimitValue | msgspec.UnsetType | None = msgspec.UNSET
    max_concurrent_replies: LimitValue | msgspec.UnsetType | None = msgspec.UNSET


class KeyInfo(msgspec.Struct, kw_only=True):
    """A key as lists show it: never its secret, only the prefix."""

    id: UUID
    name: str
    prefix: str
    principal_id: UUID
    role: Role
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    # The principal's own limits; null fields follow the service defaults.
    limits: Limits


class KeyCreated(KeyInfo, kw_only=True):
    """Answer of ``POST /api/keys``: the key itself is in ``key``, shown this once."""

    key: str


class KeyList(msgspec.Struct, kw_only=True):
    """Answer of ``GET /api/keys``, newest first."""

    data: list[KeyInfo]


class StreamToken(msgspec.Struct, kw_only=True):
    """Answer of ``POST /api/threads/{id}/stream-token``: pass ``token`` as the
    ``stream_token`` query parameter of that thread's ``/stream``, until ``expires_at``."""

    token: str
    expires_at: datetime
