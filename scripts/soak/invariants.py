"""The soak's checks, after the load stops and replies settle: what the users saw
against what Postgres stored, read with plain SQL.

Each check is a :class:`Check` with the number of cases it looked at and, when it
fails, up to :data:`EXAMPLES` examples naming ids and what was stored.
"""

from __future__ import annotations

import asyncio

import asyncpg

from api.stores.messages import INTERRUPTED_ERROR
from scripts.soak.chaos import SOAK_APPLICATION
from scripts.soak.journal import Journal, StreamSeen
from scripts.soak.records import Check, RssGrowth

EXAMPLES = 10
SETTLE_POLL_S = 0.5

_UNSETTLED = """
SELECT (SELECT count(*) FROM message WHERE status = 'in_progress')
     + (SELECT count(*) FROM generation WHERE status = 'running')
"""


def _check(name: str, checked: int, bad: list[str], detail: str) -> Check:
    return Check(
        name=name,
        passed=not bad,
        checked=checked,
        detail=detail if not bad else f"{len(bad)} of {checked}: {detail}",
        examples=bad[:EXAMPLES],
    )


async def settle(connection: asyncpg.Connection, timeout_s: float) -> float:
    """Poll until no reply is in progress and no generation runs, at most ``timeout_s``;
    the seconds it took (the checks then say what was left, if anything)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while True:
        unsettled = await connection.fetchval(_UNSETTLED)
        if not unsettled or loop.time() - start >= timeout_s:
            return loop.time() - start
        await asyncio.sleep(SETTLE_POLL_S)


async def nothing_running(connection: asyncpg.Connection) -> Check:
    """No message ``in_progress`` and no generation ``running`` once replies settled."""
    messages = await connection.fetch(
        "SELECT id, thread_id, updated_at FROM message WHERE status = 'in_progress'"
    )
    generations = await connection.fetch(
        "SELECT id, thread_id, owner, heartbeat_at FROM generation WHERE status = 'running'"
    )
    checked = await connection.fetchval(
        "SELECT (SELECT count(*) FROM message) + (SELECT count(*) FROM generation)"
    )
    bad = [
        f"message {r['id']} (thread {r['thread_id']}) still in_progress, last written "
        f"{r['updated_at']:%H:%M:%S}"
        for r in messages
    ] + [
        f"generation {r['id']} (thread {r['thread_id']}) still running, owner {r['owner']}, "
        f"lease renewed {r['heartbeat_at']:%H:%M:%S}"
        for r in generations
    ]
    return _check("nothing left running", checked, bad, "messages and generations")


async def heads_valid(connection: asyncpg.Connection) -> Check:
    """Every thread's head is one of its own messages, or null when it has none."""
    rows = await connection.fetch(
        "SELECT t.id, t.head_id, h.thread_id AS head_thread,"
        " (SELECT count(*) FROM message x WHERE x.thread_id = t.id) AS messages"
        " FROM thread t LEFT JOIN message h ON h.id = t.head_id"
    )
    bad = []
    for r in rows:
        if r["head_id"] is None and r["messages"]:
            bad.append(f"thread {r['id']}: head null with {r['messages']} messages")
        elif r["head_id"] is not None and r["head_thread"] != r["id"]:
            bad.append(f"thread {r['id']}: head {r['head_id']} is in thread {r['head_thread']}")
    return _check("thread heads valid", len(rows), bad, "threads")


def _difference(stored: str, streamed: str) -> str:
    at = next(
        (i for i, (a, b) in enumerate(zip(stored, streamed, strict=False)) if a != b),
        min(len(stored), len(streamed)),
    )
    stored_part, streamed_part = stored[at : at + 24], streamed[at : at + 24]
    return f"first difference at {at}: stored {stored_part!r}, streamed {streamed_part!r}"


async def streamed_text_stored(connection: asyncpg.Connection, journal: Journal) -> Check:
    """Every stream seen to ``done`` whose last ``message.completed`` said completed
    assembled exactly the stored content (resumed streams included)."""
    streams = [s for s in journal.streams if s.done and s.final_status == "completed"]
    ids = sorted({s.final_message_id for s in streams if s.final_message_id})
    rows = await connection.fetch(
        "SELECT id::text AS id, status, content FROM message WHERE id = ANY($1::uuid[])", ids
    )
    stored = {r["id"]: (r["status"], r["content"]) for r in rows}
    bad = []
    for seen in streams:
        message_id = seen.final_message_id or ""
        status, content = stored.get(message_id, ("missing", ""))
        text = seen.texts.get(message_id, "")
        if status != "completed" or content != text:
            bad.append(
                f"message {message_id} ({_described(seen)}): stored {status} with "
                f"{len(content)} chars, streamed {len(text)} chars; {_difference(content, text)}"
            )
    resumed = sum(s.resumes > 0 for s in streams)
    return _check(
        "completed streams match the stored text",
        len(streams),
        bad,
        f"completed streams ({resumed} resumed)",
    )


def _described(seen: StreamSeen) -> str:
    route = " then ".join(str(r) for r in seen.replicas)
    seqs = [
        int(i.rpartition(":")[2]) for i in seen.event_ids if i.startswith(f"{seen.generation_id}:")
    ]
    missing = sorted(set(range(1, max(seqs, default=0) + 1)) - set(seqs))
    return (
        f"thread {seen.thread_id}, {seen.kind}, replicas {route}, {seen.resumes} resumes, "
        f"generation {seen.generation_id} events {len(seqs)} up to {max(seqs, default=0)}"
        + (f" missing {missing[:8]}" if missing else "")
    )


async def cancels_honoured(connection: asyncpg.Connection, journal: Journal) -> Check:
    """Every ``cancelled: true`` answer names a reply stored cancelled or interrupted."""
    answers = [c for c in journal.cancels if c.cancelled and c.message_id]
    rows = await connection.fetch(
        "SELECT id::text AS id, status, finish_reason, error FROM message"
        " WHERE id = ANY($1::uuid[])",
        [c.message_id for c in answers],
    )
    stored = {r["id"]: r for r in rows}
    bad = []
    for cancel in answers:
        row = stored.get(cancel.message_id or "")
        if row is None or row["status"] not in ("cancelled", "interrupted"):
            what = "missing" if row is None else f"{row['status']} ({row['finish_reason']})"
            error = "" if row is None or not row["error"] else f", error {row['error']!r}"
            bad.append(
                f"thread {cancel.thread_id}: cancel answered cancelled for message "
                f"{cancel.message_id}, stored {what}{error}"
            )
    return _check("cancels honoured", len(answers), bad, "cancelled: true answers")


async def _user_messages(connection: asyncpg.Connection, thread_id: str, content: str) -> int:
    # Edits append to a message's text, so the original is a prefix of what is stored.
    count = await connection.fetchval(
        "SELECT count(*) FROM message WHERE thread_id = $1::uuid AND role = 'user'"
        " AND left(content, length($2)) = $2",
        thread_id,
        content,
    )
    return int(count)


# Answers after which the user message is stored (a 502/504 stores it with a failed reply).
_STORED = (200, 502, 504)


def _expected_messages(statuses: tuple[int | None, int | None]) -> tuple[int, int]:
    """How many user messages a send and its retry may have stored, at least and at most."""
    if any(status in _STORED for status in statuses):
        return 1, 1
    # No answer may still have been a stored message (the replica died after storing it).
    return (0, 1) if None in statuses else (0, 0)


async def one_message_per_key(connection: asyncpg.Connection, journal: Journal) -> Check:
    """A send retried with its ``Idempotency-Key`` stored one user message, and the retry
    followed the first request's generation instead of starting one or being refused."""
    bad = []
    for retry in journal.idempotent:
        count = await _user_messages(connection, retry.thread_id, retry.content)
        low, high = _expected_messages(retry.statuses)
        first, second = retry.generation_ids
        refused = retry.statuses[0] == 200 and retry.statuses[1] not in (200, None)
        if not low <= count <= high or refused or (first and second and first != second):
            bad.append(
                f"thread {retry.thread_id}, key {retry.key}: answers {retry.statuses[0]} then "
                f"{retry.statuses[1]}, {count} user messages, generations {first} and {second}"
            )
    return _check(
        "idempotent retries stored one message", len(journal.idempotent), bad, "retried sends"
    )


async def rejected_not_stored(connection: asyncpg.Connection, journal: Journal) -> Check:
    """A send refused with 409 (the thread was busy) left no user message behind."""
    bad = []
    for thread_id, content in journal.rejected:
        count = await _user_messages(connection, thread_id, content)
        if count:
            bad.append(f"thread {thread_id}: refused send {content!r} stored {count} times")
    return _check("busy refusals stored nothing", len(journal.rejected), bad, "409 answers")


# A reply the reaper closed; graceful shutdowns and cancels leave other errors.
_REAPED_OF_LIVE = """
SELECT m.id, m.thread_id, g.owner
FROM message AS m JOIN generation AS g ON g.message_id = m.id
WHERE m.status = 'interrupted' AND m.error = $1 AND g.owner = ANY($2::text[])
"""
# The processes alive now: each holds a LISTEN session named after its instance.
_LIVE_OWNERS = """
SELECT substr(application_name, length('playground:') + 1) FROM pg_stat_activity
WHERE datname = current_database() AND application_name LIKE 'playground:%'
"""


async def no_live_reply_reaped(connection: asyncpg.Connection) -> Check:
    """No reply of a process still alive (never killed, or restarted) was taken over as
    if its process had died: only the killed ones' replies may be reaped."""
    live = [row[0] for row in await connection.fetch(_LIVE_OWNERS)]
    rows = await connection.fetch(_REAPED_OF_LIVE, INTERRUPTED_ERROR, live)
    bad = [
        f"message {r['id']} (thread {r['thread_id']}): reaped, but its process {r['owner']} "
        "was alive"
        for r in rows
    ]
    return _check("no live reply reaped", len(live), bad, "live processes")


async def finish_reasons(connection: asyncpg.Connection) -> Check:
    """No reply is ``completed`` without the finish reason the model server gave."""
    rows = await connection.fetch(
        "SELECT id, thread_id, model, completion_tokens FROM message WHERE role = 'assistant'"
        " AND status = 'completed' AND finish_reason IS NULL"
    )
    checked = await connection.fetchval(
        "SELECT count(*) FROM message WHERE role = 'assistant' AND status = 'completed'"
    )
    bad = [
        f"message {r['id']} (thread {r['thread_id']}): completed, finish_reason null, "
        f"{r['completion_tokens']} completion tokens"
        for r in rows
    ]
    return _check("no completed reply without a finish reason", checked, bad, "completed replies")


def server_errors(journal: Journal) -> Check:
    """No answer was a 5xx other than 502/504 (the model server's failures)."""
    return _check(
        "no 5xx but 502/504",
        journal.counters.requests,
        journal.server_errors,
        "requests",
    )


def rss_bounded(growth: list[RssGrowth], max_mb: float, warmup_s: float) -> Check:
    """No replica process grew its RSS by more than ``max_mb`` after its warm-up."""
    bad = [
        f"replica {g.replica} pid {g.pid}: {g.start_mb:.0f} → {g.end_mb:.0f} MB "
        f"(from {g.from_s:.0f} s to {g.to_s:.0f} s)"
        for g in growth
        if g.growth_mb > max_mb
    ]
    largest = max((g.growth_mb for g in growth), default=None)
    detail = f"processes, at most {max_mb:g} MB each after {warmup_s:g} s" + (
        "" if largest is None else f"; largest growth {largest:+.1f} MB"
    )
    return _check("RSS growth bounded", len(growth), bad, detail)


async def database_checks(
    database_url: str, journal: Journal, settle_s: float
) -> tuple[list[Check], float]:
    """Wait for replies to settle, then every check but RSS, in the report's order; and
    how long settling took."""
    connection = await asyncpg.connect(
        database_url, server_settings={"application_name": SOAK_APPLICATION}
    )
    try:
        settled_s = await settle(connection, settle_s)
        checks = [
            await no_live_reply_reaped(connection),
            await nothing_running(connection),
            await heads_valid(connection),
            await streamed_text_stored(connection, journal),
            await cancels_honoured(connection, journal),
            await one_message_per_key(connection, journal),
            await rejected_not_stored(connection, journal),
            await finish_reasons(connection),
            server_errors(journal),
        ]
    finally:
        await connection.close()
    return checks, settled_s
