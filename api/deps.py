"""Dependency providers: one DB session per request, and the services built on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.generation.manager import GenerationManager
from api.llm.router import ModelRouter
from api.messages.service import MessageService
from api.settings import Settings
from api.threads.service import ThreadService
from api.tools.registry import ToolRegistry


@dataclass(frozen=True, slots=True)
class AppServices:
    """Process-wide objects, created at start-up and kept in ``app.state.services``."""

    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    models: ModelRouter
    tools: ToolRegistry
    generations: GenerationManager


def services_of(state: State) -> AppServices:
    """The ``AppServices`` of the running app."""
    services: AppServices = state.services
    return services


async def provide_db_session(state: State) -> AsyncIterator[AsyncSession]:
    """A session for one request's unit of work, closed when the handler is done."""
    async with services_of(state).session_factory() as session:
        yield session


def provide_thread_service(
    state: State, db_session: NamedDependency[AsyncSession]
) -> ThreadService:
    """The thread service over this request's session."""
    services = services_of(state)
    return ThreadService(db_session, services.models, services.tools, services.generations)


def provide_message_service(
    state: State, db_session: NamedDependency[AsyncSession]
) -> MessageService:
    """The message service over this request's session."""
    services = services_of(state)
    return MessageService(
        db_session, services.models, services.generations, services.settings.generation
    )


def provide_generations(state: State) -> GenerationManager:
    """This process's generation manager."""
    return services_of(state).generations
