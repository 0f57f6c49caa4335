"""The Litestar application: wiring of controllers, services and lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from litestar import Litestar
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig

from api.deps import AppServices, provide_db_session
from api.errors import exception_handlers
from api.generation.controller import GenerationController
from api.generation.manager import GenerationManager
from api.generation.pipeline import GenerationRunner
from api.llm.router import ModelRouter
from api.messages.controller import MessageController
from api.meta.controller import MetaController
from api.settings import Settings, load_settings
from api.threads.controller import ThreadController
from api.tools.registry import ToolRegistry
from db.engine import create_engine, create_session_factory

logger = logging.getLogger(__name__)


def create_app(database_url: str, settings: Settings | None = None) -> Litestar:
    """Build the app for a migrated database at ``database_url`` (a postgresql:// URL)."""
    config = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(
            database_url,
            pool_size=config.db.playground_db_pool_size,
            echo=config.db.playground_db_echo,
        )
        session_factory = create_session_factory(engine)
        models = ModelRouter(config.models)
        await models.start()
        try:
            async with anyio.create_task_group() as task_group:
                runner = GenerationRunner(session_factory, models, config.generation)
                generations = GenerationManager(runner, task_group)
                app.state.services = AppServices(
                    settings=config,
                    session_factory=session_factory,
                    models=models,
                    tools=ToolRegistry(),
                    generations=generations,
                )
                app.state.engine = engine
                try:
                    yield
                finally:
                    generations.cancel_all("interrupted")
        finally:
            await models.aclose()
            await engine.dispose()

    return Litestar(
        route_handlers=[ThreadController, MessageController, GenerationController, MetaController],
        dependencies={"db_session": Provide(provide_db_session)},
        exception_handlers=exception_handlers,  # type: ignore[arg-type]
        lifespan=[lifespan],
        request_max_body_size=config.generation.playground_max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Playground API",
            version="0.1.0",
            description="Threads, editable message trees and streamed, stored model replies.",
            path="/schema",
        ),
        logging_config=LoggingConfig(
            root={"level": "INFO", "handlers": ["queue_listener"]},
            # One line per model call would drown the log; failures are reported anyway.
            loggers={"httpx2": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
            log_exceptions="always",
        ),
    )
