"""Bodies of ``GET /api/search``, and how a snippet's highlights are spelled.

Postgres's ``ts_headline`` marks the matched words with the markers below; the
snippet is returned as a list of parts, each marked as a match or not, so a client
renders highlights from plain text (never HTML made of user text).
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec

# Unicode private-use characters: removed from the text before ``ts_headline`` runs, so
# in its answer they can only be the markers it put around the matched words.
MATCH_START = "\ue000"
MATCH_STOP = "\ue001"
MARKERS = MATCH_START + MATCH_STOP


# The roles a search looks in: tool rows hold JSON results, shown inside their call.
SearchRole = Literal["system", "user", "assistant"]


class SnippetPart(msgspec.Struct, kw_only=True):
    """A piece of a snippet's text; ``match`` when it is a word the query matched."""

    text: str
    match: bool


class SearchResult(msgspec.Struct, kw_only=True):
    """A message whose text matched, or a thread whose title did (``message_id`` and
    ``role`` are then null and the snippet is the title)."""

    thread_id: UUID
    thread_title: str | None
    message_id: UUID | None
    role: SearchRole | None
    snippet: list[SnippetPart]


class SearchPage(msgspec.Struct, kw_only=True):
    """One page of results, best first; pass ``next_cursor`` back for the next."""

    data: list[SearchResult]
    next_cursor: str | None


def snippet_parts(marked: str) -> list[SnippetPart]:
    """Split ``ts_headline``'s text at its markers into plain and matched parts."""
    parts: list[SnippetPart] = []
    for index, piece in enumerate(marked.split(MATCH_START)):
        matched, _, rest = piece.partition(MATCH_STOP) if index else ("", "", piece)
        if matched:
            parts.append(SnippetPart(text=matched, match=True))
        if rest:
            parts.append(SnippetPart(text=rest, match=False))
    return parts
