"""DataLoaders: the message trees of all threads an operation touches, read in one
query per batch, so listing threads with their branches and siblings costs a constant
number of SQL statements."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from api.stores.messages import MessageStore
from api.stores.tree import MessageTree


class Loaders:
    """The loaders of one operation; each batch reads in a session of its own."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory
        self.trees: DataLoader[UUID, MessageTree] = DataLoader(load_fn=self._load_trees)

    async def _load_trees(self, thread_ids: Sequence[UUID]) -> list[MessageTree]:
        async with self._session_factory() as session:
            trees = await MessageStore(session).trees(list(thread_ids))
        return [trees[thread_id] for thread_id in thread_ids]
