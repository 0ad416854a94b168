"""Telling systemd how the daemon is doing: the sd_notify protocol, without libsystemd.

Under ``Type=notify`` systemd passes ``$NOTIFY_SOCKET``, a unix datagram socket (a path,
or an abstract name written with a leading ``@``); each datagram is newline-separated
``KEY=value`` lines. paywatch sends ``READY=1`` once it serves, ``STOPPING=1`` when it
begins to shut down, ``STATUS=`` lines for ``systemctl status``, and ``WATCHDOG=1``
heartbeats when ``WatchdogSec=`` is set (systemd then passes ``$WATCHDOG_USEC`` and
``$WATCHDOG_PID``). Without ``$NOTIFY_SOCKET`` (not under systemd) every call does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

from chains.waiting import wait_for_any

log = logging.getLogger("paywatch.systemd")
SEND_TIMEOUT = 0.5  # seconds; systemd reads its socket at once, a full queue is a broken manager


def socket_address(value: str) -> str | None:
    """The address to send to for a ``$NOTIFY_SOCKET`` value (``@name`` is abstract)."""
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    return None


def watchdog_interval(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds between heartbeats (half the watchdog timeout), or None when the
    watchdog is off or meant for another process."""
    owner = environ.get("WATCHDOG_PID", "").strip()
    if owner and owner != str(pid):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2 / 1_000_000 if usec > 0 else None


class Notifier:
    """sd_notify for one process; a no-op when ``address`` is None."""

    def __init__(self, address: str | None, heartbeat_every: float | None = None) -> None:
        self.address = address
        self.heartbeat_every = heartbeat_every if address is not None else None
        self._failing = False  # log a failure once, not at every heartbeat

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET", "")
        address = socket_address(raw) if raw else None
        if raw and address is None:
            log.warning("NOTIFY_SOCKET=%r is not a unix socket address; not notifying", raw)
        return cls(address, watchdog_interval(env, os.getpid()))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """Send one datagram of ``KEY=value`` lines; False when not sent (logged)."""
        if self.address is None:
            return False
        message = "\n".join(line.replace("\n", " ") for line in lines).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.settimeout(SEND_TIMEOUT)
                sock.sendto(message, self.address)
        except OSError as exc:
            if not self._failing:
                log.warning("could not notify systemd (%s): %s", lines[0], exc)
            self._failing = True
            return False
        self._failing = False
        return True

    def ready(self, status: str) -> bool:
        return self.send("READY=1", f"STATUS={status}")

    def stopping(self, status: str = "stopping") -> bool:
        return self.send("STOPPING=1", f"STATUS={status}")

    def status(self, status: str) -> bool:
        return self.send(f"STATUS={status}")

    async def heartbeat(self, stop: asyncio.Event) -> None:
        """``WATCHDOG=1`` every half watchdog timeout until ``stop`` is set.

        It runs on the event loop, so a loop that stalls (a blocking call, a busy
        coroutine) sends nothing and systemd restarts the daemon once the timeout passes.
        """
        every = self.heartbeat_every
        if every is None:
            return
        while not stop.is_set():
            self.send("WATCHDOG=1")
            await wait_for_any(stop, timeout=every)
