"""Message operations that generate nothing: read the active branch or one message,
store a message by hand, edit and delete (sending lives in ``api.messages.sending``)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ConflictError
from api.llm.router import ModelRouter
from api.messages.rules import choose_parent, no_request_logged, resolve_model
from api.preconditions import IfMatch
from api.schemas.auth import Principal
from api.schemas.messages import EditMessage, Message, MessageList, SendMessage
from api.schemas.requests import MessageRequest, to_model_call
from api.schemas.views import to_message
from api.settings import GenerationSettings
from api.stores.messages import MessageStore, message_in, new_message
from api.stores.requests import RequestLogStore
from api.stores.threads import ThreadStore
from api.stores.tree import MessageTree
from api.unit_of_work import commit, run_unit
from api.validation import check_content, check_no_nul
from db import models as m


class MessageService:
    """Message use cases of one caller over one DB session (one unit of work per
    request); every one first finds the thread in the caller's scope."""

    def __init__(
        self,
        session: AsyncSession,
        models: ModelRouter,
        settings: GenerationSettings,
        caller: Principal,
    ) -> None:
        self._session = session
        self._threads = ThreadStore(session, caller.scope)
        self._messages = MessageStore(session)
        self._models = models
        self._max_chars = settings.playground_max_content_chars

    async def list_branch(self, thread_id: UUID) -> MessageList:
        """The active branch of a thread, oldest first, with each message's siblings."""
        thread = await self._threads.get(thread_id)
        tree = await self._messages.tree(thread_id)
        path = tree.path_to(thread.head_id)
        return MessageList(data=[to_message(row, tree.sibling_ids(row)) for row in path])

    async def get(self, thread_id: UUID, message_id: UUID) -> Message:
        """One message of the thread, or a 404."""
        await self._threads.get(thread_id)
        tree = await self._messages.tree(thread_id)
        row = message_in(tree, thread_id, message_id)
        return to_message(row, tree.sibling_ids(row))

    async def request_log(self, thread_id: UUID, message_id: UUID) -> MessageRequest:
        """The model calls of the run that wrote a reply, as sent, or a 404."""
        await self._threads.get(thread_id)
        tree = await self._messages.tree(thread_id)
        row = message_in(tree, thread_id, message_id)
        logs = RequestLogStore(self._session)
        own = await logs.of_message(row.id)
        if own is None:
            raise no_request_logged(row)
        rounds = await logs.of_run(own.generation_id, thread_id, row.variant)
        return MessageRequest(
            message_id=row.id,
            generation_id=own.generation_id,
            rounds=[to_model_call(call) for call in rounds],
        )

    async def append(self, thread_id: UUID, body: SendMessage) -> Message:
        """Store a message without generating (few-shot turns built by hand)."""
        check_content(body.content, self._max_chars)
        check_no_nul(body)
        return await run_unit(self._session, lambda: self._append(thread_id, body))

    async def _append(self, thread_id: UUID, body: SendMessage) -> Message:
        thread = await self._threads.get(thread_id, lock=True)
        # Nothing is generated, but a bad model or params is still a mistake worth naming.
        resolve_model(self._models, thread, body.model, body.params)
        tree = await self._messages.tree(thread_id)
        parent = choose_parent(thread, tree, body.parent_id)
        row = new_message(thread_id, parent.id if parent else None, body.role, body.content)
        await self._messages.add([row])
        await self._threads.set_head(thread_id, row.id)
        await commit(self._session, "the message")
        return await self._view(row.id)

    async def edit(
        self,
        thread_id: UUID,
        message_id: UUID,
        body: EditMessage,
        if_match: IfMatch | None = None,
    ) -> Message:
        """Replace a message's content in place (its replies are left as they are), if
        it still matches ``if_match``."""
        check_content(body.content, self._max_chars)
        check_no_nul(body)
        return await run_unit(
            self._session, lambda: self._edit(thread_id, message_id, body, if_match)
        )

    async def _edit(
        self, thread_id: UUID, message_id: UUID, body: EditMessage, if_match: IfMatch | None
    ) -> Message:
        await self._threads.get(thread_id, lock=True)
        tree = await self._messages.tree(thread_id)
        row = await self._matching(tree, thread_id, message_id, if_match)
        if row.status == "in_progress":
            raise ConflictError(f"message {message_id} is still being generated")
        await self._messages.edit(row, body.content)
        await commit(self._session, "the edit")
        return await self._view(row.id)

    async def delete(
        self, thread_id: UUID, message_id: UUID, if_match: IfMatch | None = None
    ) -> None:
        """Delete a message and its descendants (if it still matches ``if_match``); the
        head moves up if it was below."""
        await run_unit(self._session, lambda: self._delete(thread_id, message_id, if_match))

    async def _delete(self, thread_id: UUID, message_id: UUID, if_match: IfMatch | None) -> None:
        thread = await self._threads.get(thread_id, lock=True)
        tree = await self._messages.tree(thread_id)
        row = await self._matching(tree, thread_id, message_id, if_match)
        doomed = tree.subtree(row.id)
        running = [item.id for item in doomed if item.status == "in_progress"]
        if running:
            raise ConflictError(
                f"message {running[0]} is still being generated; cancel it first",
                extra={"message_id": str(running[0])},
            )
        if thread.head_id in {item.id for item in doomed}:
            await self._threads.set_head(thread_id, row.parent_id)
        await self._messages.delete(row)
        await commit(self._session, "the deletion")

    async def _matching(
        self, tree: MessageTree, thread_id: UUID, message_id: UUID, if_match: IfMatch | None
    ) -> m.Message:
        """The message of the thread (or a 404); with ``if_match``, locked and checked
        against it (or a 412), so that its version holds until the write commits."""
        row = message_in(tree, thread_id, message_id)
        if if_match is not None:
            row = await self._messages.lock(message_id)
            if_match.require(row.version, lambda: to_message(row, tree.sibling_ids(row)))
        return row

    async def _view(self, message_id: UUID) -> Message:
        row = await self._messages.get(message_id)
        return to_message(row, await self._messages.sibling_ids(row))
