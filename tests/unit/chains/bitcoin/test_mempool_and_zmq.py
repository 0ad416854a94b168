"""The mempool cache and the ZMQ message handling, without sockets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chains.bitcoin.mempool_cache import SeenTransactions
from chains.bitcoin.raw_block import ParsedTransactions, parse_block
from chains.bitcoin.zmq_feed import ZmqFeed

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "bitcoin"


def block_txs() -> ParsedTransactions:
    data = json.loads((FIXTURES / "bitcoin_testnet4_40000.json").read_text())
    return parse_block(bytes.fromhex(data["block"])).transactions


def test_cache_rematches_against_the_watched_set_of_the_moment() -> None:
    txs = block_txs()
    seen = SeenTransactions()
    txids = seen.add_parsed(txs)
    assert txids == txs.txids()
    assert seen.payments(txids, set(), "BTC") == []
    k = len(txs.scripts) - 1
    later = {txs.scripts[k]}
    payments = seen.payments(txids, later, "BTC")
    assert {(p.tx_hash, p.index, p.amount) for p in payments} >= {
        (txs.txid(txs.output_tx[k]), txs.output_index[k], txs.values[k])
    }
    assert all(p.script in later and p.amount > 0 for p in payments)
    seen.retain({txids[0]})
    assert len(seen) == 1
    assert txids[0] in seen


def test_cache_is_bounded_oldest_first() -> None:
    seen = SeenTransactions(limit=2)
    for txid in ("a", "b", "c"):
        seen.add(txid, ((b"s",), (1,)))
    assert "a" not in seen
    assert len(seen) == 2
    with pytest.raises(ValueError, match="at least one"):
        SeenTransactions(limit=0)


def test_zmq_messages_sequences_and_malformed_ones() -> None:
    blocks: list[str] = []
    txs: list[bytes] = []
    feed = ZmqFeed("tcp://127.0.0.1:1", on_block=blocks.append, on_tx=txs.append)
    seq = [n.to_bytes(4, "little") for n in range(10)]
    feed.handle([b"hashblock", bytes(range(32)), seq[0]])
    feed.handle([b"rawtx", b"\x01\x02", seq[0]])
    feed.handle([b"hashblock", bytes(32), seq[3]])  # 1 and 2 lost
    assert feed.lost == 2
    assert blocks == [bytes(range(32)).hex(), "", "00" * 32]  # "" = lost, poll now
    assert txs == [b"\x01\x02"]
    feed.handle([b"hashblock", bytes(32), seq[0]])  # the node restarted
    assert (feed.restarts, feed.lost) == (1, 2)
    for bad in ([b"hashblock", bytes(31), seq[1]], [b"rawtx", b""], [b"other", b"", seq[0]]):
        feed.handle(bad)
    assert feed.bad == 3
    assert feed.received == 5
    assert feed.quiet_for() is not None
