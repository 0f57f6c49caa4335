"""Dependency providers of the feed endpoints."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from api.feeds.service import FeedService
from api.schemas.auth import Principal


def provide_feeds(
    state: State, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Principal]
) -> FeedService:
    """The caller's feeds: checked over this request's session, then read on their own."""
    return FeedService(db_session, state.session_factory, state.feeds, caller)
