"""``playground export`` and ``playground import``: threads to and from files, on the
server's own database, with a progress bar on stderr (README "Export and import")."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession
from tqdm import tqdm

from api.errors import NotFoundError, PlaygroundError
from api.prompts.resolve import exported_prompt
from api.settings import OFFLINE_MODEL, Settings
from api.stores.exports import count_threads, stream_threads
from api.tools.registry import default_registry
from api.transfer.deps import import_limits
from api.transfer.service import encode_thread, parse_document, store_thread
from db.engine import create_engine, create_session_factory
from db.models import LOCAL_PRINCIPAL_ID, Principal
from db.urls import resolve_database_url

if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


def add_transfer_commands(commands: Subcommands) -> None:
    """Add ``playground export`` and ``playground import``."""
    export = commands.add_parser("export", help="write threads to a file (or stdout)")
    export.add_argument(
        "--format",
        choices=["jsonl", "openai-jsonl", "json", "markdown"],
        default="jsonl",
        help="jsonl: one playground.thread/v1 document per line (default); json and "
        "markdown need --thread",
    )
    export.add_argument("--thread", type=UUID, metavar="ID", help="only this thread")
    export.add_argument("--output", "-o", type=Path, metavar="FILE", help="default: stdout")
    export.set_defaults(handler=run_export)
    load = commands.add_parser(
        "import", help="store threads from a file: JSON lines, or one document"
    )
    load.add_argument("file", type=Path, metavar="FILE")
    load.add_argument(
        "--owner", type=UUID, metavar="ID", help="principal owning the threads (default: local)"
    )
    load.set_defaults(handler=run_import)


def _url(settings: Settings) -> str:
    from db.migrate import upgrade

    url = resolve_database_url(settings.db.database_url, settings.db.data_dir)
    upgrade(url)
    return url


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    """Export every thread (or ``--thread``); 1 with the reason on failure."""
    if args.format in ("json", "markdown") and args.thread is None:
        print(f"error: --format {args.format} exports one thread: add --thread", file=sys.stderr)
        return 1
    url = _url(settings)
    with args.output.open("wb") if args.output else sys.stdout.buffer as out:
        written = asyncio.run(_export(url, args, out))
    if args.thread is not None and written == 0:
        print(f"error: thread {args.thread} not found", file=sys.stderr)
        return 1
    print(f"exported {written} thread(s)", file=sys.stderr)
    return 0


async def _export(url: str, args: argparse.Namespace, out: IO[bytes]) -> int:
    registry = default_registry()
    engine = create_engine(url, pool_size=1, echo=False)
    written = 0
    try:
        async with create_session_factory(engine)() as session, session.begin():
            total = 1 if args.thread else await count_threads(session, None)
            with tqdm(total=total, unit="thread", file=sys.stderr) as progress:
                async for thread, rows in stream_threads(session, None, args.thread):
                    prompt = await exported_prompt(session, thread)
                    out.write(encode_thread(thread, rows, args.format, registry, prompt))
                    written += 1
                    progress.update()
    finally:
        await engine.dispose()
    return written


def run_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import every document of the file in one transaction: all of them, or (on the
    first bad one, named by its line) none."""
    url = _url(settings)
    try:
        count = asyncio.run(_import(url, args, settings))
    except PlaygroundError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    print(f"imported {count} thread(s)", file=sys.stderr)
    return 0


async def _import(url: str, args: argparse.Namespace, settings: Settings) -> int:
    engine = create_engine(url, pool_size=1, echo=False)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            return await _store_documents(session, args, settings)
    finally:
        await engine.dispose()


async def _store_documents(
    session: AsyncSession, args: argparse.Namespace, settings: Settings
) -> int:
    registry = default_registry()
    limits = import_limits(settings)
    model = settings.models.playground_default_model or OFFLINE_MODEL
    owner = args.owner or LOCAL_PRINCIPAL_ID
    if await session.get(Principal, owner) is None:
        raise NotFoundError(f"principal {owner} not found")
    total = sum(1 for _ in _documents(args.file, limits.max_bytes))
    count = 0
    documents = _documents(args.file, limits.max_bytes)
    for where, body in tqdm(documents, total=total, unit="thread", file=sys.stderr):
        try:
            checked = parse_document(body, limits, registry, model)
        except PlaygroundError as exc:
            exc.detail = f"{where}: {exc.detail}"
            raise
        await store_thread(session, checked, owner)
        count += 1
    return count


def _documents(path: Path, max_bytes: int) -> Iterator[tuple[str, bytes]]:
    """The file as one document (a JSON object over several lines), or as JSON lines,
    each with where it is (for errors)."""
    if path.stat().st_size <= max_bytes:
        whole = path.read_bytes()
        try:
            single = msgspec.json.decode(whole)
        except msgspec.DecodeError:
            single = None
        if isinstance(single, dict):
            yield str(path), whole
            return
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield f"{path} line {number}", line
