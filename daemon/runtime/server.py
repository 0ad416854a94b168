"""The long-running process: one asyncio loop serving the API and periodic jobs."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import signal
from collections.abc import Awaitable, Callable

import uvicorn

from daemon.api.app import create_app
from daemon.config.schema import split_listen
from daemon.runtime.container import Container
from daemon.runtime.systemd import Notifier
from daemon.services.address_allocation import address_gap
from daemon.storage.migrations import upgrade
from daemon.tatum.wiring import start_tatum
from daemon.watching.runner import start_watchers
from daemon.webhooks.runner import start_webhooks

log = logging.getLogger("paywatch.runtime")
REFRESH_SECONDS = 5.0
GAP_CHECK_ROUNDS = 120  # every ten minutes


async def warn_about_gaps(container: Container) -> None:
    keyspaces = {chain.deriver.keyspace: chain.name for chain in container.registry}
    for keyspace, name in keyspaces.items():
        gap = await container.db.run_read(functools.partial(address_gap, keyspace=keyspace))
        warning = gap.warning(container.config.orders.gap_limit)
        if warning:
            log.warning("address gap on %s: %s", name, warning)


async def refresh_orders(container: Container, stop: asyncio.Event) -> None:
    """Expire orders whose time ran out and invalidate stuck ones, every few seconds;
    warn about the address gap every few minutes."""
    rounds = 0
    while not stop.is_set():
        if rounds % GAP_CHECK_ROUNDS == 0:
            try:
                await warn_about_gaps(container)
            except Exception:
                log.exception("address gap check failed")
        rounds += 1
        try:
            changed = await container.db.run(
                lambda conn: container.orders.refresh_due(conn, container.clock())
            )
            if changed:
                log.info("%d orders expired or invalidated", changed)
        except Exception:
            log.exception("order refresh failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REFRESH_SECONDS)


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
    """Serve until SIGTERM/SIGINT, or until ``shutdown`` is set."""
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
        timeout_graceful_shutdown=3,
    )
    server = _ApiServer(config)
    # Everything built so far lives as long as the process: keep it out of the garbage
    # collector's scans, and collect less eagerly (fewer multi-millisecond pauses).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    shutdown = shutdown or asyncio.Event()
    if install_signal_handlers:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, shutdown.set)
    stop = asyncio.Event()
    jobs = [asyncio.create_task(refresh_orders(container, stop), name="refresh-orders")]
    webhooks = start_webhooks(container.config.webhooks, container.db, container.clock, stop)
    jobs += [webhooks] if webhooks is not None else []
    jobs += start_watchers(container.watchers, stop)
    jobs += start_tatum(
        container.config, container.db, container.clock, container.tatum_hints, stop
    )
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
        watching = ", ".join(container.watchers) or "no chains"
        notifier.ready(f"API on http://{bound[0]}:{bound[1]}; watching {watching}")
        if on_ready is not None:
            result = on_ready(bound[0], bound[1])
            if result is not None:
                await result
        waiter = asyncio.create_task(shutdown.wait())
        await asyncio.wait([serving, waiter], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if serving.done():
            await serving  # the server stopped by itself: surface its error
    finally:
        notifier.stopping()
        server.should_exit = True
        stop.set()
        await asyncio.gather(serving, *jobs, return_exceptions=True)
