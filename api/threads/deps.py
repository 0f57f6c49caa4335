"""Dependency providers of the thread endpoints."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.auth import Principal
from api.threads.service import ThreadService


def provide_thread_service(
    state: State, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Principal]
) -> ThreadService:
    """The thread service of this request's caller, over its session."""
    return ThreadService(db_session, state.models, state.tools, state.generations, caller)
