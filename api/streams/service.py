"""Who may follow or stop a thread's generation, and the stream tokens that let
``EventSource`` (which cannot send headers) follow one, or the caller's thread list."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.secrets import key_hash, sign_events_token, sign_stream_token
from api.schemas.auth import Principal, StreamToken
from api.settings import AccessSettings
from api.stores.keys import KeyStore
from api.stores.threads import ThreadStore


class StreamAccess:
    """Checks that the caller may reach a thread's stream, and issues its tokens."""

    def __init__(self, session: AsyncSession, caller: Principal, settings: AccessSettings) -> None:
        self._session = session
        self._caller = caller
        self._threads = ThreadStore(session, caller.scope)
        self._ttl_s = settings.playground_stream_token_ttl_s

    async def check(self, thread_id: UUID) -> None:
        """404 for a thread that does not exist or is another owner's."""
        await self._threads.check_visible(thread_id)

    async def token(self, thread_id: UUID) -> StreamToken:
        """A token for this thread's ``/stream`` only, signed with the caller's key, so
        revoking the key ends it too. While auth is off (no key) it is signed with a
        value of the principal: it is accepted but not needed then."""
        await self._threads.get(thread_id)
        expires_at = int(time.time()) + self._ttl_s
        key_id, stored_hash = await self._signing_key()
        return StreamToken(
            token=sign_stream_token(key_id, thread_id, expires_at, stored_hash),
            expires_at=datetime.fromtimestamp(expires_at, UTC),
        )

    async def events_token(self) -> StreamToken:
        """A token for the caller's thread-list feed (``GET /api/events``) only, made
        like a thread's."""
        expires_at = int(time.time()) + self._ttl_s
        key_id, stored_hash = await self._signing_key()
        return StreamToken(
            token=sign_events_token(key_id, self._caller.id, expires_at, stored_hash),
            expires_at=datetime.fromtimestamp(expires_at, UTC),
        )

    async def _signing_key(self) -> tuple[UUID, str]:
        key_id = self._caller.key_id
        if key_id is None:
            return self._caller.id, key_hash(self._caller.id.hex)
        return key_id, (await KeyStore(self._session).get(key_id)).key.secret_hash
