"""The service's logging: one line per failed request, readable by an operator.

A client's mistake (4xx: an unknown id, a bad field, no such route) is one INFO line;
a server failure (5xx) is one ERROR line followed by its traceback. Each line names
the method, the path, the status, the detail and the request id the response carries
in ``X-Request-ID``.
"""

from __future__ import annotations

import json
import sys

from litestar.exceptions import HTTPException
from litestar.logging import LoggingConfig
from litestar.types import Logger, Scope

from api.errors import PlaygroundError, as_playground_error
from api.http.request_id import request_id


def log_failed_request(logger: Logger, scope: Scope, _traceback: list[str]) -> None:
    """Litestar's ``exception_logging_handler``: called while the exception is handled.

    It runs before the exception handlers build the response, so the status is read
    from the exception the same way they do (``status_code``, else 500).
    """
    raised = sys.exc_info()[1]
    exc = (as_playground_error(raised) if raised is not None else None) or raised
    if isinstance(exc, HTTPException | PlaygroundError):
        status, detail, extra = exc.status_code, exc.detail, exc.extra
    else:
        # Its first line only: the rest (SQL, parameters, …) is in the traceback below.
        first_line = str(exc).partition("\n")[0]
        status, detail, extra = 500, f"{type(exc).__name__}: {first_line}", None
    # raw_path is the path as sent (still percent-encoded), so a %0A in it cannot start
    # a forged log line; json.dumps escapes newlines in the detail for the same reason.
    path = scope["raw_path"].decode("ascii", "backslashreplace")
    line = f"{scope.get('method', scope['type'])} {path} {status} detail={json.dumps(detail)}"
    if extra:
        line += f" extra={json.dumps(extra, default=str)}"
    line += f" request_id={request_id(scope)}"
    if status < 500:
        logger.info(line)
    else:
        logger.error(line, exc_info=True)


def logging_config() -> LoggingConfig:
    """The app's logging: Litestar's queue handler, and failed requests as above."""
    return LoggingConfig(
        root={"level": "INFO", "handlers": ["queue_listener"]},
        # One line per model call would drown the log; failures are reported anyway.
        loggers={"httpx2": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
        log_exceptions="always",
        exception_logging_handler=log_failed_request,
    )
