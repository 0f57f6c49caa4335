"""A tool round: run the calls of a finished turn, store them in the tree, and set up
the next turn (README "Function calling").

Each round is stored as rows of the message tree: the assistant turn with its
``tool_calls``, one ``tool`` message per result, then a new assistant reply. A call
of a client-defined function ends the generation with the reply in status
``requires_action`` until the client posts the outputs.
"""

from __future__ import annotations

import uuid
from uuid import UUID

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.generation.finish import store_reply
from api.generation.plan import GenerationPlan, Turn
from api.generation.reply import Reply
from api.generation.stream import GenerationStream
from api.generation.tools_step import CallResult, run_calls
from api.llm.request import AssistantMessage, ToolMessage
from api.schemas.events import MessageCompleted, MessageCreated, encode_payload
from api.schemas.views import to_message
from api.stores.generations import GenerationStore
from api.stores.messages import MessageStore, new_message, reply_placeholder
from api.stores.threads import ThreadStore
from api.tools.base import ToolContext
from api.tools.registry import ToolRegistry
from db import models as m

# The finish reason of a reply whose model still wanted tools after the last round.
MAX_TOOL_ROUNDS_REASON = "max_tool_rounds"


class ToolRounds:
    """Runs and stores the tool rounds of generations, up to ``max_rounds`` each."""

    def __init__(
        self,
        owner: str,
        session_factory: async_sessionmaker[AsyncSession],
        registry: ToolRegistry,
        max_rounds: int,
    ) -> None:
        self._owner = owner
        self._session_factory = session_factory
        self._registry = registry
        self._max_rounds = max_rounds

    async def run(
        self,
        session: AsyncSession,
        plan: GenerationPlan,
        stream: GenerationStream,
        turn: Turn,
        reply: Reply,
    ) -> Turn | None:
        """Run the calls of a finished turn, store the round, and return the next turn
        (None when the generation ends here: round limit, or the client must answer)."""
        turn.rounds += 1
        for call in reply.tool_calls:
            call.id = call.id or f"call_{uuid.uuid4().hex[:24]}"
        if turn.rounds > self._max_rounds:
            reply.finish_reason = MAX_TOOL_ROUNDS_REASON
            return None
        results = await run_calls(
            reply.tool_calls,
            assistant_id=turn.assistant_id,
            enabled=set(plan.tools),
            registry=self._registry,
            client_functions=plan.client_functions,
            context=ToolContext(
                session_factory=self._session_factory,
                thread_id=plan.thread_id,
                owner_id=plan.owner_id,
                request_message_id=plan.user_id,
            ),
            stream=stream,
        )
        if any(result.pending for result in results):
            reply.status = "requires_action"
        next_turn: Turn | None = None
        with anyio.CancelScope(shield=True):
            next_turn = await self._store(session, plan, stream, turn, reply, results)
        return next_turn

    async def _store(
        self,
        session: AsyncSession,
        plan: GenerationPlan,
        stream: GenerationStream,
        turn: Turn,
        reply: Reply,
        results: list[CallResult],
    ) -> Turn | None:
        # The thread first (one lock order), then whether this process still owns the
        # generation: a reaped one ends here, and the final write says how.
        await ThreadStore(session).lock(plan.thread_id)
        if not await GenerationStore(session).owns(plan.generation_id, self._owner):
            await session.rollback()
            return None
        answered = [result for result in results if not result.pending]
        rows = _tool_rows(plan.thread_id, turn.assistant_id, answered)
        parent_id = rows[-1].id if rows else turn.assistant_id
        messages = MessageStore(session)
        await messages.add_chain(rows)
        if reply.status == "requires_action":
            await ThreadStore(session).set_head(plan.thread_id, parent_id)
            await session.commit()
            return None
        finished = await store_reply(session, plan, turn, reply)
        placeholder = reply_placeholder(
            plan.thread_id,
            parent_id,
            model=plan.model,
            params=plan.params,
            request_message_count=len(turn.context) + 1 + len(answered),
            prompt=plan.prompt,
        )
        await messages.add([placeholder])
        await GenerationStore(session).move_to(plan.generation_id, placeholder.id)
        await ThreadStore(session).set_head(plan.thread_id, placeholder.id)
        await session.commit()
        if finished is not None:
            stream.publish("message.completed", encode_payload(MessageCompleted(message=finished)))
        # The first reply below a new tool row: it has no siblings.
        created = to_message(placeholder, [placeholder.id])
        stream.publish("message.created", encode_payload(MessageCreated(message=created)))
        context = [
            *turn.context,
            AssistantMessage(
                content=reply.content or None,
                tool_calls=[call.as_call() for call in reply.tool_calls],
            ),
            *(
                ToolMessage(tool_call_id=r.call.id, content=r.outcome.model_text())
                for r in answered
            ),
        ]
        return Turn(
            assistant_id=placeholder.id,
            context=context,
            sibling_ids=[placeholder.id],
            rounds=turn.rounds,
        )


def _tool_rows(thread_id: UUID, assistant_id: UUID, answered: list[CallResult]) -> list[m.Message]:
    """One tool row per answered call, chained below the assistant turn in call order."""
    rows = []
    parent_id = assistant_id
    for result in answered:
        rows.append(
            new_message(
                thread_id,
                parent_id,
                "tool",
                result.outcome.model_text(),
                id=result.tool_message_id,
                error=result.outcome.error,
                tool_call_id=result.call.id,
            )
        )
        parent_id = result.tool_message_id
    return rows
