"""Dependency providers of who is calling, and of the key endpoints."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.service import KeyService
from api.schemas.auth import Principal


def provide_caller(request: Request[Any, Any, Any]) -> Principal:
    """The principal the auth middleware found for this request."""
    caller: Principal = request.user
    return caller


def provide_key_service(state: State, db_session: NamedDependency[AsyncSession]) -> KeyService:
    """The key service over this request's session."""
    return KeyService(db_session, state.settings.access)
