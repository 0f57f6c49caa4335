"""HTTP endpoint for searching threads and messages (``/api/search``)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, Parameter

from api.http.openapi import errors
from api.http.paging import OwnerFilter, PageCursor, owner_filter, page_limit
from api.schemas.search import SearchPage
from api.search.deps import provide_search_service
from api.search.service import SearchService

Query = Annotated[
    str,
    Parameter(
        max_length=500,
        description='Words to find, in web search syntax: "quoted phrases", `or`, `-word`.',
    ),
]
PageLimit = Annotated[int, page_limit("Results")]


class SearchController(Controller):
    """Full-text search over the caller's threads: titles and message text."""

    path = "/api/search"
    tags = ["search"]
    dependencies = {"search": Provide(provide_search_service, sync_to_thread=False)}

    @get("/", operation_id="searchThreads", responses=errors(400, 403))
    async def search_threads(
        self,
        search: NamedDependency[SearchService],
        # Optional here so that a missing q gets the same 400 naming it as a blank one.
        q: FromQuery[Query] = "",
        limit: FromQuery[PageLimit] = 20,
        cursor: FromQuery[PageCursor] = "",
        owner: FromQuery[OwnerFilter] = "",
    ) -> SearchPage:
        """Messages and thread titles matching ``q``, best ranked first, a page at a time,
        each with a snippet whose matched words are marked."""
        return await search.search(q, limit, cursor, owner_filter(owner))
