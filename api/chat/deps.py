"""Dependency providers of the chat endpoints."""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from api.chat.service import ChatService
from api.messages.sending import SendService
from api.schemas.auth import Principal


def provide_chat_service(
    state: State, db_session: NamedDependency[AsyncSession], caller: NamedDependency[Principal]
) -> ChatService:
    """The chat service of this request's caller, over its session."""
    sending = SendService(
        db_session, state.models, state.generations, state.settings.generation, caller
    )
    return ChatService(db_session, caller, sending, state.generations)
