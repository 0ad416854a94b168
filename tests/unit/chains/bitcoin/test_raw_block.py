"""The raw block parser on real Bitcoin blocks (tests/fixtures/bitcoin, see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chains.bitcoin.raw_block import (
    RawFormatError,
    parse_block,
    parse_header,
    parse_transaction,
    read_varint,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "bitcoin"
JSON_BLOCKS = [
    "bitcoin_mainnet_951658.json",
    "bitcoin_testnet4_40000.json",
    "bitcoin_signet_31500.json",
]
ALL_BLOCKS = [*JSON_BLOCKS, "block_100000_mainnet.hex"]


def raw_of(name: str) -> bytes:
    text = (FIXTURES / name).read_text()
    return bytes.fromhex(json.loads(text)["block"] if name.endswith(".json") else text.strip())


def decoded() -> dict[str, dict[str, list[list[Any]]]]:
    data: dict[str, dict[str, list[list[Any]]]] = json.loads(
        (FIXTURES / "decoded_outputs.json").read_text()
    )
    return data


@pytest.mark.parametrize("name", JSON_BLOCKS)
def test_block_hash_txids_and_merkle_root(name: str) -> None:
    node = json.loads((FIXTURES / name).read_text())
    block = parse_block(raw_of(name))
    assert block.header.hash == node["hash"]
    assert block.header.parent_hash == node["previousblockhash"]
    assert block.header.merkle_root == node["merkleroot"]
    assert block.header.timestamp == node["time"]
    assert block.header.nonce == node["nonce"]
    assert f"{block.header.bits:08x}" == node["bits"]
    assert block.transactions.txids() == node["tx"]
    assert block.computed_merkle_root() == node["merkleroot"]


def test_block_100000() -> None:
    block = parse_block(raw_of("block_100000_mainnet.hex"))
    assert block.header.hash == "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506"
    assert block.computed_merkle_root() == block.header.merkle_root
    assert len(block.transactions) == 4


@pytest.mark.parametrize("name", ALL_BLOCKS)
def test_every_output_with_script_and_value(name: str) -> None:
    expected = decoded()[name]
    txs = parse_block(raw_of(name)).transactions
    got: dict[str, list[list[Any]]] = {}
    for k, script in enumerate(txs.scripts):
        outputs = got.setdefault(txs.txid(txs.output_tx[k]), [])
        assert txs.output_index[k] == len(outputs)
        outputs.append([txs.values[k], script.hex()])
    assert got == expected
    assert len(txs.scripts) == sum(len(v) for v in expected.values())


def test_mainnet_block_has_every_common_output_type() -> None:
    scripts = parse_block(raw_of("bitcoin_mainnet_951658.json")).transactions.scripts
    kinds = {  # (length, prefix, suffix)
        "p2pkh": (25, b"\x76\xa9\x14", b"\x88\xac"),
        "p2sh": (23, b"\xa9\x14", b"\x87"),
        "p2wpkh": (22, b"\x00\x14", b""),
        "p2tr": (34, b"\x51\x20", b""),
    }
    for kind, (length, prefix, suffix) in kinds.items():
        assert any(
            len(s) == length and s.startswith(prefix) and s.endswith(suffix) for s in scripts
        ), kind


@pytest.mark.parametrize("name", ALL_BLOCKS)
def test_each_transaction_parses_alone(name: str) -> None:
    txs = parse_block(raw_of(name)).transactions
    for n in range(len(txs)):
        alone = parse_transaction(txs.raw_transaction(n))
        assert alone.txid(0) == txs.txid(n)
        mine = [k for k in range(len(txs.scripts)) if txs.output_tx[k] == n]
        assert alone.scripts == [txs.scripts[k] for k in mine]
        assert alone.values == [txs.values[k] for k in mine]


def test_matching_finds_exactly_the_watched_scripts() -> None:
    txs = parse_block(raw_of("bitcoin_mainnet_951658.json")).transactions
    picked = {txs.scripts[k] for k in range(0, len(txs.scripts), 7)}
    watched = picked | {bytes([0, 20]) + bytes(20), b"\x51\x20" + bytes(32)}
    hits = txs.matching(watched)
    assert hits == [k for k, s in enumerate(txs.scripts) if s in picked]
    assert {txs.scripts[k] for k in hits} == picked
    assert txs.matching(set()) == []


def test_trailing_extension_data_is_ignored() -> None:
    raw = raw_of("bitcoin_signet_31500.json")
    block = parse_block(raw + b"\x01" + bytes(40))  # e.g. Litecoin's MWEB extension block
    assert block.transactions.txids() == parse_block(raw).transactions.txids()


def test_truncated_block_is_refused() -> None:
    raw = raw_of("bitcoin_testnet4_40000.json")
    with pytest.raises(RawFormatError, match="runs past the end"):
        parse_block(raw[: len(raw) // 2])
    with pytest.raises(RawFormatError, match="80 bytes"):
        parse_header(raw[:79])
    with pytest.raises(RawFormatError, match="no transactions"):
        parse_block(raw[:80] + b"\x00")


def test_transaction_with_trailing_bytes_or_mweb_flag_is_refused() -> None:
    txs = parse_block(raw_of("bitcoin_signet_31500.json")).transactions
    segwit = next(
        txs.raw_transaction(n)
        for n in range(len(txs))
        if txs.raw_transaction(n)[4:6] == b"\x00\x01"
    )
    with pytest.raises(RawFormatError, match="bytes left"):
        parse_transaction(segwit + b"\x00")
    mweb = segwit[:5] + b"\x09" + segwit[6:]
    with pytest.raises(RawFormatError, match="MWEB"):
        parse_transaction(mweb)


def test_varints() -> None:
    assert read_varint(b"\xfc", 0) == (252, 1)
    assert read_varint(b"\xfd\x01\x02", 0) == (0x0201, 3)
    assert read_varint(b"\xfe\x01\x00\x00\x01", 0) == (0x01000001, 5)
    assert read_varint(b"\xff" + (2**40).to_bytes(8, "little"), 0) == (2**40, 9)
    with pytest.raises(RawFormatError):
        read_varint(b"\xfd\x01", 0)
