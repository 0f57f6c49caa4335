"""Each resource's lifespan: what it puts in ``app.state``, and that it cleans up after.

Every lifespan is entered on its own (with the state the earlier ones would have
left), against the test database, and checked from the outside: Postgres's own
``pg_stat_activity``, a request that must fail once a client is closed.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import timedelta

import openai
import pytest
from litestar import Litestar
from litestar.datastructures import State
from sqlalchemy import func, make_url, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from api import lifespans
from api.generation.listener import liveness_name
from api.generation.manager import new_instance_id
from api.settings import OFFLINE_MODEL, load_settings
from db import models as m
from db.engine import drop_database
from tests.fixtures.generations import running_generation


def bare_app(database_url: str) -> Litestar:
    """An app with no routes and only the state ``create_app`` starts with."""
    settings = load_settings({"PLAYGROUND_OFFLINE_CHUNK_DELAY_MS": "0"})
    return Litestar(
        state=State(
            {"settings": settings, "database_url": database_url, "instance_id": new_instance_id()}
        )
    )


async def sessions(engine: AsyncEngine, where: str, value: str) -> int:
    """How many server sessions match ``where`` (a pg_stat_activity condition on :value)."""
    async with engine.connect() as connection:
        count = await connection.scalar(
            text(f"SELECT count(*) FROM pg_stat_activity WHERE {where}"), {"value": value}
        )
    return int(count or 0)


@pytest.fixture
def app(migrated_database_url: str) -> Litestar:
    return bare_app(migrated_database_url)


async def test_database_opens_a_pool_and_disposes_of_it(
    fresh_database_url: str, postgres_server_url: str, db_engine: AsyncEngine
) -> None:
    app = bare_app(fresh_database_url)
    database = make_url(fresh_database_url).database or ""
    async with lifespans.database(app):
        async with app.state.session_factory() as session:
            assert await session.scalar(text("SELECT 1")) == 1
        assert await sessions(db_engine, "datname = :value", database) >= 1
    # Unforced, the drop fails while any session is connected: it proves none is left.
    await drop_database(postgres_server_url, database, force=False)


async def test_models_offers_the_offline_model_and_closes_its_clients(app: Litestar) -> None:
    async with lifespans.models(app):
        router = app.state.models
        assert router.default_model == OFFLINE_MODEL
        assert "calculator" in app.state.tools.names()
        listed = await router.client_for(OFFLINE_MODEL).models.list()
        assert [model.id for model in listed.data] == [OFFLINE_MODEL]
    with pytest.raises((RuntimeError, openai.APIConnectionError)):
        await router.client_for(OFFLINE_MODEL).models.list()


async def test_notifications_listen_while_open(
    fresh_database_url: str, postgres_server_url: str, db_engine: AsyncEngine
) -> None:
    app = bare_app(fresh_database_url)
    database = make_url(fresh_database_url).database or ""
    name = liveness_name(app.state.instance_id)
    async with lifespans.notifications(app):
        assert await sessions(db_engine, "application_name = :value", name) == 1
    # Unforced, the drop fails while any session is connected: it proves none is left.
    await drop_database(postgres_server_url, database, force=False)


async def test_supervisor_reaps_before_serving(app: Litestar, db_engine: AsyncEngine) -> None:
    # A dead process's reply: its last lease renewal is long past.
    dead = await running_generation(db_engine, owner="gone", silent_for=timedelta(hours=1))
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(lifespans.database(app))
        await stack.enter_async_context(lifespans.notifications(app))
        await stack.enter_async_context(lifespans.supervisor(app))
        async with db_engine.connect() as connection:
            status = await connection.scalar(
                select(m.Message.status).where(m.Message.id == dead.reply_id)
            )
            finished = await connection.scalar(
                select(func.count()).where(
                    m.Generation.id == dead.generation_id, m.Generation.status == "finished"
                )
            )
        assert (status, finished) == ("interrupted", 1)


async def test_generations_stop_taking_work_when_closed(app: Litestar) -> None:
    async with AsyncExitStack() as stack:
        for lifespan in (lifespans.database, lifespans.models, lifespans.notifications):
            await stack.enter_async_context(lifespan(app))
        async with lifespans.generations(app):
            manager = app.state.generations
            assert manager.accepting
        assert not manager.accepting
