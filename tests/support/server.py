"""The daemon's API served for real on loopback, in a thread of the test process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from daemon.runtime.container import Container
from daemon.runtime.server import serve
from daemon.services.apikeys import create_key


@dataclass
class RunningApi:
    base_url: str
    key: str
    container: Container

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@contextmanager
def running_api(container: Container) -> Iterator[RunningApi]:
    """Serve ``container``'s API on a free port until the block ends."""
    _, key = container.db.write(lambda conn: create_key(conn, "test", container.clock()))
    ready = threading.Event()
    bound: list[tuple[str, int]] = []
    failure: list[BaseException] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def on_ready(host: str, port: int) -> None:
        bound.append((host, port))
        ready.set()

    def main() -> None:
        try:
            loop.run_until_complete(
                serve(
                    container,
                    migrate=False,
                    on_ready=on_ready,
                    install_signal_handlers=False,
                    shutdown=stop,
                )
            )
        except BaseException as exc:
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="api-under-test", daemon=True)
    thread.start()
    ready.wait(30)
    if failure or not bound:
        raise RuntimeError(f"the API did not start: {failure}")
    host, port = bound[0]
    try:
        yield RunningApi(f"http://{host}:{port}", key, container)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
