"""``/metrics`` on its own listener (``metrics.listen``), served by a second uvicorn
server on the daemon's event loop while :func:`daemon.runtime.server.serve` runs.

The socket is bound here, before uvicorn sees it: an address already in use is logged
as an error and the daemon goes on without metrics (Prometheus then reports the target
down) instead of uvicorn ending the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from chains.waiting import wait_for_any
from daemon.config.schema import MetricsConfig, split_listen

if TYPE_CHECKING:  # prometheus_client is imported only when the metrics are built
    from daemon.metrics.registry import Metrics

log = logging.getLogger("paywatch.metrics")
TASK = "metrics-server"


class _QuietLifecycle(logging.Filter):
    """uvicorn's "Started server process" / "Shutting down" lines come from the API's
    server already: the metrics server's own are left out (its warnings and errors stay)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        try:
            task = asyncio.current_task()
        except RuntimeError:
            return True
        return task is None or task.get_name() != TASK


def metrics_app(metrics: Metrics) -> Starlette:
    async def scrape(request: Request) -> Response:
        body, content_type = await metrics.render(request.headers.get("accept"))
        return Response(body, headers={"Content-Type": content_type})

    async def index(request: Request) -> Response:
        return PlainTextResponse("paywatch metrics: /metrics\n")

    return Starlette(routes=[Route("/metrics", scrape), Route("/", index)])


class _Server(uvicorn.Server):
    """No signal handling of its own: the daemon owns SIGTERM/SIGINT."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()


def listening_socket(listen: str) -> socket.socket:
    """A TCP socket listening on ``HOST:PORT`` (port 0: any free one); OSError if not."""
    host, port = split_listen(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=128)
    sock.setblocking(False)
    return sock


async def export(metrics: Metrics, listen: str, stop: asyncio.Event) -> None:
    """Serve ``/metrics`` on ``listen`` until ``stop`` is set."""
    try:
        sock = listening_socket(listen)
    except OSError as exc:
        log.error("metrics: cannot listen on %s (%s): /metrics is off", listen, exc)
        return
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        metrics_app(metrics),
        log_config=None,
        access_log=False,
        lifespan="off",
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=1,
    )
    server = _Server(config)
    quiet = _QuietLifecycle()
    logging.getLogger("uvicorn.error").addFilter(quiet)
    serving = asyncio.create_task(server.serve(sockets=[sock]), name=TASK)
    try:
        while not server.started and not serving.done() and not stop.is_set():
            await asyncio.sleep(0.01)
        if server.started:
            metrics.bound = (host, port)
            log.info("metrics on http://%s:%s/metrics", f"[{host}]" if ":" in host else host, port)
        await wait_for_any(stop, serving)
        if serving.done() and not stop.is_set():
            log.error("metrics: the server on %s stopped: %r", listen, serving.exception())
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await serving
        metrics.bound = None
        sock.close()
        logging.getLogger("uvicorn.error").removeFilter(quiet)


def start_metrics(
    metrics: Metrics | None, config: MetricsConfig, stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    """The metrics listener's task, unless metrics are off (``metrics.enabled: false``)."""
    if metrics is None or not config.enabled:
        return []
    return [asyncio.create_task(export(metrics, config.listen, stop), name="metrics")]
