"""Walks over a thread's message tree, loaded once per request.

A thread's messages are few enough (a conversation, its branches and tool turns)
that loading them in one indexed query and walking them in memory is simpler and
faster than several recursive queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID

from db import models as m


class MessageTree:
    """A thread's messages indexed by id and by parent, children oldest first."""

    def __init__(self, rows: Sequence[m.Message]) -> None:
        ordered = sorted(rows, key=lambda row: (row.created_at, row.id))
        self.by_id: dict[UUID, m.Message] = {row.id: row for row in ordered}
        self.children: defaultdict[UUID | None, list[m.Message]] = defaultdict(list)
        for row in ordered:
            self.children[row.parent_id].append(row)

    def sibling_ids(self, row: m.Message) -> list[UUID]:
        """The messages sharing ``row``'s parent (itself included), oldest first."""
        return [sibling.id for sibling in self.children[row.parent_id]]

    def path_to(self, leaf_id: UUID | None) -> list[m.Message]:
        """The messages from the root down to ``leaf_id`` (empty for ``None``)."""
        path: list[m.Message] = []
        current = self.by_id.get(leaf_id) if leaf_id is not None else None
        while current is not None:
            path.append(current)
            current = self.by_id.get(current.parent_id) if current.parent_id else None
        path.reverse()
        return path

    def subtree(self, root_id: UUID) -> list[m.Message]:
        """``root_id`` and every message below it."""
        found: list[m.Message] = []
        stack = [self.by_id[root_id]]
        while stack:
            row = stack.pop()
            found.append(row)
            stack.extend(self.children[row.id])
        return found

    def newest_leaf(self, root_id: UUID) -> m.Message:
        """The most recently created leaf under ``root_id`` (``root_id`` itself if a leaf)."""
        leaves = [row for row in self.subtree(root_id) if not self.children[row.id]]
        return max(leaves, key=lambda row: (row.created_at, row.id))
