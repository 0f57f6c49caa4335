"""The app's long-lived resources, one lifespan each, entered in the order of
``LIFESPANS`` and closed in reverse.

Each reads what it needs from ``app.state`` and puts its resource there:

- ``database``: the engine and session factory (``engine``, ``session_factory``);
- ``access``: who calls: the key checker and the local principal (``authenticator``,
  ``local_principal``, the caller of every request while auth is off);
- ``models``: the model router and the tool registry (``models``, ``tools``);
- ``notifications``: this process's LISTEN connection (``notifications``);
- ``supervisor``: settles replies left running by dead processes before the app
  serves, then keeps leases, reaps and prunes (its heartbeat also keeps the LISTEN
  connection open);
- ``generations``: the generation manager and its event writer (``generations``);
  on shutdown running replies get ``PLAYGROUND_SHUTDOWN_GRACE_S`` to finish;
- ``feeds``: the live feeds' subscribers, woken by the LISTEN connection (``feeds``);
  SIGTERM or SIGINT ends every feed at once, so that uvicorn, which waits for open
  responses before it shuts the app down, does not wait for them.

``app.state`` starts with ``settings``, ``database_url``, ``instance_id`` and
``auth_required``.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import anyio
from litestar import Litestar

from api import metrics
from api.auth.authenticator import Authenticator, to_principal
from api.auth.service import default_limits
from api.feeds.hub import FeedHub
from api.generation.event_writer import EventWriter
from api.generation.listener import Notifications
from api.generation.manager import GenerationManager
from api.generation.pipeline import GenerationRunner
from api.generation.supervisor import Supervisor
from api.llm.router import ModelRouter
from api.settings import Settings
from api.stores.keys import KeyStore
from api.tools.registry import default_registry
from db.engine import create_engine, create_session_factory
from db.models import LOCAL_PRINCIPAL_ID


def _settings(app: Litestar) -> Settings:
    settings: Settings = app.state.settings
    return settings


@asynccontextmanager
async def database(app: Litestar) -> AsyncIterator[None]:
    """The connection pool, disposed of at the end."""
    settings = _settings(app).db
    engine = create_engine(
        app.state.database_url,
        pool_size=settings.playground_db_pool_size,
        echo=settings.playground_db_echo,
    )
    app.state.engine = engine
    metrics.watch_pool(engine.sync_engine)
    app.state.session_factory = create_session_factory(engine)
    try:
        yield
    finally:
        await engine.dispose()
        # Last: the outermost lifespan closes after everything that sets a gauge.
        await anyio.to_thread.run_sync(metrics.forget_this_process)


@asynccontextmanager
async def access(app: Litestar) -> AsyncIterator[None]:
    """The key checker, and the local principal as stored (with its own limits)."""
    defaults = default_limits(_settings(app).access)
    app.state.authenticator = Authenticator(app.state.session_factory, defaults)
    async with app.state.session_factory() as session:
        local = await KeyStore(session).principal(LOCAL_PRINCIPAL_ID)
    if local is None:
        raise RuntimeError("the local principal is missing: run `playground db upgrade`")
    app.state.local_principal = to_principal(local, None, defaults)
    yield


@asynccontextmanager
async def models(app: Litestar) -> AsyncIterator[None]:
    """The model clients (their connection pools are closed at the end) and the tools."""
    router = ModelRouter(_settings(app).models)
    try:
        await router.start()
        app.state.models = router
        app.state.tools = default_registry()
        yield
    finally:
        await router.aclose()


@asynccontextmanager
async def notifications(app: Litestar) -> AsyncIterator[None]:
    """The LISTEN connection, closed at the end."""
    listener = Notifications(app.state.database_url, app.state.instance_id)
    await listener.connect()
    app.state.notifications = listener
    try:
        yield
    finally:
        await listener.close()


@asynccontextmanager
async def supervisor(app: Litestar) -> AsyncIterator[None]:
    """Reap before serving, then heartbeat, reap and prune until the app stops."""
    bookkeeper = Supervisor(
        app.state.session_factory,
        app.state.instance_id,
        _settings(app).generation,
        app.state.notifications,
    )
    await bookkeeper.reap()
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(bookkeeper.run, name="generation supervisor")
        try:
            yield
        finally:
            task_group.cancel_scope.cancel()


@asynccontextmanager
async def generations(app: Litestar) -> AsyncIterator[None]:
    """Run generations in a task group; drain them (and store their events) at the end."""
    settings = _settings(app).generation
    writer = EventWriter(
        app.state.engine, settings.playground_event_flush_ms / 1000, app.state.instance_id
    )
    listener: Notifications = app.state.notifications
    async with anyio.create_task_group() as task_group:
        manager = GenerationManager(
            instance_id=app.state.instance_id,
            runner=GenerationRunner(
                app.state.instance_id,
                app.state.engine,
                app.state.session_factory,
                app.state.models,
                app.state.tools,
                settings,
            ),
            task_group=task_group,
            session_factory=app.state.session_factory,
            writer=writer,
            notifications=listener,
        )
        listener.route_requests(cancel=manager.cancel_local, follow=manager.share_local)
        task_group.start_soon(writer.run, name="generation event writer")
        app.state.generations = manager
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                await manager.drain(settings.playground_shutdown_grace_s)
                await writer.flush()
            task_group.cancel_scope.cancel()


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@asynccontextmanager
async def feeds(app: Litestar) -> AsyncIterator[None]:
    """The feed subscribers, woken by the LISTEN connection; ended by a stop signal.

    uvicorn handles SIGINT and SIGTERM (it stops accepting, then waits for open
    responses); a handler chained in front of its own closes the feeds first. Without a
    signal (an embedding server stopping by itself) they end when this lifespan does.
    """
    hub = FeedHub()
    listener: Notifications = app.state.notifications
    listener.route_feed(change=hub.notify, reconnect=hub.wake_all)
    app.state.feeds = hub
    # A signal handler may interrupt the loop anywhere: it only schedules the close.
    loop = asyncio.get_running_loop()
    previous = _chain_stop_signals(lambda: loop.call_soon_threadsafe(hub.close))
    try:
        yield
    finally:
        hub.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _chain_stop_signals(stop: Callable[[], object]) -> dict[int, Any]:
    """Call ``stop`` on SIGINT and SIGTERM before the Python handlers installed for them
    (uvicorn's); the handlers replaced (to restore). A signal left to its default ends
    the process anyway, and only the main thread may set handlers: those are left
    alone."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {
        sig: handler for sig in _STOP_SIGNALS if callable(handler := signal.getsignal(sig))
    }

    def handle(sig: int, frame: FrameType | None) -> None:
        stop()
        previous[sig](sig, frame)

    for sig in previous:
        signal.signal(sig, handle)
    return previous


LIFESPANS = [database, access, models, notifications, supervisor, generations, feeds]
