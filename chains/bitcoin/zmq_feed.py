"""Bitcoin Core's ZMQ notifications (``hashblock``, ``rawtx``) as wake-ups for the watcher.

Each message is ``[topic, body, sequence]``: the topic, the block hash (in the byte order
the RPC prints) or the raw transaction, and a 4-byte little-endian counter per topic that
starts at 0 when the node starts. A jump in the counter means messages were lost (the
subscriber fell behind, the high-water mark dropped some): the watcher is woken so that
its polls pick up whatever was missed. ZMQ is only ever a hint: every block and mempool
payment is still read over RPC, and when the feed goes quiet the watcher keeps polling.

The socket is opened on the first :meth:`ZmqFeed.start`, never at construction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import zmq
import zmq.asyncio

log = logging.getLogger(__name__)

TOPICS = (b"hashblock", b"rawtx")


class ZmqFeed:
    """A SUB socket on ``address`` feeding ``on_block(hash_hex)`` and ``on_tx(raw)``."""

    def __init__(
        self,
        address: str,
        *,
        on_block: Callable[[str], None],
        on_tx: Callable[[bytes], None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        self._on_block = on_block
        self._on_tx = on_tx
        self._mono = monotonic
        self._context: zmq.asyncio.Context | None = None
        self._socket: zmq.asyncio.Socket | None = None
        self._task: asyncio.Task[None] | None = None
        self._next_seq: dict[bytes, int] = {}
        self.received = 0
        self.lost = 0  # messages known to be missing from sequence gaps
        self.restarts = 0  # the counter went back to 0: the node restarted
        self.bad = 0  # messages that were not in bitcoind's format
        self.last_message_at: float | None = None
        self.last_block: str | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        if self._context is None:
            self._context = zmq.asyncio.Context()
        sock = self._context.socket(zmq.SUB)
        sock.setsockopt(zmq.RCVHWM, 0)  # never drop on our side; gaps come from the node's
        sock.setsockopt(zmq.TCP_KEEPALIVE, 1)
        sock.setsockopt(zmq.LINGER, 0)
        for topic in TOPICS:
            sock.setsockopt(zmq.SUBSCRIBE, topic)
        sock.connect(self.address)
        self._socket = sock
        self._task = asyncio.get_running_loop().create_task(self._receive(sock))

    def quiet_for(self) -> float | None:
        """Seconds since the last message (None before the first)."""
        if self.last_message_at is None:
            return None
        return self._mono() - self.last_message_at

    def health(self, quiet_after: float, behind: bool) -> dict[str, str]:
        """The feed as the chain's health shows it: live, or quiet (the polls carry on)
        when nothing came for ``quiet_after`` seconds or a block came only by polling."""
        quiet = self.quiet_for()
        live = quiet is not None and quiet < quiet_after and not behind
        return {
            "zmq": "live" if live else "quiet (polling)",
            "zmq_received": str(self.received),
            "zmq_lost": str(self.lost),
        }

    async def _receive(self, sock: zmq.asyncio.Socket) -> None:
        while True:
            try:
                parts = await sock.recv_multipart()
            except asyncio.CancelledError:
                raise
            except zmq.ZMQError as exc:
                log.warning("zmq %s: %s", self.address, exc)
                await asyncio.sleep(1.0)
                continue
            self.handle(parts)

    def handle(self, parts: list[bytes]) -> None:
        """One multipart message, as the socket delivered it."""
        if len(parts) != 3 or len(parts[2]) != 4 or parts[0] not in TOPICS:
            self.bad += 1
            return
        topic, body, raw_seq = parts
        seq = int.from_bytes(raw_seq, "little")
        self.received += 1
        self.last_message_at = self._mono()
        expected = self._next_seq.get(topic)
        if expected is not None and seq != expected:
            if seq == 0:
                self.restarts += 1
            else:
                self.lost += (seq - expected) % 2**32
                log.warning(
                    "zmq %s: %d %s messages lost", self.address, seq - expected, topic.decode()
                )
                self._on_block("")  # lost something: wake the watcher to poll
        self._next_seq[topic] = (seq + 1) % 2**32
        if topic == b"hashblock":
            if len(body) != 32:
                self.bad += 1
                return
            self.last_block = body.hex()
            self._on_block(self.last_block)
        else:
            self._on_tx(body)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None
        if self._context is not None:
            self._context.term()
            self._context = None
