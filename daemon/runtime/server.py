"""The long-running process: one asyncio loop serving the API and periodic jobs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Iterator

import uvicorn

from chains.waiting import wait_for_any
from daemon.api.app import create_app
from daemon.cluster.notify import build_listener
from daemon.cluster.sqlite_lock import single_instance
from daemon.config.schema import split_listen
from daemon.metrics.exporter import start_metrics
from daemon.runtime.container import Container
from daemon.runtime.jobs import Jobs
from daemon.runtime.schedule import schedule_jobs
from daemon.runtime.systemd import Notifier
from daemon.storage.migrations import upgrade
from daemon.tatum.wiring import start_tatum
from daemon.watching.runner import start_watchers
from daemon.webhooks.runner import start_webhooks

log = logging.getLogger("paywatch.runtime")
# SIGTERM to exit: the API's in-flight requests get API_GRACE seconds, then the
# watchers, deliveries and jobs get what is left of STOP_GRACE to finish and commit.
API_GRACE = 2
STOP_GRACE = 4.0
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _ApiServer(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM/SIGINT and
    exits 0 after a clean stop (uvicorn would re-raise the signal and die by it)."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()


async def serve(
    container: Container,
    *,
    migrate: bool = True,
    on_ready: Callable[[str, int], Awaitable[None] | None] | None = None,
    install_signal_handlers: bool = True,
    shutdown: asyncio.Event | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT, or until ``shutdown`` is set. On SQLite a second
    daemon on the same file refuses to start (:class:`AlreadyRunning`)."""
    with single_instance(container.db.url):
        await _serve(
            container,
            migrate=migrate,
            on_ready=on_ready,
            install_signal_handlers=install_signal_handlers,
            shutdown=shutdown,
        )


async def _serve(
    container: Container,
    *,
    migrate: bool,
    on_ready: Callable[[str, int], Awaitable[None] | None] | None,
    install_signal_handlers: bool,
    shutdown: asyncio.Event | None,
) -> None:
    if migrate:
        await asyncio.to_thread(upgrade, container.db.engine)
    # Build the derivation tables now, not on the first order (~0.4 s once).
    await asyncio.to_thread(lambda: [chain.deriver.derive(0) for chain in container.registry])
    host, port = split_listen(container.config.api.listen)
    config = uvicorn.Config(
        create_app(container),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=API_GRACE,
    )
    server = _ApiServer(config)
    # Everything built so far lives as long as the process: keep it out of the garbage
    # collector's scans, and collect less eagerly (fewer multi-millisecond pauses).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    shutdown = shutdown or asyncio.Event()
    with _signals_set(shutdown) if install_signal_handlers else contextlib.nullcontext():
        await _run(container, server, shutdown, on_ready)


@contextlib.contextmanager
def _signals_set(event: asyncio.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``event`` inside the block; afterwards each signal's
    previous handler is back (a caller's own, or Python's default)."""
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    try:
        for sig in SIGNALS:
            loop.add_signal_handler(sig, event.set)
        yield
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


async def _run(
    container: Container,
    server: _ApiServer,
    shutdown: asyncio.Event,
    on_ready: Callable[[str, int], Awaitable[None] | None] | None,
) -> None:
    """Start the work, serve until ``shutdown``, then stop everything in order."""
    host, port = server.config.host, server.config.port
    stop = asyncio.Event()
    jobs, scheduled = _start_work(container, stop)
    notifier = Notifier.from_environment()  # systemd's Type=notify; a no-op elsewhere
    jobs.append(asyncio.create_task(notifier.heartbeat(stop), name="systemd-watchdog"))
    serving = asyncio.create_task(server.serve(), name="api")
    try:
        while not server.started:
            if serving.done():
                await serving  # startup failed: raise its error
                raise RuntimeError(f"the API could not listen on {host}:{port}")
            await asyncio.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()
        log.info("paywatch API listening on http://%s:%s", bound[0], bound[1])
        if container.config.api.public_url is None:  # checkout URLs on the bound port
            shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
            container.orders.views.served_at(f"http://{shown}:{bound[1]}")
            if container.db.dialect == "postgresql":
                log.warning(
                    "api.public_url is not set: checkout URLs name this instance (%s:%s), "
                    "so orders and webhooks from other instances name theirs; set it to "
                    "the address customers reach",
                    shown,
                    bound[1],
                )
        watching = ", ".join(container.watchers) or "no chains"
        notifier.ready(f"API on http://{bound[0]}:{bound[1]}; watching {watching}")
        if on_ready is not None:
            result = on_ready(bound[0], bound[1])
            if result is not None:
                await result
        await wait_for_any(shutdown, serving)
        if serving.done():
            await serving  # the server stopped by itself: surface its error
    finally:
        notifier.stopping()
        began = time.monotonic()
        container.checkout_streams.close()  # end the checkout pages' open streams
        server.should_exit = True  # stop taking requests; finish those in flight
        stop.set()  # watchers commit their block and stop; deliveries finish or release
        await scheduled.shutdown(grace=API_GRACE)  # no new job round; running ones finish
        await _finish([serving, *jobs], deadline=began + STOP_GRACE)
        await container.cluster.close()  # the leases go at once: others take over now
        log.info("paywatch stopped in %.1fs", time.monotonic() - began)


def _start_work(container: Container, stop: asyncio.Event) -> tuple[list[asyncio.Task[None]], Jobs]:
    """The watchers, the webhook dispatcher, Tatum's tasks and the scheduled jobs."""
    tasks: list[asyncio.Task[None]] = []
    metrics = container.metrics
    heard = metrics.webhooks if metrics is not None else None
    config = container.config
    # PostgreSQL: wake-ups from the other instances (new events, Tatum nudges).
    listener = build_listener(container.db, container.watchers, container.tatum_hints)
    tasks += listener.start(stop) if listener is not None else []
    db, clock = container.db, container.clock
    webhooks = start_webhooks(config.webhooks, db, clock, stop, heard, listener)
    tasks += [webhooks] if webhooks is not None else []
    tasks += start_metrics(metrics, config.metrics, stop)
    cluster = container.cluster
    tasks.append(asyncio.create_task(cluster.run(stop), name="cluster"))
    tasks += start_watchers(container.watchers, stop, cluster)
    tatum_tasks, keeper = start_tatum(
        container.config, container.db, container.clock, container.tatum_hints, stop, cluster
    )
    tasks += tatum_tasks
    if listener is not None and keeper is not None:
        listener.add_event_listener(keeper.wake)  # orders made on another instance
    if listener is not None:  # checkout pages follow changes another instance commits
        listener.add_event_listener(container.checkout_streams.wake)
    scheduled = container.jobs = schedule_jobs(container, Jobs(), keeper)
    scheduled.start()
    return tasks, scheduled


async def _finish(tasks: list[asyncio.Task[None]], *, deadline: float) -> None:
    """Wait for ``tasks`` until ``deadline`` (monotonic); cancel what is still running.
    A task cancelled mid-transaction rolls back: its work is redone after the restart."""
    _, late = await asyncio.wait(tasks, timeout=max(deadline - time.monotonic(), 0.1))
    for task in late:
        log.warning("%s did not stop in time; cancelled", task.get_name())
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
