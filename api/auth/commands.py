"""``playground keys``: create, list and revoke API keys, and set their quotas, on the
server's own database (README "Running it for a team")."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import msgspec

from api.auth.service import LIMIT_FIELDS, KeyService
from api.errors import BadRequestError, PlaygroundError
from api.schemas.auth import KeyCreate, KeyInfo, KeyUpdate
from api.settings import Settings
from db.engine import create_engine, create_session_factory
from db.urls import resolve_database_url

if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]

B = TypeVar("B", bound=msgspec.Struct)
Action = Callable[[KeyService, argparse.Namespace], Coroutine[Any, Any, None]]


def _limit(value: str) -> int | None:
    """A quota on the command line: a positive number, or ``default``."""
    if value == "default":
        return None
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("a limit is a positive number, or `default`")
    return number


def _add_limit_flags(parser: argparse.ArgumentParser, *, resettable: bool) -> None:
    suffix = " (`default`: the service default)" if resettable else ""
    for name in LIMIT_FIELDS:
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=_limit if resettable else int,
            default=msgspec.UNSET if resettable else None,
            help=f"this principal's {name}{suffix}",
        )


def add_key_commands(commands: Subcommands, handler_of: Callable[[Action], Any]) -> None:
    """Add ``playground keys create|list|revoke|limits``; ``handler_of`` wraps an
    action into the command handler (the database and the session)."""
    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key; prints it alone on the last line")
    create.add_argument("--name", required=True, help="who or what the key is for")
    create.add_argument("--admin", action="store_true", help="an admin key (manages keys)")
    create.add_argument("--expires-in", type=int, metavar="DAYS", help="expires after DAYS")
    create.add_argument(
        "--principal", type=UUID, metavar="ID", help="one more key for this principal"
    )
    _add_limit_flags(create, resettable=False)
    create.set_defaults(handler=handler_of(_create))
    listing = actions.add_parser("list", help="list keys (prefixes, never the keys)")
    listing.set_defaults(handler=handler_of(_list))
    revoke = actions.add_parser("revoke", help="revoke a key at once, on every process")
    revoke.add_argument("key_id", type=UUID, metavar="KEY_ID")
    revoke.set_defaults(handler=handler_of(_revoke))
    limits = actions.add_parser("limits", help="set the quotas of a key's principal")
    limits.add_argument("key_id", type=UUID, metavar="KEY_ID")
    _add_limit_flags(limits, resettable=True)
    limits.set_defaults(handler=handler_of(_limits))


def run_key_action(action: Action, args: argparse.Namespace, settings: Settings) -> int:
    """Run a key action against the (migrated) database; 1 with the reason on failure."""
    from db.migrate import upgrade

    url = resolve_database_url(settings.db.database_url, settings.db.data_dir)
    upgrade(url)

    async def run() -> None:
        engine = create_engine(url, pool_size=1, echo=False)
        try:
            async with create_session_factory(engine)() as session:
                await action(KeyService(session, settings.access), args)
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except PlaygroundError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    return 0


def _checked(values: dict[str, Any], body: type[B]) -> B:
    """The values as the HTTP body would be checked: the same limits, the same names."""
    try:
        return msgspec.convert(values, body)
    except msgspec.ValidationError as exc:
        raise BadRequestError(str(exc)) from None


def _describe(key: KeyInfo) -> str:
    limits = ", ".join(
        f"{name}={getattr(key.limits, name)}"
        for name in LIMIT_FIELDS
        if getattr(key.limits, name) is not None
    )
    state = (
        f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
        if key.revoked_at
        else f"expires {key.expires_at:%Y-%m-%d %H:%M}"
        if key.expires_at
        else "active"
    )
    return (
        f"{key.id}  {key.prefix}…  {key.role:<6}  {key.name}  principal {key.principal_id}"
        f"  {state}  limits: {limits or 'defaults'}"
    )


async def _create(service: KeyService, args: argparse.Namespace) -> None:
    given = {
        "name": args.name,
        "admin": args.admin,
        "expires_in_days": args.expires_in,
        "principal_id": args.principal,
        **{name: getattr(args, name) for name in LIMIT_FIELDS},
    }
    created = await service.create(_checked(given, KeyCreate))
    print(_describe(created))
    print("the key is shown once, below; only its hash is stored", file=sys.stderr)
    print(created.key)


async def _list(service: KeyService, args: argparse.Namespace) -> None:
    for key in (await service.list()).data:
        print(_describe(key))


async def _revoke(service: KeyService, args: argparse.Namespace) -> None:
    print(_describe(await service.revoke(args.key_id)))


async def _limits(service: KeyService, args: argparse.Namespace) -> None:
    given = {
        name: getattr(args, name)
        for name in LIMIT_FIELDS
        if getattr(args, name) is not msgspec.UNSET
    }
    update = _checked(given, KeyUpdate)
    print(_describe(await service.update(args.key_id, update)))
