"""The sd_notify client against a real unix datagram socket and a real event loop."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from daemon.runtime.systemd import Notifier, socket_address, watchdog_interval
from tests.support.notify_socket import NotifySocket


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_ready_status_and_stopping_arrive(abstract: bool) -> None:
    with NotifySocket(abstract=abstract) as systemd:
        notifier = Notifier.from_environment({"NOTIFY_SOCKET": systemd.address})
        assert notifier.enabled
        assert notifier.ready("API on http://127.0.0.1:8080")
        assert notifier.status("catching up\non btc")
        assert notifier.stopping()
        systemd.wait_for("STOPPING")
    fields = [m.fields for m in systemd.messages]
    assert fields == [
        {"READY": "1", "STATUS": "API on http://127.0.0.1:8080"},
        {"STATUS": "catching up on btc"},  # one line: a newline would start a new field
        {"STOPPING": "1", "STATUS": "stopping"},
    ]


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier.from_environment({"WATCHDOG_USEC": "1000000"})
    assert not notifier.enabled
    assert notifier.heartbeat_every is None
    assert not notifier.ready("serving")
    # The heartbeat returns at once instead of looping.
    asyncio.run(asyncio.wait_for(notifier.heartbeat(asyncio.Event()), 1))


def test_a_socket_nobody_listens_on_is_reported_not_raised(tmp_path: Path) -> None:
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": f"{tmp_path}/gone"})
    assert notifier.enabled
    assert not notifier.ready("serving")


def test_addresses_and_watchdog_settings() -> None:
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@sd-notify") == "\0sd-notify"
    assert socket_address("@") is None
    assert socket_address("vsock:2:1234") is None
    assert Notifier.from_environment({"NOTIFY_SOCKET": "relative/path"}).enabled is False
    me = os.getpid()
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}, me) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": str(me)}, me) == 0.2
    # The watchdog belongs to another process (say, a wrapper that exec'd us without
    # updating it): not ours to feed.
    assert watchdog_interval({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": "1"}, me) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}, me) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}, me) is None
    assert watchdog_interval({}, me) is None


def test_heartbeat_stops_while_the_loop_is_blocked_and_resumes_after() -> None:
    every, blocked_for = 0.05, 0.6

    async def scenario(systemd: NotifySocket) -> tuple[float, float]:
        notifier = Notifier.from_environment(
            {"NOTIFY_SOCKET": systemd.address, "WATCHDOG_USEC": str(int(every * 2e6))}
        )
        assert notifier.heartbeat_every == every
        stop = asyncio.Event()
        beating = asyncio.create_task(notifier.heartbeat(stop))
        await asyncio.sleep(0.5)
        started = time.monotonic()
        time.sleep(blocked_for)  # a blocking call on the loop: nothing else runs
        ended = time.monotonic()
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.wait_for(beating, 1)
        return started, ended

    with NotifySocket() as systemd:
        started, ended = asyncio.run(scenario(systemd))
        time.sleep(0.1)
        beats = [m.at for m in systemd.messages if m.fields == {"WATCHDOG": "1"}]
    before = [at for at in beats if at < started]
    during = [at for at in beats if started + 0.05 < at < ended]
    after = [at for at in beats if at >= ended]
    assert len(before) >= 4, beats
    assert during == [], (started, ended, beats)
    assert len(after) >= 4, beats
    # The first beat after the stall comes at once: the loop is healthy again.
    assert after[0] - ended < 0.1


def test_heartbeat_stops_when_asked() -> None:
    async def scenario(systemd: NotifySocket) -> None:
        notifier = Notifier(socket_address(systemd.address), heartbeat_every=10.0)
        stop = asyncio.Event()
        beating = asyncio.create_task(notifier.heartbeat(stop))
        await asyncio.sleep(0.05)
        stop.set()
        # It sleeps on the stop event, not for the whole interval.
        await asyncio.wait_for(beating, 1)

    with NotifySocket(abstract=True) as systemd:
        asyncio.run(scenario(systemd))
        assert systemd.count("WATCHDOG") == 1
