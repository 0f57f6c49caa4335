"""Dependency providers of the search endpoint."""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.auth import Principal
from api.search.service import SearchService


def provide_search_service(
    db_session: NamedDependency[AsyncSession], caller: NamedDependency[Principal]
) -> SearchService:
    """The search service of this request's caller, over its session."""
    return SearchService(db_session, caller)
