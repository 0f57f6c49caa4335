"""Dependency providers of the stream endpoints."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from api.generation.manager import GenerationManager
from api.schemas.auth import Principal
from api.streams.service import StreamAccess


def provide_generations(state: State) -> GenerationManager:
    """This process's generation manager."""
    generations: GenerationManager = state.generations
    return generations


def provide_stream_access(
    state: State, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Principal]
) -> StreamAccess:
    """Who may reach a thread's stream, over this request's session."""
    return StreamAccess(db_session, caller, state.settings.access)
