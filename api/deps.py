"""The one dependency every domain shares: a DB session per request (one unit of work).

Each domain's own providers live beside its controller (``api/<domain>/deps.py``);
the process-wide objects they use are put in ``app.state`` by ``api.lifespans``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def provide_db_session(state: State) -> AsyncIterator[AsyncSession]:
    """A session for one request's unit of work, closed when the handler is done."""
    session_factory: async_sessionmaker[AsyncSession] = state.session_factory
    async with session_factory() as session:
        yield session
