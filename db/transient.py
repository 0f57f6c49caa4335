"""Database errors worth one more try, and the retry policy for the writes that must land.

A deadlock or serialization failure rolls back one side of a race (another attempt
succeeds), and a connection lost before COMMIT leaves nothing written (a new
connection from the pool may work). Anything else is a real failure and is not retried.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

# deadlock_detected, serialization_failure
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
# too_many_connections: the server refused a new connection for now (several workers or
# replicas whose pools add up past its max_connections); cannot_connect_now: starting up.
REFUSED_SQLSTATES = frozenset({"53300", "57P03"})


def _refused(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in REFUSED_SQLSTATES


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a deadlock or a serialization failure (nothing was written)."""
    return (
        isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES
    )


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a deadlock, a serialization failure, a lost connection or a
    connection the server refused for now."""
    if isinstance(exc, DBAPIError) and (exc.connection_invalidated or _refused(exc)):
        return True
    return is_conflict(exc) or isinstance(exc, ConnectionError)


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached now: a refused or reset
    connection, one lost mid-statement, a server not accepting connections yet, or no
    pooled connection free in time, or a server refusing new connections for now."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or _refused(exc)
    return isinstance(
        exc,
        ConnectionError
        | SQLAlchemyTimeoutError
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.ConnectionDoesNotExistError,
    )


def retrying(
    attempts: int = 5,
    max_wait_s: float = 1.0,
    *,
    when: Callable[[BaseException], bool] = is_transient,
) -> AsyncRetrying:
    """Retry a unit of work on transient errors (``when``), with jittered exponential
    backoff; the last error is raised as it is once the attempts are used up."""
    return AsyncRetrying(
        retry=retry_if_exception(when),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.05, max=max_wait_s),
        reraise=True,
    )
