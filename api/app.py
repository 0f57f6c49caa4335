"""The Litestar application: its controllers, resources (``api.lifespans``) and settings."""

from __future__ import annotations

import os

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from api.auth.controller import KeyController, MeController
from api.auth.deps import provide_caller
from api.auth.guards import require_admin
from api.auth.middleware import auth_middleware
from api.chat.controller import ChatController
from api.deps import provide_db_session
from api.errors import exception_handlers
from api.feeds.controller import FeedController
from api.generation.manager import new_instance_id
from api.graphql.controller import GraphQLController
from api.http.cors import cors_config
from api.http.logging import logging_config
from api.http.metrics import http_metrics, metrics_handler
from api.http.openapi import MsgspecRulesSchemaPlugin
from api.http.options import answer_options
from api.http.query import reject_undeclared_query
from api.http.request_id import send_request_id
from api.lifespans import LIFESPANS
from api.messages.controller import MessageController
from api.meta.controller import MetaController
from api.prompts.controller import PromptController
from api.search.controller import SearchController
from api.settings import Settings, load_settings
from api.streams.controller import GenerationController
from api.threads.controller import ThreadController
from api.transfer.controller import ExportController, ThreadExportController
from api.web.controller import web_router
from api.web.openapi import docs_plugins, docs_router

# What ``playground serve --workers N`` hands its workers, which build the app by import
# string (``APP_FACTORY``) in fresh processes: the database it resolved (and migrated),
# and the host it serves on. Set by serve, not settings a person sets.
APP_FACTORY = "api.app:app_from_environment"
WORKER_DATABASE_URL = "PLAYGROUND_WORKER_DATABASE_URL"
WORKER_HOST = "PLAYGROUND_WORKER_HOST"


def create_app(
    database_url: str, settings: Settings | None = None, *, host: str = "127.0.0.1"
) -> Litestar:
    """Build the app for a migrated database at ``database_url`` (a postgresql:// URL),
    to be served on ``host`` (which decides whether ``PLAYGROUND_AUTH=auto`` needs keys)."""
    config = settings or load_settings()
    return Litestar(
        route_handlers=[
            ThreadController,
            ThreadExportController,
            ExportController,
            MessageController,
            GenerationController,
            ChatController,
            SearchController,
            FeedController,
            PromptController,
            MetaController,
            KeyController,
            MeController,
            GraphQLController,
            web_router,
            metrics_handler(guards=[require_admin]),
        ],
        dependencies={
            "db_session": Provide(provide_db_session),
            "caller": Provide(provide_caller, sync_to_thread=False),
        },
        # Outermost first: requests refused by auth are counted too.
        middleware=[http_metrics(), auth_middleware()],
        exception_handlers=exception_handlers,  # type: ignore[arg-type]
        guards=[reject_undeclared_query],
        before_request=answer_options,
        plugins=[MsgspecRulesSchemaPlugin()],
        lifespan=LIFESPANS,
        state=State(
            {
                "settings": config,
                "database_url": database_url,
                "instance_id": new_instance_id(),
                "auth_required": config.access.auth_required(host),
            }
        ),
        request_max_body_size=config.generation.playground_max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Playground API",
            version="0.1.0",
            description="Threads, editable message trees and streamed, stored model replies.",
            render_plugins=docs_plugins(),
            openapi_router=docs_router(),
        ),
        logging_config=logging_config(),
        before_send=[send_request_id],
        cors_config=cors_config(config.access),
    )


def app_from_environment() -> Litestar:
    """The app of one worker of ``playground serve --workers N``, built by uvicorn in
    each worker process from what serve put in the environment (``WORKER_DATABASE_URL``,
    ``WORKER_HOST``) and the settings; the same app ``create_app`` builds for one process."""
    try:
        database_url, host = os.environ[WORKER_DATABASE_URL], os.environ[WORKER_HOST]
    except KeyError as exc:
        raise RuntimeError(
            f"{exc.args[0]} is unset: {APP_FACTORY} builds the workers of "
            "`playground serve --workers N`, which sets it"
        ) from None
    return create_app(database_url, load_settings(), host=host)
