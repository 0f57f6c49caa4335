"""Meta endpoints: the models and tools on offer, and a health check."""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.datastructures import State
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.http.openapi import errors
from api.llm.router import ModelInfo, ModelRouter
from api.tools.registry import ToolInfo, ToolRegistry


class ModelList(msgspec.Struct, kw_only=True):
    """The models a thread or a request may name, and the default one."""

    data: list[ModelInfo]
    default_model: str


class ToolList(msgspec.Struct, kw_only=True):
    """The server-side tools a thread may enable."""

    data: list[ToolInfo]


class Health(msgspec.Struct, kw_only=True):
    """Liveness of the process and its database."""

    status: str
    database: str


class MetaController(Controller):
    """What this service offers, and whether it is healthy."""

    tags = ["meta"]

    @get("/api/models", operation_id="listModels", responses=errors(400))
    async def list_models(self, state: State) -> ModelList:
        """The models on offer; the offline one needs no API key."""
        models: ModelRouter = state.models
        return ModelList(data=models.models, default_model=models.default_model)

    @get("/api/tools", operation_id="listTools", responses=errors(400))
    async def list_tools(self, state: State) -> ToolList:
        """The server-side tools with their argument schemas."""
        tools: ToolRegistry = state.tools
        return ToolList(data=tools.all())

    @get("/healthz", operation_id="health", responses=errors(400))
    async def health(self, state: State) -> Health:
        """Answers when the process runs and its database answers a query."""
        session_factory: async_sessionmaker[AsyncSession] = state.session_factory
        async with session_factory() as session:
            await session.execute(text("SELECT 1"))
        return Health(status="ok", database="ok")
