"""The Litestar application: wiring of controllers, services and lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import anyio
from litestar import Litestar
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig

from api.deps import AppServices, provide_db_session
from api.errors import exception_handlers
from api.generation.controller import GenerationController
from api.generation.listener import Notifications
from api.generation.manager import GenerationManager, new_instance_id
from api.generation.pipeline import GenerationRunner
from api.generation.store import EventStore
from api.generation.supervisor import Supervisor
from api.llm.router import ModelRouter
from api.messages.controller import MessageController
from api.meta.controller import MetaController
from api.settings import Settings, load_settings
from api.threads.controller import ThreadController
from api.tools.registry import default_registry
from api.web.controller import web_router
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
        tools = default_registry()
        instance_id = new_instance_id()
        generation_settings = config.generation
        store = EventStore(engine, generation_settings.playground_event_flush_ms / 1000)
        generations: GenerationManager | None = None

        def cancel_local(generation_id: UUID, reason: str = "cancelled") -> None:
            if generations is not None:
                generations.cancel_local(generation_id, reason)

        def share_local(generation_id: UUID) -> None:
            if generations is not None:
                generations.share_local(generation_id)

        notifications = Notifications(
            database_url, instance_id, on_cancel=cancel_local, on_follow=share_local
        )
        await notifications.connect()
        supervisor = Supervisor(
            session_factory,
            instance_id,
            generation_settings,
            cancel_local,
            keep_alive=notifications.connect,
        )
        # Replies left running by a process that died are settled before we serve.
        await supervisor.reap()
        try:
            async with anyio.create_task_group() as task_group:
                generations = GenerationManager(
                    instance_id=instance_id,
                    runner=GenerationRunner(
                        engine, session_factory, models, tools, generation_settings
                    ),
                    task_group=task_group,
                    session_factory=session_factory,
                    store=store,
                    notifications=notifications,
                )
                task_group.start_soon(store.run, name="generation event writer")
                task_group.start_soon(supervisor.run, name="generation supervisor")
                app.state.services = AppServices(
                    settings=config,
                    session_factory=session_factory,
                    models=models,
                    tools=tools,
                    generations=generations,
                )
                app.state.engine = engine
                try:
                    yield
                finally:
                    with anyio.CancelScope(shield=True):
                        await generations.drain(generation_settings.playground_shutdown_grace_s)
                        await store.flush()
                    task_group.cancel_scope.cancel()
        finally:
            await notifications.close()
            await models.aclose()
            await engine.dispose()

    return Litestar(
        route_handlers=[
            ThreadController,
            MessageController,
            GenerationController,
            MetaController,
            web_router,
        ],
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
