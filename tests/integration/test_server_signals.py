"""The daemon owns SIGTERM and SIGINT only while it serves: when ``serve`` returns,
each signal's previous handler is back (a process that goes on after paywatch, such
as a test runner or the demo, keeps its own Ctrl-C)."""

from __future__ import annotations

import asyncio
import os
import signal
from types import FrameType

from daemon.runtime.server import serve
from tests.support.configs import config_yaml
from tests.support.watching import temp_container


def test_serve_puts_the_previous_signal_handlers_back() -> None:
    heard: list[int] = []

    def ours(signum: int, _frame: FrameType | None) -> None:
        heard.append(signum)

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, ours)
    signal.signal(signal.SIGINT, ours)
    try:
        with temp_container(
            lambda url: config_yaml(url, extra='metrics: {listen: "127.0.0.1:0"}\n')
        ) as container:

            async def main() -> None:
                shutdown = asyncio.Event()

                def ready(_host: str, _port: int) -> None:
                    # While serving, SIGTERM is the daemon's: it asks for a clean stop.
                    assert signal.getsignal(signal.SIGTERM) is not ours
                    os.kill(os.getpid(), signal.SIGTERM)

                await asyncio.wait_for(
                    serve(container, migrate=False, on_ready=ready, shutdown=shutdown), 30
                )
                assert shutdown.is_set()  # the signal stopped it

            asyncio.run(main())
        assert heard == []  # the daemon's handler took the signal, not ours
        assert signal.getsignal(signal.SIGTERM) is ours
        assert signal.getsignal(signal.SIGINT) is ours
        os.kill(os.getpid(), signal.SIGTERM)  # and ours runs again
        assert heard == [signal.SIGTERM]
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
