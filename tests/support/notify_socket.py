"""The systemd side of sd_notify for tests: a unix datagram socket that records messages.

:class:`NotifySocket` binds a socket (a short path, or an abstract ``@`` name) and a thread
reads it, stamping each datagram with ``time.monotonic()`` on arrival, so tests can ask
what arrived and when.
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType


@dataclass(frozen=True)
class Message:
    at: float  # time.monotonic() on arrival
    fields: dict[str, str]


class NotifySocket:
    """Bound on ``__enter__``; ``address`` is the value for ``$NOTIFY_SOCKET``."""

    def __init__(self, *, abstract: bool = False) -> None:
        self._dir: str | None = None
        if abstract:
            self.address = f"@paywatch-test-{secrets.token_hex(8)}"
            bind_to = "\0" + self.address[1:]
        else:
            # A short directory: unix socket paths are limited to 107 bytes.
            self._dir = tempfile.mkdtemp(prefix="pw-notify-")
            self.address = bind_to = os.path.join(self._dir, "notify")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(bind_to)
        self._sock.settimeout(0.1)
        self._messages: list[Message] = []
        self._lock = threading.Condition()
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, name="notify-socket", daemon=True)

    def __enter__(self) -> NotifySocket:
        self._reader.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed.set()
        self._reader.join(5)
        self._sock.close()
        if self._dir is not None:
            Path(self.address).unlink(missing_ok=True)
            os.rmdir(self._dir)

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            lines = data.decode().split("\n")
            fields = dict(line.split("=", 1) for line in lines if "=" in line)
            with self._lock:
                self._messages.append(Message(time.monotonic(), fields))
                self._lock.notify_all()

    @property
    def messages(self) -> list[Message]:
        with self._lock:
            return list(self._messages)

    def wait_for(self, key: str, value: str = "1", timeout: float = 10.0) -> Message:
        """The first message (so far or to come) with ``key=value``; AssertionError after
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for message in self._messages:
                    if message.fields.get(key) == value:
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {key}={value} in {self._messages}")
                self._lock.wait(left)

    def count(self, key: str, value: str = "1", *, after: float = 0.0) -> int:
        return sum(1 for m in self.messages if m.fields.get(key) == value and m.at >= after)
