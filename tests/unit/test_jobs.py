"""The scheduled jobs: run on time, never stacked, a failure never stops another job,
and shutdown lets a running round finish (or cuts it short after the grace)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from daemon.runtime.jobs import Jobs


def test_jobs_repeat_and_a_failing_one_stops_nothing(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    async def good() -> None:
        seen.append("good")

    async def bad() -> None:
        seen.append("bad")
        raise RuntimeError("boom")

    async def main() -> Jobs:
        jobs = Jobs()
        jobs.every("good", 0.05, good)
        jobs.every("bad", 0.05, bad)
        jobs.start()
        await asyncio.sleep(0.32)
        await jobs.shutdown()
        return jobs

    with caplog.at_level(logging.ERROR, logger="paywatch.jobs"):
        jobs = asyncio.run(main())
    assert jobs.stats["good"].runs >= 3
    assert jobs.stats["good"].failures == 0
    assert jobs.stats["bad"].runs >= 3
    assert jobs.stats["bad"].failures == jobs.stats["bad"].runs
    assert jobs.stats["bad"].last_error == "RuntimeError('boom')"
    assert "job bad failed" in caplog.text
    count = len(seen)
    asyncio.run(asyncio.sleep(0.1))
    assert len(seen) == count  # nothing runs after shutdown


def test_a_slow_round_is_not_stacked_on_itself() -> None:
    running = 0
    most = 0

    async def slow() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.2)
        running -= 1

    async def main() -> Jobs:
        jobs = Jobs()
        jobs.every("slow", 0.02, slow)
        jobs.start()
        await asyncio.sleep(0.5)
        await jobs.shutdown()
        return jobs

    jobs = asyncio.run(main())
    assert most == 1
    assert jobs.stats["slow"].runs >= 2


@pytest.mark.parametrize(("work", "grace", "finished"), [(0.1, 1.0, True), (5.0, 0.2, False)])
def test_shutdown_waits_for_a_running_round_within_the_grace(
    work: float, grace: float, finished: bool
) -> None:
    done: list[bool] = []
    started = asyncio.Event()

    async def commit() -> None:
        started.set()
        await asyncio.sleep(work)
        done.append(True)

    async def main() -> float:
        jobs = Jobs()
        jobs.every("commit", 60, commit)
        jobs.start()
        await started.wait()
        began = asyncio.get_running_loop().time()
        await jobs.shutdown(grace=grace)
        return asyncio.get_running_loop().time() - began

    took = asyncio.run(main())
    assert bool(done) is finished
    assert took < grace + 0.2


def test_a_name_is_scheduled_once() -> None:
    async def noop() -> None:
        return None

    jobs = Jobs()
    jobs.every("x", 1, noop)
    with pytest.raises(ValueError, match="already scheduled"):
        jobs.every("x", 1, noop)
