"""What every event stream of the API writes beside its events (a generation's, the
live feeds', the AI SDK's): the reconnection delay and the keep-alive comment."""

from __future__ import annotations

# Put before a stream's first event: a client that loses the connection reconnects
# after a second (EventSource's default is a few seconds).
RETRY_FIELD = b"retry: 1000\n"

# Sent while nothing happens, so that proxies and clients see the connection alive.
KEEPALIVE_FRAME = b": keep-alive\n\n"
# How long a stream stays silent before it writes ``KEEPALIVE_FRAME``.
KEEPALIVE_S = 15.0
