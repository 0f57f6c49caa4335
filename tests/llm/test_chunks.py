"""The SSE reader of upstream bodies: events cut out of raw bytes however reads split them."""

from __future__ import annotations

import pytest

from api.llm.chunks import SSEDataReader

BODY = (
    b": a comment\n"
    b'data: {"a":1}\n\n'
    b"event: thing\r\n"
    b'data: {"b":\r\n'
    b"data: 2}\r\n\r\n"
    b'data:{"c":3}\r\r'
    b"data: [DONE]\n\n"
)
EVENTS = [b'{"a":1}', b'{"b":\n2}', b'{"c":3}', b"[DONE]"]


def read_all(parts: list[bytes]) -> list[bytes]:
    reader = SSEDataReader()
    return [data for part in parts for data in reader.feed(part)]


def test_one_read() -> None:
    assert read_all([BODY]) == EVENTS


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16])
def test_reads_split_anywhere(size: int) -> None:
    # Every split point, "\r" | "\n" of one line ending included.
    parts = [BODY[i : i + size] for i in range(0, len(BODY), size)]
    assert read_all(parts) == EVENTS


def test_an_event_is_complete_only_at_its_blank_line() -> None:
    reader = SSEDataReader()
    assert reader.feed(b'data: {"a":1}\n') == []
    assert reader.feed(b"\n") == [b'{"a":1}']
