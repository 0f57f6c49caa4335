"""Conditional writes: ``ETag`` and ``If-Match`` (RFC 9110) over a row's version.

A thread's or a message's entity tag is its ``version`` in quotes (``"3"``), a strong
validator. ``If-Match`` holds ``*`` or a list of entity tags; it matches when one of
them equals the current tag by strong comparison, so a weak tag (``W/"3"``) never
matches. A value that is no such list is a 400 naming the header.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from api.errors import BadRequestError, PreconditionFailedError

HEADER = "If-Match"
# One list element: an entity tag (RFC 9110 §8.8.3: optional ``W/``, then a quoted
# opaque tag) or nothing, with optional whitespace, up to a comma or the end. An
# opaque tag may hold commas, so the list is scanned, never split on them.
_ELEMENT = re.compile(r'[ \t]*(?:(W/)?"([\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(?:,|$)')


def etag(version: int) -> str:
    """The entity tag of a row at ``version``."""
    return f'"{version}"'


@dataclass(frozen=True, slots=True)
class IfMatch:
    """A parsed ``If-Match``: ``*`` (any current row), or the strong tags it lists."""

    any: bool
    tags: frozenset[str]

    def require(self, version: int, current: Callable[[], msgspec.Struct]) -> None:
        """A 412 unless the row at ``version`` matches; its ``extra`` holds the current
        representation (``current()``) and its tag, for the client to show."""
        tag = etag(version)
        if self.any or tag in self.tags:
            return
        raise PreconditionFailedError(
            f"If-Match does not match the current version {tag}; it was changed since",
            extra={"header": HEADER, "etag": tag, "current": msgspec.to_builtins(current())},
        )


def parse_if_match(value: str) -> IfMatch | None:
    """The ``If-Match`` header as given (None when absent or empty), or a 400."""
    if not value.strip():
        return None
    if value.strip() == "*":
        return IfMatch(any=True, tags=frozenset())
    tags: set[str] = set()
    position = 0
    while position < len(value):
        found = _ELEMENT.match(value, position)
        if found is None or found.end() == position:
            raise BadRequestError(
                f'{HEADER} must be * or a list of entity tags such as "3"',
                extra={"header": HEADER},
            )
        weak, opaque = found.groups()
        if opaque is not None and weak is None:
            tags.add(f'"{opaque}"')
        position = found.end()
    return IfMatch(any=False, tags=frozenset(tags))
