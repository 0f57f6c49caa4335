"""Which database errors are worth another try, and which make a 503."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from db.transient import is_conflict, is_transient, is_unavailable


def wrapped(orig: Exception) -> DBAPIError:
    return DBAPIError("SELECT 1", None, orig)


@pytest.mark.parametrize(
    ("orig", "transient", "unavailable", "conflict"),
    [
        (asyncpg.exceptions.DeadlockDetectedError("deadlock"), True, False, True),
        (asyncpg.exceptions.SerializationError("serialization"), True, False, True),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients"), True, True, False),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), True, True, False),
        (asyncpg.exceptions.UniqueViolationError("duplicate"), False, False, False),
        (asyncpg.exceptions.DivisionByZeroError("division by zero"), False, False, False),
    ],
)
def test_classification(
    orig: Exception, transient: bool, unavailable: bool, conflict: bool
) -> None:
    error = wrapped(orig)
    assert (is_transient(error), is_unavailable(error), is_conflict(error)) == (
        transient,
        unavailable,
        conflict,
    )
