"""Managing API keys, for admins over HTTP and for ``playground keys`` on the server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.secrets import key_hash, key_prefix, new_key
from api.errors import BadRequestError
from api.schemas.auth import KeyCreate, KeyCreated, KeyInfo, KeyList, KeyUpdate, Limits
from api.settings import AccessSettings
from api.stores.keys import KeyRow, KeyStore
from api.validation import check_no_nul

LIMIT_FIELDS = ("tokens_per_day", "requests_per_minute", "max_concurrent_replies")


def to_key_info(row: KeyRow) -> KeyInfo:
    """The client view of a key: its prefix, never its secret or hash."""
    principal = row.principal
    return KeyInfo(
        id=row.key.id,
        name=row.key.name,
        prefix=row.key.prefix,
        principal_id=principal.id,
        role="admin" if principal.role == "admin" else "member",
        created_at=row.key.created_at,
        expires_at=row.key.expires_at,
        revoked_at=row.key.revoked_at,
        limits=Limits(**{name: getattr(principal, name) for name in LIMIT_FIELDS}),
    )


def default_limits(settings: AccessSettings) -> Limits:
    """The quotas of a principal without its own."""
    return Limits(
        tokens_per_day=settings.playground_tokens_per_day,
        requests_per_minute=settings.playground_requests_per_minute,
        max_concurrent_replies=settings.playground_max_concurrent_replies,
    )


class KeyService:
    """Create, list, revoke keys and set their principal's quotas, in one session."""

    def __init__(self, session: AsyncSession, settings: AccessSettings) -> None:
        self._session = session
        self._keys = KeyStore(session)
        self._settings = settings

    async def create(self, data: KeyCreate) -> KeyCreated:
        """A new key (for a new principal, or one more for ``principal_id``); the key
        itself is in the answer and nowhere else."""
        check_no_nul(data)
        limits = {name: getattr(data, name) for name in LIMIT_FIELDS}
        if data.principal_id is None:
            principal = await self._keys.add_principal(
                data.name, "admin" if data.admin else "member", limits
            )
        else:
            given = [name for name in ("admin", *LIMIT_FIELDS) if getattr(data, name)]
            if given:
                raise BadRequestError(
                    f"{given[0]}: a key for an existing principal has that principal's role "
                    "and limits (change limits with PATCH /api/keys/{id})",
                    extra={"field": given[0]},
                )
            found = await self._keys.principal(data.principal_id)
            if found is None:
                raise BadRequestError(
                    f"principal_id: no principal {data.principal_id}",
                    extra={"field": "principal_id"},
                )
            principal = found
        key = new_key()
        expires_in = None if data.expires_in_days is None else timedelta(days=data.expires_in_days)
        row = await self._keys.add_key(
            principal, data.name, key_prefix(key), key_hash(key), expires_in
        )
        await self._session.commit()
        return KeyCreated(**msgspec.structs.asdict(to_key_info(row)), key=key)

    async def list(self) -> KeyList:
        """Every key, newest first (revoked and expired ones too, marked as such)."""
        return KeyList(data=[to_key_info(row) for row in await self._keys.all()])

    async def revoke(self, key_id: UUID) -> KeyInfo:
        """Revoke a key: it authenticates nothing from now on, on any process."""
        await self._keys.get(key_id)
        await self._keys.revoke(key_id)
        await self._session.commit()
        return to_key_info(await self._keys.get(key_id))

    async def update(self, key_id: UUID, data: KeyUpdate) -> KeyInfo:
        """Set the quotas of the key's principal (all its keys share them)."""
        row = await self._keys.get(key_id)
        changes: dict[str, Any] = {
            name: getattr(data, name)
            for name in LIMIT_FIELDS
            if getattr(data, name) is not msgspec.UNSET
        }
        await self._keys.set_limits(row.principal.id, changes)
        await self._session.commit()
        return to_key_info(await self._keys.get(key_id))
