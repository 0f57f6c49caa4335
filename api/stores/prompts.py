"""The ``prompt`` and ``prompt_version`` tables: every statement that writes them.

A store made with a ``scope`` (a member's principal id) reaches only that owner's
prompts: another owner's prompt is a 404, exactly like one that does not exist, and so
is a deleted one. Versions are only ever inserted (a trigger refuses an UPDATE); a
prompt is deleted softly, so the replies that name its versions keep their record.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ConflictError, NotFoundError
from db import models as m

NAME_INDEX = "uq_prompt_owner_id_name"

# The number of a prompt's newest version, for each prompt row selected.
LATEST = (
    select(func.max(m.PromptVersion.version))
    .where(m.PromptVersion.prompt_id == m.Prompt.id)
    .correlate(m.Prompt)
    .scalar_subquery()
)


def prompt_not_found(prompt_id: UUID) -> NotFoundError:
    """The 404 for a prompt that does not exist, is deleted or is not the caller's."""
    return NotFoundError(f"prompt {prompt_id} not found")


def version_not_found(prompt_id: UUID, version: int) -> NotFoundError:
    """The 404 for a version a prompt does not have."""
    return NotFoundError(f"prompt {prompt_id} has no version {version}")


class PromptStore:
    """Reads and writes of prompts and their versions in the caller's session."""

    def __init__(self, session: AsyncSession, scope: UUID | None = None) -> None:
        self._session = session
        self._scope = scope

    def _visible(self, query: Select[Any]) -> Select[Any]:
        query = query.where(m.Prompt.deleted_at.is_(None))
        return query if self._scope is None else query.where(m.Prompt.owner_id == self._scope)

    async def get(self, prompt_id: UUID, *, lock: bool = False) -> tuple[m.Prompt, int]:
        """The prompt and its newest version's number, or a 404; ``lock`` holds the
        prompt row for the transaction (FOR UPDATE): new versions are numbered under it."""
        query = self._visible(select(m.Prompt).where(m.Prompt.id == prompt_id))
        if lock:
            query = query.with_for_update()
        row: m.Prompt | None = await self._session.scalar(
            query.execution_options(populate_existing=True)
        )
        if row is None:
            raise prompt_not_found(prompt_id)
        # A statement of its own, after the lock: the newest version committed by the
        # writer that held it counts (a subquery of the locking statement would still
        # see the snapshot from before the wait).
        latest = await self._session.scalar(
            select(func.max(m.PromptVersion.version)).where(m.PromptVersion.prompt_id == prompt_id)
        )
        return row, latest or 0

    async def page(self, limit: int, after: tuple[str, UUID] | None) -> list[tuple[m.Prompt, int]]:
        """Up to ``limit`` prompts in scope by name, after the (name, id) position."""
        query = self._visible(select(m.Prompt, LATEST)).order_by(m.Prompt.name, m.Prompt.id)
        if after is not None:
            query = query.where(tuple_(m.Prompt.name, m.Prompt.id) > tuple_(*after))
        return [(row, latest) for row, latest in await self._session.execute(query.limit(limit))]

    async def add(self, row: m.Prompt) -> m.Prompt:
        """Insert a prompt; a 409 when its owner has a prompt of that name."""
        self._session.add(row)
        await self._flush_named(row.name)
        return row

    async def change(self, row: m.Prompt, changes: dict[str, Any]) -> m.Prompt:
        """Set the given columns (name, description) and bump ``updated_at``; a 409 when
        the new name is taken."""
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = func.clock_timestamp()
        await self._flush_named(row.name if "name" in changes else None)
        await self._session.refresh(row)
        return row

    async def delete(self, row: m.Prompt) -> None:
        """Delete a prompt softly: gone from the API, its versions kept for the replies
        that name them (and the threads that use it)."""
        row.deleted_at = func.clock_timestamp()
        await self._session.flush()

    async def _flush_named(self, name: str | None) -> None:
        try:
            await self._session.flush()
        except IntegrityError as exc:
            if NAME_INDEX not in str(exc.orig):
                raise
            raise ConflictError(
                f"a prompt named {name!r} exists already", extra={"field": "name"}
            ) from exc

    async def add_version(self, row: m.PromptVersion) -> m.PromptVersion:
        """Insert a version (numbered by the caller under the prompt's lock)."""
        self._session.add(row)
        await self._session.flush()
        return row

    async def version(self, prompt_id: UUID, version: int | None) -> m.PromptVersion:
        """Version ``version`` of a prompt (None: its newest), or a 404. Unscoped: the
        caller has checked the prompt, or generates a reply of a thread that uses it."""
        query = select(m.PromptVersion).where(m.PromptVersion.prompt_id == prompt_id)
        if version is None:
            query = query.order_by(m.PromptVersion.version.desc()).limit(1)
        else:
            query = query.where(m.PromptVersion.version == version)
        row: m.PromptVersion | None = await self._session.scalar(query)
        if row is None:
            raise (
                prompt_not_found(prompt_id)
                if version is None
                else version_not_found(prompt_id, version)
            )
        return row

    async def versions(
        self, prompt_id: UUID, limit: int, before: int | None
    ) -> list[m.PromptVersion]:
        """Up to ``limit`` versions of a prompt, newest first, below ``before``."""
        query = select(m.PromptVersion).where(m.PromptVersion.prompt_id == prompt_id)
        if before is not None:
            query = query.where(m.PromptVersion.version < before)
        query = query.order_by(m.PromptVersion.version.desc()).limit(limit)
        return list(await self._session.scalars(query))
