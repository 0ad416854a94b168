"""ZMQ: a pyzmq PUB socket sending bitcoind's ``[topic, body, 4-byte LE seq]`` messages
wakes the watcher (Debian's litecoind has no ZMQ; the RPC side is the real node), and when
the feed goes quiet the watcher's polls still find everything."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest
import zmq

from chains.bitcoin.source import BitcoinSource
from tests.integration.bitcoin.conftest import deriver
from tests.integration.bitcoin.watching import Order, watched_container, watcher
from tests.support.litecoind import Litecoind, free_port, source_for


class Publisher:
    """bitcoind's side of ZMQ: one PUB socket, a counter per topic."""

    def __init__(self) -> None:
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.PUB)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind(self.address)
        self.seq: dict[bytes, int] = {}

    def send(self, topic: bytes, body: bytes, seq: int | None = None) -> None:
        n = self.seq.get(topic, 0) if seq is None else seq
        self.socket.send_multipart([topic, body, n.to_bytes(4, "little")])
        self.seq[topic] = n + 1

    def block(self, block_hash: str, seq: int | None = None) -> None:
        self.send(b"hashblock", bytes.fromhex(block_hash), seq)

    def tx(self, raw_hex: str) -> None:
        self.send(b"rawtx", bytes.fromhex(raw_hex))

    def close(self) -> None:
        if not self.socket.closed:
            self.socket.close(linger=0)
            self.context.term()


@pytest.fixture
def publisher() -> Iterator[Publisher]:
    pub = Publisher()
    yield pub
    pub.close()


async def connected(source: BitcoinSource, pub: Publisher, tip: str) -> None:
    """Until the subscription is up (ZMQ drops what a PUB sends before a SUB joins)."""
    feed = source._zmq
    assert feed is not None
    for _ in range(200):
        pub.block(tip)
        await source.wait_for_news(0.05)
        if feed.received:
            return
    raise AssertionError("the SUB socket never received a message")


def test_rawtx_is_matched_without_fetching_and_gaps_are_counted(
    node: Litecoind, publisher: Publisher
) -> None:
    target = deriver("p2wpkh").derive(60)
    node.mine(1)

    async def go() -> None:
        async with source_for(node, zmq=publisher.address) as source:
            await connected(source, publisher, node.block_hash(node.height()))
            watched = {target.script}
            assert (await source.mempool(watched)).payments == ()
            txid = node.send(target.address, "0.6")
            publisher.tx(node.rpc("getrawtransaction", txid, False))
            await asyncio.wait_for(source.wait_for_news(600), 30)  # woken by the payment
            rpc = source._nodes[0]
            before = rpc.requests_sent
            (payment,) = (await source.mempool(watched)).payments
            assert (payment.tx_hash, payment.amount) == (txid, 60_000_000)
            assert rpc.requests_sent - before == 1  # getrawmempool; the tx came over ZMQ
            feed = source._zmq
            assert feed is not None
            assert feed.lost == 0
            seq = publisher.seq[b"hashblock"]
            publisher.block(node.block_hash(1), seq + 3)  # three messages lost
            await asyncio.wait_for(source.wait_for_news(600), 30)
            assert feed.lost == 3
            publisher.block(node.block_hash(1), 0)  # the node restarted: not a loss
            while feed.restarts == 0:
                await source.wait_for_news(0.05)
            assert feed.lost == 3
            await source.tip()
            extra = source.health()[0].extra
            assert extra["zmq"] == "live"
            assert extra["zmq_lost"] == "3"
            node.mine(1)

    asyncio.run(go())


def test_zmq_drives_the_watcher_and_polling_takes_over_when_quiet(
    node: Litecoind, publisher: Publisher
) -> None:
    with watched_container(node) as container:
        slow = watcher(container, node, "btcreg")
        source = slow.source
        assert isinstance(source, BitcoinSource)
        # Polls so rare that only ZMQ can wake this watcher within the test.
        slow.settings = replace(slow.settings, poll_interval=3600)
        order = Order(container, "btcreg", 7_000_000, 1)

        async def until(status: str) -> None:
            while order.state()["status"] != status:
                await asyncio.sleep(0.02)

        async def go() -> None:
            zmq_source = BitcoinSource(
                source._nodes,
                network=source.network,
                asset="BTC",
                zmq=publisher.address,
                zmq_quiet_after=0.5,
            )
            slow.source = zmq_source
            stop = asyncio.Event()
            run = asyncio.create_task(slow.run(stop))
            try:
                await connected(zmq_source, publisher, node.block_hash(node.height()))
                txid = node.send(order.pay_to, "0.07")
                publisher.tx(node.rpc("getrawtransaction", txid, False))
                await asyncio.wait_for(until("processing"), 60)
                hashes = node.mine(2)
                publisher.block(hashes[-1])
                await asyncio.wait_for(until("paid"), 60)
                assert zmq_source.zmq_missed_blocks == 0
                publisher.close()  # the feed goes quiet
                stop.set()
                await run
                # A watcher polling every 0.2 s: the next blocks are found without ZMQ.
                slow.settings = replace(slow.settings, poll_interval=0.2)
                late = Order(container, "btcreg", 8_000_000, 2)
                txid = node.send(late.pay_to, "0.08")
                node.mine(2)
                stop.clear()
                run = asyncio.create_task(slow.run(stop))
                while late.state()["status"] != "paid":
                    await asyncio.sleep(0.05)
                assert zmq_source.zmq_missed_blocks >= 1
                assert zmq_source.health()[0].extra["zmq"] == "quiet (polling)"
            finally:
                stop.set()
                await run
                await zmq_source.aclose()

        asyncio.run(go())  # closes the nodes ``source`` shares with ``zmq_source``
