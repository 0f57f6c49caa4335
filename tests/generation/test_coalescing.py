"""Coalescing of reply text, on the stream objects themselves (no HTTP, no database).

The rule (``api.generation.stream`` and ``api.generation.feed``): text published while
no reader took the open delta event joins it; a follower that is behind writes a run
of deltas of one message as one frame with the id of the run's last event; a follower
that is caught up writes each event's shared frame as is.
"""

from __future__ import annotations

import json
import uuid

from api.generation.feed import MAX_BATCH_BYTES, read_batch
from api.generation.stream import MAX_OPEN_DELTA_CHARS, GenerationStream
from api.schemas.events import encode_payload

MESSAGE = uuid.uuid4()


def event_id(stream: GenerationStream, seq: int) -> str:
    return f"{stream.id}:{seq}"


def new_stream() -> GenerationStream:
    return GenerationStream(uuid.uuid4(), uuid.uuid4(), MESSAGE)


def frames_of(stream: GenerationStream, batch: bytes) -> list[tuple[str, str, dict[str, object]]]:
    """``(id, event, data)`` of each frame in ``batch``."""
    frames = []
    for block in batch.decode().split("\n\n")[:-1]:
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        frames.append((fields["id"], fields["event"], json.loads(fields["data"])))
    return frames


def test_text_joins_the_open_delta_until_a_reader_takes_it() -> None:
    stream = new_stream()
    stream.publish("message.created", encode_payload({"message": "x"}))
    for word in ("a ", "b ", "c "):
        stream.publish_delta(MESSAGE, word)
    batch, position = read_batch(stream, 1)
    assert frames_of(stream, batch) == [
        (event_id(stream, 2), "message.delta", {"message_id": str(MESSAGE), "content": "a b c "})
    ]
    # Sealed by that read: the next text is a new event, and the log matches what was sent.
    stream.publish_delta(MESSAGE, "d")
    batch, position = read_batch(stream, position)
    assert frames_of(stream, batch)[0][0] == event_id(stream, 3)
    assert [event.seq for event in stream.take_unpersisted()] == [1, 2, 3]


def test_a_caught_up_follower_writes_the_shared_frame() -> None:
    stream = new_stream()
    stream.publish_delta(MESSAGE, "hello")
    first, _ = read_batch(stream, 0)
    second, _ = read_batch(stream, 0)
    # The same bytes object for every follower: built once, never re-encoded.
    assert first is second is stream.frames[0]


def test_a_follower_behind_gets_one_frame_per_run_with_the_last_id() -> None:
    stream = new_stream()
    stream.publish("message.created", encode_payload({"message": "x"}))
    for word in ("a ", "b ", "c "):
        stream.publish_delta(MESSAGE, word)
        read_batch(stream, len(stream.events))  # a fast follower seals each one
    stream.publish("message.completed", encode_payload({"message": "x"}))
    stream.publish("done", encode_payload({}))
    batch, position = read_batch(stream, 0)
    assert position == len(stream.events) == 6
    assert [(frame_id, name) for frame_id, name, _ in frames_of(stream, batch)] == [
        (event_id(stream, 1), "message.created"),
        (event_id(stream, 4), "message.delta"),
        (event_id(stream, 5), "message.completed"),
        (event_id(stream, 6), "done"),
    ]
    assert frames_of(stream, batch)[1][2]["content"] == "a b c "
    # Resuming after the merged frame's id gives exactly the rest.
    rest, _ = read_batch(stream, 4)
    assert [name for _, name, _ in frames_of(stream, rest)] == ["message.completed", "done"]


def test_deltas_of_different_messages_stay_apart() -> None:
    stream = new_stream()
    other = uuid.uuid4()
    stream.publish_delta(MESSAGE, "first")
    stream.publish_delta(other, "second")
    stream.seal()
    batch, _ = read_batch(stream, 0)
    contents = [data["content"] for _, _, data in frames_of(stream, batch)]
    assert contents == ["first", "second"]


def test_events_and_batches_stay_bounded() -> None:
    stream = new_stream()
    word = "x" * 100
    for _ in range(2000):
        stream.publish_delta(MESSAGE, word)
    stream.seal()
    # An open event stops taking text once full: no event grows with the reply.
    sizes = [len(json.loads(event.data)["content"]) for event in stream.events]
    assert max(sizes) <= MAX_OPEN_DELTA_CHARS + len(word)
    assert sum(sizes) == 2000 * len(word)
    # A follower far behind reads the log in batches of about MAX_BATCH_BYTES.
    position = 0
    texts: list[str] = []
    while position < len(stream.events):
        batch, position = read_batch(stream, position)
        assert len(batch) <= MAX_BATCH_BYTES + max(len(frame) for frame in stream.frames)
        texts.extend(str(data["content"]) for _, _, data in frames_of(stream, batch))
    assert "".join(texts) == word * 2000
