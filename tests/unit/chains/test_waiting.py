"""The one wait (chains/waiting.py): the first of a stop event, wake-ups, work or a
timeout; which one fired; nothing left running behind."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from chains.waiting import wait_for_any


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def test_a_set_event_fires_and_argument_order_breaks_ties() -> None:
    async def main() -> None:
        stop, wake = asyncio.Event(), asyncio.Event()
        wake.set()
        assert await wait_for_any(stop, wake, timeout=10) is wake
        stop.set()
        assert await wait_for_any(stop, wake, timeout=10) is stop
        assert await wait_for_any(wake, stop, timeout=10) is wake

    run(main())


def test_an_event_set_while_waiting_wakes_it() -> None:
    async def main() -> None:
        stop, wake = asyncio.Event(), asyncio.Event()
        asyncio.get_running_loop().call_soon(wake.set)
        assert await wait_for_any(stop, wake, timeout=30) is wake
        assert not stop.is_set()

    run(main())


def test_the_timeout_returns_none() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        assert await wait_for_any(asyncio.Event(), timeout=0.05) is None
        assert loop.time() - began >= 0.04
        assert await wait_for_any(asyncio.Event(), timeout=-1) is None
        assert await wait_for_any(timeout=0.0) is None

    run(main())


def test_waiting_for_nothing_forever_is_refused() -> None:
    async def main() -> None:
        await wait_for_any()

    with pytest.raises(ValueError, match="forever"):
        run(main())


def test_a_coroutine_is_run_and_cancelled_when_something_else_fires() -> None:
    async def main() -> None:
        stop = asyncio.Event()
        stop.set()
        cancelled = asyncio.Event()

        async def slow() -> None:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        work = slow()
        assert await wait_for_any(stop, work, timeout=10) is stop
        assert cancelled.is_set()  # awaited before returning
        quick = asyncio.sleep(0)
        assert await wait_for_any(asyncio.Event(), quick, timeout=10) is quick

    run(main())


def test_a_coroutine_that_fails_raises_its_error() -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    async def main() -> None:
        with pytest.raises(RuntimeError, match="boom"):
            await wait_for_any(asyncio.Event(), broken(), timeout=10)

    run(main())


def test_a_task_of_the_caller_is_never_cancelled() -> None:
    async def main() -> None:
        stop = asyncio.Event()
        stop.set()
        task = asyncio.ensure_future(asyncio.sleep(0.01, result="done"))
        assert await wait_for_any(stop, task, timeout=10) is stop
        assert not task.cancelled()
        assert await wait_for_any(asyncio.Event(), task, timeout=10) is task
        assert task.result() == "done"
        failing = asyncio.ensure_future(asyncio.sleep(0, result=None))
        failing.cancel()
        assert await wait_for_any(failing, timeout=10) is failing  # its outcome is ours to read

    run(main())


def test_nothing_is_left_running_and_cancelling_the_wait_cleans_up() -> None:
    async def main() -> None:
        before = len(asyncio.all_tasks())
        stop, wake = asyncio.Event(), asyncio.Event()
        assert await wait_for_any(stop, wake, asyncio.sleep(3600), timeout=0.01) is None
        assert len(asyncio.all_tasks()) == before
        waiting = asyncio.ensure_future(wait_for_any(stop, wake, asyncio.sleep(3600)))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert len(asyncio.all_tasks()) == before

    run(main())
