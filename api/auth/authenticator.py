"""Turning a request's credentials into a principal: an API key, or a stream token.

One indexed lookup per request and no cache, so a revoked key fails at once on every
process. Every failure is the same kind of 401, whose detail never repeats the key.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.secrets import (
    StreamTokenClaims,
    key_hash,
    parse_stream_token,
    signature_matches,
)
from api.errors import UnauthorizedError
from api.schemas.auth import Limits, Principal
from api.stores.keys import KeyRow, KeyStore
from db import models as m


def to_principal(row: m.Principal, key_id: UUID | None, defaults: Limits) -> Principal:
    """The caller a principal row makes, with its limits over the service defaults."""
    own = Limits(
        tokens_per_day=row.tokens_per_day,
        requests_per_minute=row.requests_per_minute,
        max_concurrent_replies=row.max_concurrent_replies,
    )
    return Principal(
        id=row.id,
        name=row.name,
        role="admin" if row.role == "admin" else "member",
        key_id=key_id,
        limits=own.or_defaults(defaults),
    )


class Authenticator:
    """Checks keys and stream tokens against the ``api_key`` table."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], defaults: Limits) -> None:
        self._session_factory = session_factory
        self._defaults = defaults

    async def by_key(self, key: str) -> Principal:
        """The principal of a valid key; 401 for an unknown, expired or revoked one."""
        async with self._session_factory() as session:
            row = await KeyStore(session).by_hash(key_hash(key))
        if row is None:
            raise UnauthorizedError("the API key is not valid")
        return self._usable(row)

    async def by_authorization(self, header: str) -> Principal:
        """The principal of an ``Authorization: Bearer <key>`` value; 401 for another
        scheme, no key, or a key ``by_key`` refuses."""
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise UnauthorizedError("send the key as `Authorization: Bearer <key>`")
        return await self.by_key(key.strip())

    async def by_stream_token(self, token: str, thread_id: UUID) -> Principal:
        """The principal of a stream token for this thread; 401 when it is malformed,
        expired, for another thread, or its key no longer works."""
        claims = parse_stream_token(token)
        if claims is None or claims.events or claims.thread_id != thread_id:
            raise UnauthorizedError("the stream token is not valid for this thread")
        return await self._signed(claims, "the stream token is not valid for this thread")

    async def by_events_token(self, token: str) -> Principal:
        """The principal of a token for its thread-list feed (``GET /api/events``); 401
        when it is malformed, expired, of another kind, or its key no longer works."""
        claims = parse_stream_token(token)
        invalid = "the stream token is not valid for /api/events"
        if claims is None or not claims.events:
            raise UnauthorizedError(invalid)
        principal = await self._signed(claims, invalid)
        if principal.id != claims.thread_id:
            raise UnauthorizedError(invalid)
        return principal

    async def _signed(self, claims: StreamTokenClaims, invalid: str) -> Principal:
        if claims.expires_at <= time.time():
            raise UnauthorizedError("the stream token has expired; ask for a new one")
        async with self._session_factory() as session:
            row = await KeyStore(session).key_row(claims.key_id)
        if row is None or not signature_matches(claims, row.key.secret_hash):
            raise UnauthorizedError(invalid)
        return self._usable(row)

    def _usable(self, row: KeyRow) -> Principal:
        if row.key.revoked_at is not None:
            raise UnauthorizedError("the API key was revoked")
        if row.key.expires_at is not None and row.key.expires_at <= datetime.now(UTC):
            raise UnauthorizedError("the API key has expired")
        return to_principal(row.principal, row.key.id, self._defaults)
