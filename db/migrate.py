"""Alembic migrations, driven from Python: no ``alembic.ini`` to find or keep in sync.

``upgrade`` and ``downgrade`` build the Alembic config in code, with the scripts in
``db/migrations``, and run the async env there (asyncpg, through ``asyncio.run`` in
the calling thread). They block: call them before the event loop starts, or through
``anyio.to_thread.run_sync`` from async code.

The schema holds objects the ORM models do not describe: the views
``thread_active_branch``, ``usage_daily`` and ``thread_summary``, and the SQL functions
of migration 0007, which autogenerate does not compare. ``include_object`` and
``AUTOGENERATE_OPTIONS`` tell autogenerate to leave the views alone; env.py and
``schema_differences`` share them, so
``alembic revision --autogenerate`` and the models-vs-migrations test agree.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from db._blocking import call_outside_event_loop

if TYPE_CHECKING:
    from alembic.runtime.environment import NameFilterType
    from sqlalchemy.engine import Connection
    from sqlalchemy.schema import SchemaItem

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"

# Config.attributes key carrying the database URL to env.py (kept out of the ini-style
# options, where "%" in an escaped socket path or password would be interpolation).
URL_ATTRIBUTE: Final = "database_url"

# Alembic keeps the running migration in module globals (alembic.context, alembic.op),
# so two migrations in one process at once would share them: run them one at a time.
# Across processes, env.py's advisory lock does the same job.
_migration_lock = threading.Lock()

# Key of the Postgres advisory lock env.py takes around a migration run. Any constant
# works, as long as every process migrating this database uses it.
MIGRATION_LOCK_ID: Final = 0x706C6179_6D696772  # b"playmigr"

# Views created by migrations (raw SQL), unknown to the models.
VIEWS: Final = frozenset({"thread_active_branch", "usage_daily", "thread_summary"})


def include_object(
    obj: SchemaItem,
    name: str | None,
    type_: NameFilterType,
    reflected: bool,
    compare_to: SchemaItem | None,
) -> bool:
    """Autogenerate filter: leave the views alone.

    Autogenerate must neither drop them (should reflection ever list them as tables)
    nor create them as tables (should a model ever map one, for reading).
    """
    return not (type_ == "table" and name in VIEWS)


AUTOGENERATE_OPTIONS: Final[dict[str, Any]] = {
    "include_object": include_object,
    "compare_type": True,
    "compare_server_default": True,
}


def alembic_config(url: str | None = None) -> Config:
    """Build the Alembic config for our migrations, optionally bound to ``url``.

    ``url`` is a plain ``postgresql://`` URL (env.py converts it for asyncpg).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    # New revisions (alembic revision --autogenerate) come out lint-clean and formatted.
    config.set_section_option("post_write_hooks", "hooks", "ruff_fix ruff_format")
    for hook, options in (("ruff_fix", "check --fix"), ("ruff_format", "format")):
        config.set_section_option("post_write_hooks", f"{hook}.type", "module")
        config.set_section_option("post_write_hooks", f"{hook}.module", "ruff")
        config.set_section_option(
            "post_write_hooks", f"{hook}.options", f"{options} REVISION_SCRIPT_FILENAME"
        )
    if url is not None:
        config.attributes[URL_ATTRIBUTE] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision`` (default: the newest).

    Safe to call from several threads and processes at once: migrations run one at a
    time (a lock in this process, a Postgres advisory lock across processes), and a
    caller that waited finds the work already done.
    """
    config = alembic_config(url)
    with _migration_lock:
        call_outside_event_loop(lambda: command.upgrade(config, revision))


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision``.

    ``"base"`` drops every object the migrations made; Alembic's own ``alembic_version``
    table stays, empty.
    """
    config = alembic_config(url)
    with _migration_lock:
        call_outside_event_loop(lambda: command.downgrade(config, revision))


def schema_differences(connection: Connection) -> list[Any]:
    """Compare the schema behind ``connection`` with the ORM models; return the differences.

    An empty list means the migrations produce exactly what ``db.models`` describes.
    Takes a sync connection, so from async code use ``await conn.run_sync(...)``.
    """
    from db.models import Base

    context = MigrationContext.configure(connection, opts=AUTOGENERATE_OPTIONS)
    differences: list[Any] = compare_metadata(context, Base.metadata)
    return differences
