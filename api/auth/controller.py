"""HTTP endpoints for who is calling (``/api/me``) and, for admins, API keys
(``/api/keys``)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from api.auth.deps import provide_key_service
from api.auth.guards import require_admin
from api.auth.service import KeyService
from api.http.openapi import errors
from api.schemas.auth import KeyCreate, KeyCreated, KeyInfo, KeyList, KeyUpdate, Me, Principal


class KeyController(Controller):
    """Create, list, revoke API keys and set their quotas: admins only."""

    path = "/api/keys"
    tags = ["keys"]
    guards = [require_admin]
    dependencies = {"keys": Provide(provide_key_service, sync_to_thread=False)}

    @post("/", operation_id="createKey", status_code=201, responses=errors(400, 403, 413))
    async def create_key(
        self, keys: NamedDependency[KeyService], data: JSONBody[KeyCreate]
    ) -> KeyCreated:
        """Create a key; the answer's ``key`` is the only time it is shown (only its hash
        is stored)."""
        return await keys.create(data)

    @get("/", operation_id="listKeys", responses=errors(400, 403))
    async def list_keys(self, keys: NamedDependency[KeyService]) -> KeyList:
        """Every key with its prefix, principal, role, state and limits (never the key)."""
        return await keys.list()

    @patch("/{key_id:uuid}", operation_id="updateKey", responses=errors(400, 403, 404, 413))
    async def update_key(
        self, keys: NamedDependency[KeyService], key_id: FromPath[UUID], data: JSONBody[KeyUpdate]
    ) -> KeyInfo:
        """Set the quotas of the key's principal (null: back to the service default)."""
        return await keys.update(key_id, data)

    @delete(
        "/{key_id:uuid}", operation_id="revokeKey", status_code=204, responses=errors(400, 403, 404)
    )
    async def revoke_key(self, keys: NamedDependency[KeyService], key_id: FromPath[UUID]) -> None:
        """Revoke a key: it fails at once, on every process. The principal's threads stay."""
        await keys.revoke(key_id)


class MeController(Controller):
    """Who the caller is."""

    path = "/api/me"
    tags = ["keys"]

    @get("/", operation_id="getMe", responses=errors(400, database=False))
    async def me(self, request: Request[Principal, None, State]) -> Me:
        """The caller's principal and limits, and whether this server requires keys
        (``auth``); a front-end asks this first to know whether to ask for a key."""
        caller = request.user
        return Me(
            principal_id=caller.id,
            name=caller.name,
            role=caller.role,
            key_id=caller.key_id,
            auth="required" if request.app.state.auth_required else "off",
            limits=caller.limits,
        )
