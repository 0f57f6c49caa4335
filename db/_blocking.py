"""Run blocking code that starts its own event loop, wherever the caller happens to be.

Alembic's async env and the embedded server's database check call ``asyncio.run``,
which refuses to run in a thread whose event loop is already running. Callers are
meant to use these functions before their loop starts or from a worker thread
(``anyio.to_thread.run_sync``); this keeps a direct call from async code working too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def call_outside_event_loop(fn: Callable[[], T]) -> T:
    """Call ``fn`` here, or in a fresh thread if this thread runs an event loop.

    In the second case the running loop is blocked until ``fn`` returns, as with any
    blocking call; async callers should prefer a worker thread themselves.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()
