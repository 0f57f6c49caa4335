"""Meta endpoints: the models and tools on offer, and a health check."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.errors import UnavailableError
from api.http.openapi import errors
from api.llm.router import ModelInfo, ModelRouter
from api.tools.registry import ToolInfo, ToolRegistry
from db.transient import is_unavailable


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

    @get("/api/models", operation_id="listModels", responses=errors(400, database=False))
    async def list_models(self, state: State) -> ModelList:
        """The models on offer; the offline one needs no API key."""
        models: ModelRouter = state.models
        return ModelList(data=models.models, default_model=models.default_model)

    @get("/api/tools", operation_id="listTools", responses=errors(400, database=False))
    async def list_tools(self, state: State) -> ToolList:
        """The server-side tools with their argument schemas."""
        tools: ToolRegistry = state.tools
        return ToolList(data=tools.all())

    @get(
        "/healthz",
        operation_id="health",
        responses={
            **errors(400, database=False, auth=False),
            503: ResponseSpec(
                data_container=Health,
                description="The database cannot be reached (`Retry-After` says when to ask again)",
                generate_examples=False,
            ),
        },
    )
    async def health(self, state: State) -> Response[Health]:
        """200 when the process runs and its database answers a query; 503 (with
        ``Retry-After``) while the database cannot be reached."""
        session_factory: async_sessionmaker[AsyncSession] = state.session_factory
        try:
            async with session_factory() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            return Response(
                Health(status="unavailable", database="unavailable"),
                status_code=503,
                headers={"Retry-After": str(UnavailableError.retry_after_s)},
            )
        return Response(Health(status="ok", database="ok"))
