"""The ``playground`` command: serve the API, migrate the database, seed demo data, benchmark,
soak."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

# Light at import, the rest imported where used: each worker of `serve --workers N`
# imports this module again (multiprocessing's spawn reruns the parent's __main__)
# before it can answer uvicorn's health check, which kills workers slow to answer.
from api.settings import LOOPBACK_HOSTS, Settings, load_settings

if TYPE_CHECKING:
    from types import FrameType

    from api.auth.commands import Action
    from db.embedded import EmbeddedServer

logger = logging.getLogger("playground")

if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


class _Terminated(BaseException):
    """SIGTERM, raised where the main thread runs so ``finally`` clauses get their turn."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


@contextmanager
def _sigterm_after_cleanup() -> Iterator[None]:
    """Run the block with SIGTERM as an exception; if one came, die of it after the block.

    uvicorn handles SIGTERM itself while it serves and sends it again once it has shut
    down. With the default handler that second one kills the process on the spot, so
    nothing after ``uvicorn.run`` would run. The exit status stays "killed by SIGTERM",
    as process supervisors expect.
    """
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        signal.raise_signal(signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop_embedded_if_started(server: EmbeddedServer, data_dir: Path) -> None:
    """Stop the embedded server if this process started it; a found one stays up for its users."""
    from db.embedded import stop_embedded

    if not server.started:
        print("left the embedded Postgres running: it was running before", file=sys.stderr)
    elif stop_embedded(data_dir, pid=server.pid):
        print("stopped the embedded Postgres it started", file=sys.stderr)
    else:
        print("the embedded Postgres it started was stopped already", file=sys.stderr)


def _check_exposure(args: argparse.Namespace, settings: Settings) -> None:
    """Refuse to serve without keys beyond loopback unless told ``--insecure``."""
    if settings.access.auth_required(args.host):
        print(f"API keys are required on {args.host} (PLAYGROUND_AUTH)", file=sys.stderr)
        return
    if args.host in LOOPBACK_HOSTS:
        return
    if not args.insecure:
        raise SystemExit(
            f"refusing to serve on {args.host} with PLAYGROUND_AUTH=off: anyone who reaches "
            "the port could read every thread and spend the model key. Use "
            "PLAYGROUND_AUTH=required (see `playground keys create`), or add --insecure"
        )
    print(
        f"WARNING: serving on {args.host} without API keys (--insecure): anyone who reaches "
        "the port can read every thread and spend the model key",
        file=sys.stderr,
    )


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app
    from db.migrate import upgrade
    from db.urls import resolve_database

    _check_exposure(args, settings)
    # Which embedded server, if any: serve stops it at exit only if it started it.
    url, embedded = resolve_database(settings.db.database_url, settings.db.data_dir)
    with _sigterm_after_cleanup():
        try:
            upgrade(url)
            if not settings.models.upstream_enabled:
                print("no OPENAI_API_KEY: replies come from the offline model", file=sys.stderr)
            if args.workers > 1:
                return _serve_workers(url, args)
            uvicorn.run(
                create_app(url, settings, host=args.host),
                host=args.host,
                port=args.port,
                log_level=args.log_level,
                timeout_graceful_shutdown=args.graceful_shutdown_s,
            )
        finally:
            if embedded is not None:
                _stop_embedded_if_started(embedded, settings.db.data_dir)
    return 0


def _serve_workers(url: str, args: argparse.Namespace) -> int:
    """Serve with several processes; end as one serving process would have ended."""
    from uvicorn.config import STARTUP_FAILURE

    from api.workers import serve_workers

    stopped_by = serve_workers(url, args)
    if stopped_by == signal.SIGTERM:
        raise _Terminated
    if stopped_by is None:
        print("a worker failed to start: serve stopped the others", file=sys.stderr)
        return STARTUP_FAILURE
    return 0


def _db_status(settings: Settings) -> int:
    """Say whether the embedded server runs: exit 0 if it does, 3 if not (as ``pg_ctl status``)."""
    from db.embedded import embedded_url

    if settings.db.database_url:
        print("DATABASE_URL is set: no embedded Postgres is used, none is managed here")
        return 0
    data_dir = settings.db.data_dir
    url = embedded_url(data_dir)
    if url is None:
        print(f"embedded Postgres in {data_dir} is not running")
        return 3
    print(f'embedded Postgres in {data_dir} is running; psql "{url}"')
    return 0


def _db_stop(settings: Settings) -> int:
    """Stop the embedded server, whoever started it; not running is no error."""
    from db.embedded import stop_embedded

    if settings.db.database_url:
        print("DATABASE_URL is set: no embedded Postgres to stop", file=sys.stderr)
        return 0
    data_dir = settings.db.data_dir
    if stop_embedded(data_dir):
        print(f"stopped the embedded Postgres in {data_dir}", file=sys.stderr)
    else:
        print(f"embedded Postgres in {data_dir} was not running", file=sys.stderr)
    return 0


def _db(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "status":
        return _db_status(settings)
    if args.action == "stop":
        return _db_stop(settings)

    from db.migrate import downgrade, upgrade
    from db.urls import resolve_database_url

    url = resolve_database_url(settings.db.database_url, settings.db.data_dir)
    if args.action == "upgrade":
        upgrade(url, args.revision)
    else:
        downgrade(url, args.revision)
    print(f"database {args.action}d to {args.revision}", file=sys.stderr)
    return 0


def _key_handler(action: Action) -> Callable[[argparse.Namespace, Settings], int]:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        from api.auth.commands import run_key_action

        return run_key_action(action, args, settings)

    return handler


def _scripts_missing(exc: ModuleNotFoundError) -> bool:
    """Whether ``exc`` is the ``scripts`` package itself missing, not a module it imports."""
    return exc.name == "scripts"


def _needs_checkout(command: str) -> SystemExit:
    # The wheel holds api and db only; seed, bench and soak live in the repository's scripts/.
    return SystemExit(
        f"playground {command} needs a source checkout: the scripts package is not part of"
        " the installed wheel (run it with `uv run` in a clone of the project)"
    )


def _seed(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from scripts.seed import seed
    except ModuleNotFoundError as exc:
        if not _scripts_missing(exc):
            raise
        raise _needs_checkout("seed") from None
    from db.urls import resolve_database_url

    url = resolve_database_url(settings.db.database_url, settings.db.data_dir)
    return seed(url, settings)


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    import shlex

    from scripts.bench.cli import run_from_args

    command = "uv run playground " + shlex.join(sys.argv[1:])
    return run_from_args(args, database_url=settings.db.database_url, command=command)


def _soak(args: argparse.Namespace, settings: Settings) -> int:
    import shlex

    from scripts.soak.cli import run_from_args

    command = "uv run playground " + shlex.join(sys.argv[1:])
    return run_from_args(args, database_url=settings.db.database_url, command=command)


def _add_needs_checkout(commands: Subcommands, name: str, summary: str) -> None:
    """Add command ``name`` whose code and flags are in scripts/, missing from this install."""

    def explain(args: argparse.Namespace, settings: Settings) -> int:
        raise _needs_checkout(name)

    # Its flags live in scripts too. With NUL as the only option prefix (no argument
    # can hold one) and no --help, whatever follows reaches the handler that explains.
    command = commands.add_parser(name, help=summary, prefix_chars="\0", add_help=False)
    command.add_argument("ignored", nargs="*", help=argparse.SUPPRESS)
    command.set_defaults(handler=explain)


def _add_script_command(
    commands: Subcommands,
    name: str,
    help_text: str,
    handler: Callable[[argparse.Namespace, Settings], int],
) -> None:
    """Add ``playground NAME``, whose flags ``scripts/NAME/cli.py`` declares; without
    the scripts (an installed wheel) the command only says it needs a checkout."""
    try:
        module = importlib.import_module(f"scripts.{name}.cli")
    except ModuleNotFoundError as exc:
        if not _scripts_missing(exc):
            raise
        _add_needs_checkout(commands, name, help_text)
        return
    parser = commands.add_parser(name, help=help_text)
    module.add_arguments(parser)
    parser.set_defaults(handler=handler)


def _positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``playground`` command."""
    parser = argparse.ArgumentParser(prog="playground", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (migrates the database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--graceful-shutdown-s",
        type=float,
        default=10.0,
        help="seconds running replies may take to finish on SIGTERM",
    )
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="worker processes serving the port (each with its own database pool)",
    )
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="allow PLAYGROUND_AUTH=off on a non-loopback host (anyone may call the API)",
    )
    serve.set_defaults(handler=_serve)

    database = commands.add_parser(
        "db", help="apply or roll back migrations; status or stop the embedded Postgres"
    )
    database.add_argument("action", choices=["upgrade", "downgrade", "status", "stop"])
    database.add_argument(
        "revision", nargs="?", default=None, help="upgrade/downgrade only (default head/-1)"
    )
    database.set_defaults(handler=_db)

    from api.auth.commands import add_key_commands
    from api.transfer.commands import add_transfer_commands

    add_key_commands(commands, _key_handler)
    add_transfer_commands(commands)

    seed = commands.add_parser("seed", help="store demo threads (idempotent)")
    seed.set_defaults(handler=_seed)

    _add_script_command(
        commands,
        "bench",
        "benchmark the relay against a direct client and LiteLLM (see scripts/bench/)",
        _bench,
    )
    _add_script_command(
        commands,
        "soak",
        "run replicas under chaotic load, then check invariants (see scripts/soak/)",
        _soak,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``playground`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "db" and args.action in ("status", "stop"):
        if args.revision is not None:
            parser.error(f"db {args.action} takes no revision")
    elif args.command == "db" and args.revision is None:
        args.revision = "head" if args.action == "upgrade" else "-1"
    settings = load_settings()
    handler = args.handler
    result: int = handler(args, settings)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
