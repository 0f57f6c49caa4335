"""``search_threads``: Postgres full-text search over the messages of the owner's threads.

It lets the model recall earlier conversations ("what did we decide about X last
week?"). The search covers every thread of the calling thread's owner (and no one
else's: on a shared server one person's model must not quote another's), the calling
one included (its older turns are
memory too), and only user, assistant and system text: tool rows hold JSON results,
earlier searches among them, which would only echo back. Also left out: replies still
being written, and the question being answered (``ToolContext.request_message_id``),
which would always match itself. The match expression is the
one the GIN index ``ix_message_content_fts`` is built on, so the index serves it.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from sqlalchemy import text

from api.tools.base import Tool, ToolContext

# ``to_tsvector('english', content)`` must stay the index's expression (db/models.py,
# migration 0002), with the configuration as a constant, or Postgres cannot use the index.
_SEARCH = text(
    """
    SELECT m.thread_id, t.title, m.id AS message_id, m.role,
           ts_headline('english', m.content, q.query,
                       'MaxWords=24, MinWords=8, MaxFragments=2, StartSel=**, StopSel=**')
               AS snippet
    FROM websearch_to_tsquery('english', :query) AS q(query),
         message AS m
         JOIN thread AS t ON t.id = m.thread_id
    WHERE to_tsvector('english', m.content) @@ q.query
      AND t.owner_id = :owner
      AND m.role IN ('user', 'assistant', 'system')
      AND m.status <> 'in_progress'
      AND m.id IS DISTINCT FROM CAST(:exclude AS uuid)
    ORDER BY ts_rank(to_tsvector('english', m.content), q.query) DESC, m.created_at DESC
    LIMIT :limit
    """
)


class SearchThreadsArgs(msgspec.Struct, forbid_unknown_fields=True):
    """Arguments of ``search_threads``."""

    query: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=200,
            description=(
                'Words to look for; "quoted phrases", OR and -excluded words work as in a '
                "web search."
            ),
        ),
    ]
    limit: Annotated[
        int, msgspec.Meta(ge=1, le=20, description="How many messages to return at most.")
    ] = 5


async def search_threads(args: SearchThreadsArgs, ctx: ToolContext) -> dict[str, Any]:
    """The best-ranked matching messages, each with its thread's id and title and a snippet."""
    async with ctx.session_factory() as session:
        rows = await session.execute(
            _SEARCH,
            {
                "query": args.query,
                "limit": args.limit,
                "exclude": ctx.request_message_id,
                "owner": ctx.owner_id,
            },
        )
        results = [
            {
                "thread_id": str(row.thread_id),
                "title": row.title,
                "message_id": str(row.message_id),
                "role": row.role,
                "snippet": row.snippet,
            }
            for row in rows
        ]
    return {"results": results}


TOOL = Tool(
    name="search_threads",
    description=(
        "Full-text search over the messages of all your conversations in this playground, "
        "to recall what was said before. Returns thread ids, titles and snippets."
    ),
    arguments=SearchThreadsArgs,
    handler=search_threads,
    timeout_s=10,
)
