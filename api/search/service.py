"""Search: the caller's threads and messages matching a query, ranked, a page at a time."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import BadRequestError, ForbiddenError
from api.schemas.auth import Principal
from api.schemas.search import SearchPage, SearchResult, snippet_parts
from api.search.cursor import SearchCursor, decode_cursor, encode_cursor
from api.stores.search import SearchHit, SearchStore


class SearchService:
    """Searches of one caller: a member's own threads, an admin's every thread (or
    ``owner``'s), as ``GET /api/threads`` lists them."""

    def __init__(self, session: AsyncSession, caller: Principal) -> None:
        self._caller = caller
        self._store = SearchStore(session, caller.scope)

    async def search(
        self, query: str, limit: int, cursor: str | None, owner: UUID | None = None
    ) -> SearchPage:
        """A page of matches for ``query`` (web search syntax), best first."""
        if not query.strip():
            raise BadRequestError("q must not be empty", extra={"field": "q"})
        if "\x00" in query:
            raise BadRequestError(
                "q must not contain the NUL character (\\u0000)", extra={"field": "q"}
            )
        if owner is not None and owner != self._caller.id and not self._caller.is_admin:
            raise ForbiddenError(
                "only an admin searches the threads of another principal",
                extra={"field": "owner"},
            )
        after = decode_cursor(cursor) if cursor else None
        hits = await self._store.search(
            query, limit + 1, (after.rank, after.key) if after else None, owner
        )
        next_cursor = None
        if len(hits) > limit:
            hits = hits[:limit]
            next_cursor = encode_cursor(SearchCursor(hits[-1].rank, hits[-1].key))
        return SearchPage(data=[_result(hit) for hit in hits], next_cursor=next_cursor)


def _result(hit: SearchHit) -> SearchResult:
    return SearchResult(
        thread_id=hit.thread_id,
        thread_title=hit.thread_title,
        message_id=hit.message_id,
        role=hit.role,
        snippet=snippet_parts(hit.snippet),
    )
