"""Dependency providers of the message endpoints."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from api.messages.replaying import ReplayService
from api.messages.sending import SendService
from api.messages.service import MessageService
from api.schemas.auth import Principal


def provide_message_service(
    state: State, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Principal]
) -> MessageService:
    """The message service of this request's caller, over its session."""
    return MessageService(db_session, state.models, state.settings.generation, caller)


def provide_send_service(
    state: State, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Principal]
) -> SendService:
    """The send service of this request's caller, over its session."""
    return SendService(
        db_session, state.models, state.generations, state.settings.generation, caller
    )


def provide_replay_service(
    state: State, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Principal]
) -> ReplayService:
    """The replay service of this request's caller, over its session."""
    return ReplayService(
        db_session, state.models, state.generations, state.settings.generation, caller
    )
