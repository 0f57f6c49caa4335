"""Prompt library use cases: prompts, their numbered versions, and diffs between them."""

from __future__ import annotations

import difflib
import uuid
from uuid import UUID

import anyio.to_thread
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from api import cursors
from api.prompts.template import check_defaults, template_variables
from api.schemas.auth import Principal
from api.schemas.prompts import (
    Prompt,
    PromptCreate,
    PromptCreated,
    PromptPage,
    PromptUpdate,
    PromptVersion,
    VersionCreate,
    VersionDiff,
    VersionPage,
)
from api.stores.prompts import PromptStore
from api.unit_of_work import commit, run_unit
from api.validation import check_no_nul
from db import models as m


class PromptCursor(msgspec.Struct, array_like=True):
    """The sort key of the last prompt on a page."""

    name: str
    id: UUID


class VersionCursor(msgspec.Struct, array_like=True):
    """The number of the last (oldest) version on a page."""

    version: int


def to_prompt(row: m.Prompt, latest: int) -> Prompt:
    """The client view of a prompt row."""
    return Prompt(
        id=row.id,
        owner_id=row.owner_id,
        name=row.name,
        description=row.description,
        latest_version=latest,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def to_version(row: m.PromptVersion) -> PromptVersion:
    """The client view of a version row."""
    return PromptVersion(
        prompt_id=row.prompt_id,
        version=row.version,
        template=row.template,
        variable_names=template_variables(row.template),
        variables=row.variables,
        note=row.note,
        created_at=row.created_at,
    )


def unified_diff(old: m.PromptVersion, new: m.PromptVersion) -> str:
    """The unified diff of two versions' templates (headers ``v<a>`` and ``v<b>``), one
    line each, a template's last line whether or not it ends with a newline."""
    lines = difflib.unified_diff(
        old.template.splitlines(),
        new.template.splitlines(),
        fromfile=f"v{old.version}",
        tofile=f"v{new.version}",
        lineterm="",
    )
    return "".join(f"{line}\n" for line in lines)


class PromptService:
    """Prompt use cases of one caller over one DB session (one unit of work per request).

    A member reaches only their own prompts; an admin reaches all.
    """

    def __init__(self, session: AsyncSession, caller: Principal) -> None:
        self._session = session
        self._caller = caller
        self._prompts = PromptStore(session, caller.scope)

    async def create(self, data: PromptCreate) -> PromptCreated:
        """Store a prompt and its version 1."""
        check_no_nul(data)
        check_defaults(data.template, data.variables or {})
        return await run_unit(self._session, lambda: self._create(data))

    async def _create(self, data: PromptCreate) -> PromptCreated:
        row = await self._prompts.add(
            m.Prompt(
                id=uuid.uuid4(),
                owner_id=self._caller.id,
                name=data.name,
                description=data.description,
            )
        )
        version = await self._prompts.add_version(
            m.PromptVersion(
                prompt_id=row.id, version=1, template=data.template, variables=data.variables or {}
            )
        )
        await commit(self._session, "the prompt")
        return PromptCreated(
            **msgspec.structs.asdict(to_prompt(row, 1)), version=to_version(version)
        )

    async def list(self, limit: int, cursor: str | None) -> PromptPage:
        """A page of the caller's prompts (an admin's: everyone's) by name."""
        after = cursors.decode_cursor(cursor, PromptCursor) if cursor else None
        rows = await self._prompts.page(limit + 1, (after.name, after.id) if after else None)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1][0]
            next_cursor = cursors.encode_cursor(PromptCursor(last.name, last.id))
        return PromptPage(data=[to_prompt(*found) for found in rows], next_cursor=next_cursor)

    async def get(self, prompt_id: UUID) -> Prompt:
        """One prompt, or a 404."""
        return to_prompt(*await self._prompts.get(prompt_id))

    async def update(self, prompt_id: UUID, data: PromptUpdate) -> Prompt:
        """Rename a prompt or change its description; a 409 for a name taken."""
        check_no_nul(data)
        return await run_unit(self._session, lambda: self._update(prompt_id, data))

    async def _update(self, prompt_id: UUID, data: PromptUpdate) -> Prompt:
        row, latest = await self._prompts.get(prompt_id, lock=True)
        changes = {
            name: getattr(data, name)
            for name in data.__struct_fields__
            if getattr(data, name) is not msgspec.UNSET
        }
        row = await self._prompts.change(row, changes)
        await commit(self._session, "the change")
        return to_prompt(row, latest)

    async def delete(self, prompt_id: UUID) -> None:
        """Delete a prompt softly (replies keep the versions they name)."""
        await run_unit(self._session, lambda: self._delete(prompt_id))

    async def _delete(self, prompt_id: UUID) -> None:
        row, _ = await self._prompts.get(prompt_id, lock=True)
        await self._prompts.delete(row)
        await commit(self._session, "the deletion")

    async def add_version(self, prompt_id: UUID, data: VersionCreate) -> PromptVersion:
        """Store the next version of a prompt. Numbered under the prompt's row lock, so
        two versions written at once get consecutive numbers."""
        check_no_nul(data)
        check_defaults(data.template, data.variables or {})
        return await run_unit(self._session, lambda: self._add_version(prompt_id, data))

    async def _add_version(self, prompt_id: UUID, data: VersionCreate) -> PromptVersion:
        _, latest = await self._prompts.get(prompt_id, lock=True)
        version = await self._prompts.add_version(
            m.PromptVersion(
                prompt_id=prompt_id,
                version=latest + 1,
                template=data.template,
                variables=data.variables or {},
                note=data.note,
            )
        )
        await commit(self._session, "the version")
        return to_version(version)

    async def versions(self, prompt_id: UUID, limit: int, cursor: str | None) -> VersionPage:
        """A page of a prompt's versions, newest first."""
        before = cursors.decode_cursor(cursor, VersionCursor).version if cursor else None
        await self._prompts.get(prompt_id)
        rows = await self._prompts.versions(prompt_id, limit + 1, before)
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = cursors.encode_cursor(VersionCursor(rows[-1].version))
        return VersionPage(data=[to_version(row) for row in rows], next_cursor=next_cursor)

    async def version(self, prompt_id: UUID, version: int) -> PromptVersion:
        """One version of a prompt, or a 404."""
        await self._prompts.get(prompt_id)
        return to_version(await self._prompts.version(prompt_id, version))

    async def diff(self, prompt_id: UUID, old: int, new: int) -> VersionDiff:
        """The unified diff from version ``old`` to version ``new`` of a prompt."""
        await self._prompts.get(prompt_id)
        before = await self._prompts.version(prompt_id, old)
        after = await self._prompts.version(prompt_id, new)
        # difflib is pure Python and quadratic at worst: off the event loop.
        text = await anyio.to_thread.run_sync(unified_diff, before, after)
        return VersionDiff(prompt_id=prompt_id, from_version=old, to_version=new, diff=text)
