"""What an EVM address held, asked of the node: balances and nonces at one block (one
JSON-RPC batch), and the first block where an unexplained balance reached an amount
(a binary search over ``eth_getBalance``), for the balance check
(:mod:`daemon.watching.balance_check`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chains.evm.source import EvmSource
from chains.jsonrpc import JsonRpcClient, RpcError
from chains.watching import ChainUnavailable


async def balances_and_nonces(
    source: EvmSource, scripts: Sequence[bytes], height: int
) -> tuple[dict[bytes, int], dict[bytes, int]]:
    """Balances and nonces of ``scripts`` at ``height``, in one JSON-RPC batch."""
    tag = hex(height)
    calls: list[tuple[str, Sequence[object]]] = []
    for script in scripts:
        address = "0x" + script.hex()
        calls += [
            ("eth_getBalance", [address, tag]),
            ("eth_getTransactionCount", [address, tag]),
        ]

    async def ask(client: JsonRpcClient) -> tuple[dict[bytes, int], dict[bytes, int]]:
        answers = await client.batch(calls)  # a refusal fails over to the next endpoint
        balances: dict[bytes, int] = {}
        nonces: dict[bytes, int] = {}
        for i, script in enumerate(scripts):
            balances[script] = _quantity(answers[2 * i], "eth_getBalance")
            nonces[script] = _quantity(answers[2 * i + 1], "eth_getTransactionCount")
        return balances, nonces

    return await source.pool.run(ask)


async def first_block_reaching(
    source: EvmSource,
    script: bytes,
    target: int,
    credited: Callable[[int], int],
    *,
    low: int,
    high: int,
) -> int:
    """The first block in ``low..high`` where ``script``'s balance less what was
    ``credited`` up to that block reached ``target`` (it has at ``high``). A block whose
    state the node no longer keeps is no evidence: "not yet", so never too early."""

    async def reached(h: int) -> bool:
        try:
            balance = (await source.balances([script], h))[script]
        except ChainUnavailable:
            return False
        return balance - credited(h) >= target

    if await reached(low):
        return low  # before the window: dated at its start, never earlier
    while high - low > 1:
        mid = (low + high) // 2
        if await reached(mid):
            high = mid
        else:
            low = mid
    return high


def _quantity(answer: Any, method: str) -> int:
    if isinstance(answer, RpcError):
        raise ChainUnavailable(f"{method}: {answer}")
    return int(answer, 16)
