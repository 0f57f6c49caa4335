"""Replay: send the stored request behind a reply again, exactly, and store the answer
as a new sibling of that reply (README "The request behind a reply").

The model gets the composed messages and tools as they were sent then, not the thread
as it is now: a later edit of an earlier message does not change what is replayed.
Everything else is a regeneration: one run per thread, quotas, ``Idempotency-Key``.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from api.llm.request import SentRequest, read_sent
from api.messages.idempotency import IdempotentRequest
from api.messages.rules import no_request_logged
from api.messages.sending import SendService, StartedGeneration
from api.schemas.params import ChatParams, merge_params
from api.schemas.requests import Replay
from api.stores.messages import message_in
from api.stores.requests import RequestLogStore
from api.validation import check_model, check_no_nul


class ReplayService(SendService):
    """A send service that can also replay a stored request."""

    async def replay(
        self,
        thread_id: UUID,
        message_id: UUID,
        body: Replay,
        idempotency_key: str | None = None,
    ) -> StartedGeneration:
        """Send the request behind reply ``message_id`` again (with ``body``'s model and
        params, if any); the answer becomes a new sibling of the reply."""
        return await self._retried(
            lambda: self._replay(thread_id, message_id, body, idempotency_key)
        )

    async def _replay(
        self, thread_id: UUID, message_id: UUID, body: Replay, idempotency_key: str | None
    ) -> StartedGeneration:
        check_no_nul(body)
        request = IdempotentRequest.of(idempotency_key, f"replay {thread_id} {message_id}", body)
        earlier = await self._settle(thread_id, request, body.if_busy)
        if earlier is not None:
            return earlier
        thread = await self._threads.get(thread_id, lock=True)
        tree = await self._messages.tree(thread_id)
        target = message_in(tree, thread_id, message_id)
        logged = await RequestLogStore(self._session).of_message(target.id)
        if logged is None:
            raise no_request_logged(target)
        sent, stored_params = read_sent(logged.request)
        model, params = self._replayed_model(sent, stored_params, body)
        path = tree.path_to(target.parent_id)
        return await self._start(thread, [], path, [(model, params)], request, tree, sent)

    def _replayed_model(
        self, sent: SentRequest, stored_params: dict[str, object], body: Replay
    ) -> tuple[str, dict[str, object]]:
        """The model (the body's, else the stored one), checked, and the stored params
        with the body's on top."""
        model = body.model or sent.model
        check_model(self._models, model)
        merged = merge_params(msgspec.convert(stored_params, ChatParams), body.params)
        return model, msgspec.to_builtins(merged)
