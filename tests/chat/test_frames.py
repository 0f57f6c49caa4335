"""What the chat streams write beside the chunks (no HTTP, no database), as every event
stream of the API does: ``retry:`` joined to the first chunks, and a keep-alive comment
for each quiet interval (``GenerationManager.follow_or_idle`` yields None then). The
AI SDK's parser (eventsource-parser) skips both."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import msgspec

from api.chat.translate import DONE_FRAME, ChunkTranslator, ui_frames
from api.generation.feed import with_retry
from api.schemas.events import Event, MessageDelta
from api.schemas.sse import KEEPALIVE_FRAME, RETRY_FIELD

MESSAGE = uuid.uuid4()
DELTA = msgspec.json.encode(MessageDelta(message_id=MESSAGE, content="Hi")).decode()


async def quiet_reply() -> AsyncIterator[Event | None]:
    yield None
    yield Event(seq=1, name="message.delta", data=DELTA)
    yield None
    yield Event(seq=2, name="done", data="{}")


async def test_retry_joins_the_first_chunks_and_quiet_intervals_are_comments() -> None:
    translator = ChunkTranslator(
        thread_id=uuid.uuid4(),
        generation_id=uuid.uuid4(),
        reply_id=MESSAGE,
        user_id=None,
        client_functions=(),
    )
    written = [frame async for frame in with_retry(ui_frames(quiet_reply(), translator))]
    assert len(written) == 4
    assert written[0] is KEEPALIVE_FRAME
    assert written[1].startswith(RETRY_FIELD + b'data: {"type":"text-start"')
    assert written[2] is KEEPALIVE_FRAME
    assert written[3].endswith(DONE_FRAME)
    assert RETRY_FIELD not in written[3]
