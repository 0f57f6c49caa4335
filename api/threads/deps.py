"""Dependency providers of the thread endpoints."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from api.threads.service import ThreadService


def provide_thread_service(
    state: State, db_session: NamedDependency[AsyncSession]
) -> ThreadService:
    """The thread service over this request's session."""
    return ThreadService(db_session, state.models, state.tools, state.generations)
