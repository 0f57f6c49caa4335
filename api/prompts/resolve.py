"""A thread's library prompt: checked when a thread is written, rendered for a reply.

A thread names a prompt (``prompt_id``), a version (a number, or NULL for the latest at
each reply) and values for its variables. Writing the thread checks all three against
the caller's prompts, so a typo is a 400 at once; a reply renders the version it is
generated with and records it on the reply row. A thread keeps rendering a prompt
deleted since: its versions stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import BadRequestError, NotFoundError
from api.prompts.template import render
from api.stores.prompts import PromptStore
from db import models as m


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """The system prompt of a reply and the version it was rendered from."""

    prompt_id: UUID
    version: int
    text: str


async def check_thread_prompt(
    prompts: PromptStore, prompt_id: UUID, version: int | None, variables: dict[str, Any]
) -> None:
    """A 400 naming the field when the prompt is not one of the caller's, the version
    does not exist, or the variables do not fill it exactly."""
    try:
        await prompts.get(prompt_id)
    except NotFoundError as exc:
        raise BadRequestError(exc.detail, extra={"field": "prompt_id"}) from exc
    try:
        row = await prompts.version(prompt_id, version)
    except NotFoundError as exc:
        raise BadRequestError(exc.detail, extra={"field": "prompt_version"}) from exc
    render(row.template, row.variables, variables)


async def thread_prompt(session: AsyncSession, thread: m.Thread) -> RenderedPrompt | None:
    """The rendered prompt of ``thread``'s next reply (None when it uses no prompt of
    the library); a 400 naming ``prompt_variables`` when they no longer fit (a new
    latest version with another variable)."""
    if thread.prompt_id is None:
        return None
    row = await PromptStore(session).version(thread.prompt_id, thread.prompt_version)
    text = render(row.template, row.variables, thread.prompt_variables)
    return RenderedPrompt(prompt_id=row.prompt_id, version=row.version, text=text)


async def exported_prompt(session: AsyncSession, thread: m.Thread) -> str | None:
    """The prompt of the library ``thread`` uses, rendered for an export (None when it
    uses none). An export never fails on it: variables that no longer fit its latest
    version leave the template as written."""
    if thread.prompt_id is None:
        return None
    row = await PromptStore(session).version(thread.prompt_id, thread.prompt_version)
    try:
        return render(row.template, row.variables, thread.prompt_variables)
    except BadRequestError:
        return row.template
