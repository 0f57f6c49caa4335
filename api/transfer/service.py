"""Export and import of threads, for one caller.

Exports read the caller's threads (an admin's: everyone's); imports store a new thread
owned by the caller, all of it or nothing, after every check has passed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.errors import BadRequestError
from api.prompts.resolve import exported_prompt
from api.schemas.auth import Principal
from api.schemas.threads import Thread
from api.schemas.transfer import (
    THREAD_FORMAT,
    BulkFormat,
    ChatDocument,
    ExportFormat,
    ThreadDocument,
)
from api.schemas.views import to_thread
from api.stores.exports import stream_threads
from api.stores.messages import MessageStore
from api.stores.threads import ThreadStore
from api.tools.registry import ToolRegistry
from api.transfer.formats.chat import chat_to_document, to_chat_line
from api.transfer.formats.checks import (
    CheckedThread,
    ImportLimits,
    bad_document,
    check_size,
    check_thread,
    convert,
    decode_json,
)
from api.transfer.formats.document import message_rows, thread_row, to_document
from api.transfer.formats.markdown import to_markdown
from api.unit_of_work import commit, run_unit
from db import models as m

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "openai-jsonl": "application/x-ndjson",
    "jsonl": "application/x-ndjson",
}
_MESSAGE_INDEX = re.compile(r"^\$\.messages\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Exported:
    """One thread in one format: the bytes and their media type."""

    body: bytes
    media_type: str


def encode_thread(
    thread: m.Thread,
    rows: list[m.Message],
    fmt: str,
    registry: ToolRegistry,
    library_prompt: str | None,
) -> bytes:
    """``thread`` in ``fmt`` (``jsonl`` is the v1 document on one line);
    ``library_prompt`` is its prompt of the library, rendered."""
    own = library_prompt if thread.prompt_id is not None else thread.system_prompt
    if fmt == "markdown":
        return to_markdown(thread, rows, own).encode()
    if fmt == "openai-jsonl":
        return json_line(to_chat_line(thread, rows, registry, library_prompt))
    if fmt == "jsonl":
        return json_line(to_document(thread, rows, own))
    return msgspec.json.encode(to_document(thread, rows, own))


# Valid inside JSON strings, but line breaks to readers that split like str.splitlines.
_LINE_BREAKS = (
    (b"\xc2\x85", b"\\u0085"),
    (b"\xe2\x80\xa8", b"\\u2028"),
    (b"\xe2\x80\xa9", b"\\u2029"),
)


def json_line(value: object) -> bytes:
    """``value`` as one JSON line that no line reader splits: NEL, LINE SEPARATOR and
    PARAGRAPH SEPARATOR (UTF-8 sequences that can only occur inside strings) escaped."""
    encoded = msgspec.json.encode(value)
    for raw, escaped in _LINE_BREAKS:
        encoded = encoded.replace(raw, escaped)
    return encoded + b"\n"


def parse_document(
    body: bytes, limits: ImportLimits, registry: ToolRegistry, default_model: str
) -> CheckedThread:
    """A ``playground.thread/v1`` document or an OpenAI chat ``{"messages": [...]}``,
    checked whole; a 400 naming the JSON path of the first problem."""
    check_size(body, limits)
    value: Any = decode_json(body)
    if not isinstance(value, dict):
        raise bad_document("$", "expected a JSON object")
    if "format" in value:
        if value["format"] != THREAD_FORMAT:
            raise bad_document("$.format", f"unknown format; this service reads {THREAD_FORMAT!r}")
        return check_thread(convert(value, ThreadDocument), limits, registry)
    chat = convert(value, ChatDocument)
    offset = 1 if chat.messages and chat.messages[0].role == "system" else 0
    try:
        return check_thread(chat_to_document(chat, registry, default_model), limits, registry)
    except BadRequestError as exc:
        raise _renumbered(exc, offset) from None


def _renumbered(exc: BadRequestError, offset: int) -> BadRequestError:
    """A problem in a converted chat document, named by its index in the original (the
    leading system message became the thread's prompt)."""
    path = str((exc.extra or {}).get("field", "$"))
    fixed = _MESSAGE_INDEX.sub(lambda found: f"$.messages[{int(found[1]) + offset}]", path)
    return bad_document(fixed, exc.detail.removeprefix(f"{path}: "))


async def store_thread(session: AsyncSession, checked: CheckedThread, owner_id: UUID) -> m.Thread:
    """Insert the thread and its tree (new ids) in the session's transaction."""
    threads = ThreadStore(session)
    row = await threads.add(thread_row(checked, owner_id))
    messages, head_id = message_rows(checked, row.id)
    await MessageStore(session).add(messages)
    await threads.set_head(row.id, head_id, activity=False)
    return row


class TransferService:
    """Export and import for one caller over one request's session."""

    def __init__(
        self,
        session: AsyncSession,
        session_factory: async_sessionmaker[AsyncSession],
        caller: Principal,
        registry: ToolRegistry,
        limits: ImportLimits,
        default_model: str,
    ) -> None:
        self._session = session
        self._session_factory = session_factory
        self._caller = caller
        self._registry = registry
        self._limits = limits
        self._default_model = default_model

    @property
    def max_bytes(self) -> int:
        """The largest document an import takes, in bytes."""
        return self._limits.max_bytes

    async def export_thread(self, thread_id: UUID, fmt: ExportFormat) -> Exported:
        """One thread in ``fmt``; a 404 for one out of the caller's scope."""
        thread = await ThreadStore(self._session, self._caller.scope).get(thread_id)
        rows = list((await MessageStore(self._session).tree(thread_id)).by_id.values())
        prompt = await exported_prompt(self._session, thread)
        return Exported(encode_thread(thread, rows, fmt, self._registry, prompt), MEDIA_TYPES[fmt])

    async def export_lines(self, fmt: BulkFormat) -> AsyncIterator[bytes]:
        """Every thread in the caller's scope, one line each, through a cursor in a
        session of its own that lives as long as the response's body."""
        async with self._session_factory() as session, session.begin():
            async for thread, rows in stream_threads(session, self._caller.scope):
                prompt = await exported_prompt(session, thread)
                yield encode_thread(thread, rows, fmt, self._registry, prompt)

    async def import_document(self, body: bytes) -> Thread:
        """Check the document whole, then store it as a new thread of the caller."""
        checked = parse_document(body, self._limits, self._registry, self._default_model)
        return await run_unit(self._session, lambda: self._store(checked))

    async def _store(self, checked: CheckedThread) -> Thread:
        row = await store_thread(self._session, checked, self._caller.id)
        await commit(self._session, "the imported thread")
        stored = await ThreadStore(self._session).get(row.id)
        return to_thread(stored)
