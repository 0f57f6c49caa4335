"""The ``principal`` and ``api_key`` tables: every statement that writes them, and the
lookup each authenticated request makes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import NotFoundError
from db import models as m

_WITH_PRINCIPAL = select(m.ApiKey, m.Principal).join(
    m.Principal, m.Principal.id == m.ApiKey.principal_id
)


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A key with its principal."""

    key: m.ApiKey
    principal: m.Principal


class KeyStore:
    """Reads and writes of principals and their keys in the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _one(self, condition: ColumnElement[bool]) -> KeyRow | None:
        row = (
            await self._session.execute(
                _WITH_PRINCIPAL.where(condition).execution_options(populate_existing=True)
            )
        ).first()
        return None if row is None else KeyRow(row[0], row[1])

    async def by_hash(self, secret_hash: str) -> KeyRow | None:
        """The key stored with this hash and its principal, whatever its state."""
        return await self._one(m.ApiKey.secret_hash == secret_hash)

    async def key_row(self, key_id: UUID) -> KeyRow | None:
        """A key and its principal, whatever its state."""
        return await self._one(m.ApiKey.id == key_id)

    async def get(self, key_id: UUID) -> KeyRow:
        """A key and its principal, or a 404."""
        row = await self.key_row(key_id)
        if row is None:
            raise NotFoundError(f"key {key_id} not found")
        return row

    async def all(self) -> list[KeyRow]:
        """Every key, newest first."""
        rows = await self._session.execute(
            _WITH_PRINCIPAL.order_by(m.ApiKey.created_at.desc(), m.ApiKey.id.desc())
        )
        return [KeyRow(key, principal) for key, principal in rows]

    async def principal(self, principal_id: UUID) -> m.Principal | None:
        """A principal by id."""
        return await self._session.get(m.Principal, principal_id)

    async def add_principal(self, name: str, role: str, limits: dict[str, Any]) -> m.Principal:
        """A new principal with these quota overrides."""
        row = m.Principal(id=uuid.uuid4(), name=name, role=role, **limits)
        self._session.add(row)
        await self._session.flush()
        return row

    async def add_key(
        self,
        principal: m.Principal,
        name: str,
        prefix: str,
        secret_hash: str,
        expires_in: timedelta | None,
    ) -> KeyRow:
        """Store a key's hash and prefix (never the key itself)."""
        row = m.ApiKey(
            id=uuid.uuid4(),
            principal_id=principal.id,
            name=name,
            prefix=prefix,
            secret_hash=secret_hash,
            expires_at=None if expires_in is None else func.now() + expires_in,
        )
        self._session.add(row)
        await self._session.flush()
        await self._session.refresh(row)
        return KeyRow(row, principal)

    async def revoke(self, key_id: UUID) -> datetime | None:
        """Mark a key revoked (from now on it authenticates nothing); when it was
        revoked, None if there is no such key. Revoking twice keeps the first time."""
        result = await self._session.execute(
            update(m.ApiKey)
            .where(m.ApiKey.id == key_id)
            .values(revoked_at=func.coalesce(m.ApiKey.revoked_at, func.now()))
            .returning(m.ApiKey.revoked_at)
        )
        return result.scalar_one_or_none()

    async def set_limits(self, principal_id: UUID, limits: dict[str, int | None]) -> None:
        """Change a principal's quota overrides (None: back to the default)."""
        if limits:
            await self._session.execute(
                update(m.Principal).where(m.Principal.id == principal_id).values(limits)
            )
