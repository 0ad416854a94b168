"""The ERC-20 the demo takes as USDC: deployed on anvil, minted to the funded account.

``TestToken.json`` is a copy of ``tests/fixtures/evm/TestToken.json``: the compiled
artifact (``abi`` + creation ``bytecode``) of ``tests/fixtures/evm/TestToken.sol``, a
minimal ERC-20 with 6 decimals like USDC on which anyone may ``mint``, compiled with solc-js
0.8.26 (see ``tests/fixtures/evm/README.md``). It ships as package data so the demo needs
neither the tests nor a compiler.
"""

from __future__ import annotations

import json
from importlib import resources

from chains.evm.keccak import keccak256
from daemon.demo.nodes import FUNDED_ACCOUNT, Anvil, NodeError

ARTIFACT = "TestToken.json"
DECIMALS = 6
MINTED = 1_000_000 * 10**DECIMALS  # base units given to the funded account


def units(base: int, decimals: int = DECIMALS) -> str:
    """Base units as a decimal string: ``20000000`` -> ``"20"``."""
    whole, fraction = divmod(base, 10**decimals)
    return f"{whole}.{fraction:0{decimals}d}".rstrip("0").rstrip(".")


def creation_bytecode() -> str:
    artifact = json.loads(resources.files("daemon.demo").joinpath(ARTIFACT).read_text())
    return str(artifact["bytecode"])


def call_data(signature: str, address: str, amount: int) -> str:
    """ABI call data for ``f(address,uint256)``: selector, then two 32-byte words."""
    selector = keccak256(signature.encode())[:4]
    account = bytes.fromhex(address.removeprefix("0x").lower()).rjust(32, b"\0")
    return "0x" + (selector + account + amount.to_bytes(32, "big")).hex()


async def deploy_token(anvil: Anvil) -> str:
    """Deploy the token and mint :data:`MINTED` to the funded account; its address."""
    tx_hash = await anvil.transact(None, data=creation_bytecode())
    receipt = await anvil.receipt(tx_hash)
    contract = receipt.get("contractAddress")
    if not contract:
        raise NodeError(f"the token deployment made no contract: {receipt}")
    await anvil.transact(contract, data=call_data("mint(address,uint256)", FUNDED_ACCOUNT, MINTED))
    return str(contract)


async def pay_token(anvil: Anvil, contract: str, to: str, amount: int) -> str:
    """``transfer(to, amount)`` from the funded account; the transaction hash."""
    return await anvil.transact(contract, data=call_data("transfer(address,uint256)", to, amount))
