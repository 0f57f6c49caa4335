"""Thread operations: create, list by activity, update, delete, fork and switch branch."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import BadRequestError, ConflictError, ForbiddenError
from api.generation.manager import GenerationManager
from api.llm.router import ModelRouter
from api.preconditions import IfMatch
from api.prompts.resolve import check_thread_prompt
from api.schemas.auth import Principal
from api.schemas.params import ChatParams
from api.schemas.threads import Thread, ThreadCreate, ThreadPage, ThreadUpdate
from api.schemas.tools import ClientFunction
from api.schemas.views import to_thread
from api.stores.messages import MessageStore, message_in
from api.stores.prompts import PromptStore
from api.stores.threads import ThreadStore
from api.threads.cursor import ThreadCursor, decode_cursor, encode_cursor
from api.tools.registry import ToolRegistry
from api.unit_of_work import commit, run_unit
from api.validation import check_model, check_no_nul, check_tools
from db import models as m

# The fields that say which system prompt a thread has.
PROMPT_FIELDS = {"system_prompt", "prompt_id", "prompt_version", "prompt_variables"}


def _prompt_state(row: m.Thread, changes: dict[str, Any]) -> dict[str, Any]:
    """The prompt fields a thread will have after ``changes``: another prompt starts
    from its latest version and no variables, unless the change says otherwise."""
    prompt_id = changes.get("prompt_id", row.prompt_id)
    keep = prompt_id is not None and prompt_id == row.prompt_id
    return {
        "system_prompt": changes.get("system_prompt", row.system_prompt),
        "prompt_id": prompt_id,
        "prompt_version": changes.get(
            "prompt_version", (row.prompt_version or "latest") if keep else None
        ),
        "prompt_variables": changes.get("prompt_variables", row.prompt_variables if keep else None),
    }


class ThreadService:
    """Thread use cases of one caller over one DB session (one unit of work per request).

    A member reaches only their own threads; an admin reaches all.
    """

    def __init__(
        self,
        session: AsyncSession,
        models: ModelRouter,
        tools: ToolRegistry,
        generations: GenerationManager,
        caller: Principal,
    ) -> None:
        self._session = session
        self._caller = caller
        self._threads = ThreadStore(session, caller.scope)
        self._messages = MessageStore(session)
        self._prompts = PromptStore(session, caller.scope)
        self._models = models
        self._tools = tools
        self._generations = generations

    async def create(self, data: ThreadCreate) -> Thread:
        """Store a new thread; model defaults to the service's default model."""
        check_no_nul(data)
        model = data.model or self._models.default_model
        check_model(self._models, model)
        tools: list[str | ClientFunction] = (
            list(self._tools.default_names()) if data.tools is None else data.tools
        )
        check_tools(self._tools, tools)
        return await run_unit(self._session, lambda: self._create(data, model, tools))

    async def _create(
        self, data: ThreadCreate, model: str, tools: list[str | ClientFunction]
    ) -> Thread:
        prompt = await self._prompt_settings(
            {
                "system_prompt": data.system_prompt,
                "prompt_id": data.prompt_id,
                "prompt_version": data.prompt_version,
                "prompt_variables": data.prompt_variables,
            }
        )
        row = await self._threads.add(
            m.Thread(
                id=uuid.uuid4(),
                owner_id=self._caller.id,
                title=data.title,
                default_system_prompt=data.default_system_prompt,
                **prompt,
                model=model,
                params=msgspec.to_builtins(data.params or ChatParams()),
                tools=msgspec.to_builtins(tools),
                metadata_=data.metadata or {},
            )
        )
        await commit(self._session, "the thread")
        return to_thread(row)

    async def _prompt_settings(self, state: dict[str, Any]) -> dict[str, Any]:
        """The prompt columns of a thread in ``state`` (the four ``PROMPT_FIELDS``),
        checked: a literal system prompt or a prompt of the caller's library, not both,
        and variables that fill the version exactly."""
        prompt_id, version = state["prompt_id"], state["prompt_version"]
        variables = state["prompt_variables"] or {}
        if prompt_id is None:
            if version is not None or variables:
                field = "prompt_version" if version is not None else "prompt_variables"
                raise BadRequestError(f"{field} needs a prompt_id", extra={"field": field})
            return {
                "system_prompt": state["system_prompt"],
                "prompt_id": None,
                "prompt_version": None,
                "prompt_variables": {},
            }
        if state["system_prompt"] is not None:
            raise BadRequestError(
                "a thread has either a system_prompt or a prompt_id, not both",
                extra={"field": "system_prompt"},
            )
        number = None if version in (None, "latest") else version
        await check_thread_prompt(self._prompts, prompt_id, number, variables)
        return {
            "system_prompt": None,
            "prompt_id": prompt_id,
            "prompt_version": number,
            "prompt_variables": variables,
        }

    async def list(self, limit: int, cursor: str | None, owner: UUID | None = None) -> ThreadPage:
        """A page of the caller's threads (an admin's: everyone's, or ``owner``'s),
        newest activity first."""
        if owner is not None and owner != self._caller.id and not self._caller.is_admin:
            raise ForbiddenError(
                "only an admin lists the threads of another principal",
                extra={"field": "owner"},
            )
        after = decode_cursor(cursor) if cursor else None
        rows = await self._threads.page(
            limit + 1, (after.last_activity_at, after.id) if after else None, owner
        )
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = encode_cursor(ThreadCursor(last.last_activity_at, last.id))
        return ThreadPage(data=[to_thread(row) for row in rows], next_cursor=next_cursor)

    async def get(self, thread_id: UUID) -> Thread:
        """One thread, or a 404."""
        return to_thread(await self._threads.get(thread_id))

    async def update(
        self, thread_id: UUID, data: ThreadUpdate, if_match: IfMatch | None = None
    ) -> Thread:
        """Change the fields present in ``data`` (if the thread still matches ``if_match``)."""
        check_no_nul(data)
        return await run_unit(self._session, lambda: self._update(thread_id, data, if_match))

    async def _update(
        self, thread_id: UUID, data: ThreadUpdate, if_match: IfMatch | None
    ) -> Thread:
        row = await self._threads.get(thread_id, lock=True)
        if if_match is not None:
            if_match.require(row.version, lambda: to_thread(row))
        changes: dict[str, Any] = {
            name: getattr(data, name)
            for name in data.__struct_fields__
            if getattr(data, name) is not msgspec.UNSET
        }
        if "model" in changes:
            check_model(self._models, changes["model"])
        if "tools" in changes:
            check_tools(self._tools, changes["tools"])
            changes["tools"] = msgspec.to_builtins(changes["tools"])
        if "params" in changes:
            changes["params"] = msgspec.to_builtins(changes["params"])
        if "metadata" in changes:
            changes["metadata_"] = changes.pop("metadata")
        if PROMPT_FIELDS & changes.keys():
            changes.update(await self._prompt_settings(_prompt_state(row, changes)))
        row = await self._threads.change(row, changes)
        await commit(self._session, "the change")
        return to_thread(row)

    async def delete(self, thread_id: UUID, if_match: IfMatch | None = None) -> None:
        """Delete a thread and its messages (if it still matches ``if_match``), stopping
        its generation first."""
        await run_unit(self._session, lambda: self._delete(thread_id, if_match))

    async def _delete(self, thread_id: UUID, if_match: IfMatch | None) -> None:
        row = await self._threads.get(thread_id)
        if if_match is not None:
            # A stale delete stops no reply.
            if_match.require(row.version, lambda: to_thread(row))
        await self._generations.cancel(thread_id)
        if if_match is not None:
            # The check the delete relies on, held by the lock until it commits (the
            # stopped reply's final write moves only the activity clock, which the
            # version ignores).
            row = await self._threads.get(thread_id, lock=True)
            if_match.require(row.version, lambda: to_thread(row))
        await self._threads.delete(row)
        await commit(self._session, "the deletion")

    async def fork(self, thread_id: UUID, message_id: UUID) -> Thread:
        """A new thread holding a copy of the path root→``message_id`` and the same settings."""
        return await run_unit(self._session, lambda: self._fork(thread_id, message_id))

    async def _fork(self, thread_id: UUID, message_id: UUID) -> Thread:
        source = await self._threads.get(thread_id)
        tree = await self._messages.tree(thread_id)
        target = message_in(tree, thread_id, message_id)
        path = tree.path_to(target.id)
        if any(row.status == "in_progress" for row in path):
            raise ConflictError(f"message {message_id} is still being generated; fork it later")
        fork = await self._threads.add(
            m.Thread(
                id=uuid.uuid4(),
                owner_id=self._caller.id,
                title=f"{source.title} (fork)" if source.title else None,
                system_prompt=source.system_prompt,
                default_system_prompt=source.default_system_prompt,
                prompt_id=source.prompt_id,
                prompt_version=source.prompt_version,
                prompt_variables=source.prompt_variables,
                model=source.model,
                params=source.params,
                tools=source.tools,
                metadata_={
                    **source.metadata_,
                    "forked_from": {"thread_id": str(thread_id), "message_id": str(message_id)},
                },
            )
        )
        head_id = await self._messages.copy_path(path, fork.id)
        await self._threads.set_head(fork.id, head_id, activity=False)
        await commit(self._session, "the fork")
        return to_thread(await self._threads.get(fork.id))

    async def set_head(
        self, thread_id: UUID, message_id: UUID, if_match: IfMatch | None = None
    ) -> Thread:
        """Make the newest leaf under ``message_id`` the head of the thread (if it still
        matches ``if_match``)."""
        return await run_unit(
            self._session, lambda: self._set_head(thread_id, message_id, if_match)
        )

    async def _set_head(
        self, thread_id: UUID, message_id: UUID, if_match: IfMatch | None
    ) -> Thread:
        row = await self._threads.get(thread_id, lock=True)
        if if_match is not None:
            if_match.require(row.version, lambda: to_thread(row))
        tree = await self._messages.tree(thread_id)
        target = message_in(tree, thread_id, message_id)
        await self._threads.set_head(thread_id, tree.newest_leaf(target.id).id, activity=False)
        await commit(self._session, "the branch switch")
        return to_thread(await self._threads.get(thread_id))
