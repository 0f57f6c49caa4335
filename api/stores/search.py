"""Full-text search over thread titles and message text: read-only queries.

Both matches use the very expressions the GIN indexes are built on
(``to_tsvector('english', content)`` for ``ix_message_content_fts``,
``to_tsvector('english', title)`` for ``ix_thread_title_fts``), with the configuration
as a constant, or Postgres cannot use the indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.search import MARKERS, MATCH_START, MATCH_STOP, SearchRole

# Ranked with length normalization 1 (divided by 1 + the log of the text's length), so
# a long reply does not outrank a short message by size alone; a title's words weigh
# as 'A' (a message's as the default 'D'), so a title match ranks above a message
# holding the same words. Ties go by id, which makes (rank, key) a total order: the
# keyset a cursor resumes after. Matches are sorted without their text; the page's rows
# alone read it back for ``ts_headline``.
_SEARCH = """
WITH q AS (SELECT websearch_to_tsquery('english', :query) AS query),
hits AS (
    SELECT m.thread_id, t.title AS thread_title, m.id AS message_id, m.role, m.id AS key,
           ts_rank(to_tsvector('english', m.content), q.query, 1)::float8 AS rank
    FROM q, message AS m JOIN thread AS t ON t.id = m.thread_id
    WHERE to_tsvector('english', m.content) @@ q.query
      AND m.role IN ('system', 'user', 'assistant') {owned}
    UNION ALL
    SELECT t.id, t.title, NULL, NULL, t.id,
           ts_rank(setweight(to_tsvector('english', t.title), 'A'), q.query, 1)::float8
    FROM q, thread AS t
    WHERE to_tsvector('english', t.title) @@ q.query {owned}
),
page AS (
    SELECT * FROM hits {after} ORDER BY rank DESC, key DESC LIMIT :limit
)
SELECT page.thread_id, page.thread_title, page.message_id, page.role, page.rank, page.key,
       ts_headline('english', translate(b.body, :markers, ''), q.query,
                   CASE WHEN length(b.body) <= :whole_chars THEN :whole_options
                        ELSE :fragment_options END) AS snippet
FROM page
CROSS JOIN q
LEFT JOIN message AS m ON m.id = page.message_id
CROSS JOIN LATERAL (SELECT coalesce(m.content, page.thread_title) AS body) AS b
ORDER BY page.rank DESC, page.key DESC
"""
_HIGHLIGHT = f"StartSel={MATCH_START}, StopSel={MATCH_STOP}"
# A title, or a message this short, is its own snippet; a longer message shows up to
# two fragments around the matches.
_WHOLE_CHARS = 200
_WHOLE_OPTIONS = f"{_HIGHLIGHT}, HighlightAll=true"
_FRAGMENT_OPTIONS = (
    f'{_HIGHLIGHT}, MaxWords=24, MinWords=8, MaxFragments=2, FragmentDelimiter=" … "'
)


@dataclass(frozen=True)
class SearchHit:
    """One match: a message (``message_id`` set) or a thread's title (``message_id``
    None), its rank and key (its sort position), and its snippet as ``ts_headline``
    marked it."""

    thread_id: UUID
    thread_title: str | None
    message_id: UUID | None
    role: SearchRole | None
    rank: float
    key: UUID
    snippet: str


def search_statement(
    scope: list[UUID],
    query: str,
    limit: int,
    after: tuple[float, UUID] | None = None,
) -> tuple[TextClause, dict[str, object]]:
    """The search query and its parameters: matches of the ``websearch_to_tsquery``
    ``query`` in the threads of every owner in ``scope`` (every thread when empty),
    best first, after the (rank, key) position."""
    params: dict[str, object] = {
        "query": query,
        "limit": limit,
        "markers": MARKERS,
        "whole_chars": _WHOLE_CHARS,
        "whole_options": _WHOLE_OPTIONS,
        "fragment_options": _FRAGMENT_OPTIONS,
    }
    for index, owner in enumerate(scope):
        params[f"owner_{index}"] = owner
    owned = "".join(f" AND t.owner_id = :owner_{index}" for index in range(len(scope)))
    resume = ""
    if after is not None:
        params["after_rank"], params["after_key"] = after
        resume = "WHERE (rank, key) < (CAST(:after_rank AS float8), CAST(:after_key AS uuid))"
    return text(_SEARCH.format(owned=owned, after=resume)), params


class SearchStore:
    """Searches in the caller's scope: a member's own threads, or every thread."""

    def __init__(self, session: AsyncSession, scope: UUID | None = None) -> None:
        self._session = session
        self._scope = scope

    async def search(
        self,
        query: str,
        limit: int,
        after: tuple[float, UUID] | None = None,
        owner: UUID | None = None,
    ) -> list[SearchHit]:
        """Up to ``limit`` matches of the ``websearch_to_tsquery`` ``query``, best first,
        after the (rank, key) position; only ``owner``'s threads when given."""
        scope = [value for value in (self._scope, owner) if value is not None]
        statement, params = search_statement(scope, query, limit, after)
        rows = await self._session.execute(statement, params)
        return [SearchHit(*row) for row in rows]
