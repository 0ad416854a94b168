"""The hand-written EVM pieces agree with eth-utils and eth-abi on random input.

paywatch keeps its own EIP-55 encoder and ``Transfer`` log decoding because the
libraries cost the derivation and matching targets (bench/web3_side_by_side.py);
the libraries stay as the oracle here.
"""

from __future__ import annotations

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address as eth_checksum
from eth_utils.crypto import keccak as eth_keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.evm.addresses import checksum_encoder, is_checksum_valid, parse_address
from chains.evm.extraction import TRANSFER_TOPIC, token_payments
from chains.evm.keccak import keccak256, keccak256_function

TOKEN = "0x" + "ab" * 20
addresses = st.binary(min_size=20, max_size=20)


@settings(max_examples=300, derandomize=True)
@given(addresses)
def test_checksum_matches_eth_utils(address: bytes) -> None:
    ours = checksum_encoder()(address)
    assert ours == eth_checksum(address)
    assert is_checksum_valid(ours)
    assert parse_address(ours) == address


@settings(max_examples=200, derandomize=True)
@given(st.binary(max_size=300))
def test_keccak_matches_eth_utils(data: bytes) -> None:
    assert keccak256_function()(data) == keccak256(data) == eth_keccak(data)


@settings(max_examples=200, derandomize=True)
@given(addresses, addresses, st.integers(min_value=1, max_value=2**256 - 1))
def test_transfer_decoding_matches_eth_abi(sender: bytes, receiver: bytes, amount: int) -> None:
    topics = ["0x" + abi_encode(["address"], [a]).hex() for a in (sender, receiver)]
    data = "0x" + abi_encode(["uint256"], [amount]).hex()
    log = {
        "address": TOKEN,
        "topics": [TRANSFER_TOPIC, *topics],
        "data": data,
        "blockHash": "0x" + "bb" * 32,
        "transactionHash": "0x" + "cc" * 32,
        "logIndex": "0x0",
    }
    ((_, payment),) = token_payments([log], {TOKEN: "USDC"}, {receiver})
    (decoded_receiver,) = abi_decode(["address"], bytes.fromhex(topics[1][2:]))
    (decoded_amount,) = abi_decode(["uint256"], bytes.fromhex(data[2:]))
    assert payment.script == bytes.fromhex(decoded_receiver[2:])
    assert payment.amount == decoded_amount
