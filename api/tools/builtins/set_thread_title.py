"""``set_thread_title``: the model names the thread it is talking in."""

from __future__ import annotations

from typing import Annotated

import msgspec

from api.stores.threads import ThreadStore
from api.tools.base import Tool, ToolContext, ToolError

TITLE_MAX_CHARS = 80


class SetThreadTitleArgs(msgspec.Struct, forbid_unknown_fields=True):
    """Arguments of ``set_thread_title``."""

    title: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=TITLE_MAX_CHARS,
            description="A short, specific title for the conversation (a few words).",
        ),
    ]


async def set_thread_title(args: SetThreadTitleArgs, ctx: ToolContext) -> dict[str, str]:
    """Store the title on the calling thread (and bump its ``updated_at``).

    Runs in a short transaction of its own: the caller must not hold an uncommitted
    lock on the thread row meanwhile, or this waits until the tool's timeout.
    """
    title = " ".join(args.title.split())
    if not title:
        raise ToolError("invalid arguments for set_thread_title: title must not be blank")
    async with ctx.session_factory() as session, session.begin():
        if not await ThreadStore(session).set_title(ctx.thread_id, title):
            raise ToolError(f"thread {ctx.thread_id} no longer exists")
    return {"title": title}


TOOL = Tool(
    name="set_thread_title",
    description=(
        "Set the title of the current conversation thread, as shown in the thread list. "
        "Use a few specific words."
    ),
    arguments=SetThreadTitleArgs,
    handler=set_thread_title,
    timeout_s=5,
)
