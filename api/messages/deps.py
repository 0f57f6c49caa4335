"""Dependency providers of the message endpoints."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from api.messages.sending import SendService
from api.messages.service import MessageService


def provide_message_service(
    state: State, db_session: NamedDependency[AsyncSession]
) -> MessageService:
    """The message service over this request's session."""
    return MessageService(db_session, state.models, state.settings.generation)


def provide_send_service(state: State, db_session: NamedDependency[AsyncSession]) -> SendService:
    """The send service over this request's session."""
    return SendService(db_session, state.models, state.generations, state.settings.generation)
