"""Ground truth read from the node, never from paywatch: walk the best chain from the
start height and sum what each watched address received, with each credit's block
height and time (and, on Bitcoin-family chains, the mempool as unconfirmed credits).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tests.support.anvil import Anvil
from tests.support.litecoind import Litecoind

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


@dataclass(frozen=True)
class Credit:
    tx_hash: str
    index: int | None  # output index (Bitcoin family), log index (ERC-20), None (native)
    amount: int  # base units
    height: int | None  # None: in the mempool
    time: int | None  # the block's timestamp (unix seconds)


@dataclass
class Truth:
    tip: int
    finalized: int = -1  # the node's finalized block (EVM), -1 where there is none
    credits: dict[tuple[str, str], list[Credit]] = field(default_factory=dict)

    def of(self, where: str, asset: str) -> list[Credit]:
        return self.credits.get((where.lower(), asset), [])

    def total(self, where: str, asset: str) -> int:
        return sum(c.amount for c in self.of(where, asset))

    def confirmed(self, where: str, asset: str, depth: int) -> int:
        return sum(
            c.amount
            for c in self.of(where, asset)
            if c.height is not None and self.tip - c.height + 1 >= depth
        )

    def confirmed_by(self, where: str, asset: str, policy: int | str) -> int:
        """What counts as confirmed under an order's policy: a depth, or "finalized"."""
        if policy != "finalized":
            return self.confirmed(where, asset, int(policy))
        return sum(
            c.amount
            for c in self.of(where, asset)
            if c.height is not None and c.height <= self.finalized
        )

    def add(self, where: str, asset: str, credit: Credit) -> None:
        self.credits.setdefault((where.lower(), asset), []).append(credit)


def evm_truth(
    node: Anvil, start: int, addresses: Collection[str], tokens: dict[str, str], native: str
) -> Truth:
    """Native coin from successful transactions and ``Transfer`` logs of the token
    contracts (symbol -> contract) to ``addresses``, on the best chain from ``start``."""
    watched = {a.lower() for a in addresses}
    tip = node.height()
    finalized = node.rpc("eth_getBlockByNumber", "finalized", False)
    truth = Truth(tip, int(finalized["number"], 16))
    times: dict[int, int] = {}
    for height in range(start, tip + 1):
        block: dict[str, Any] = node.rpc("eth_getBlockByNumber", hex(height), True)
        times[height] = int(block["timestamp"], 16)
        for tx in block["transactions"]:
            to, value = (tx.get("to") or "").lower(), int(tx["value"], 16)
            paid = to in watched and value > 0
            if paid and node.receipt(tx["hash"])["status"] == "0x1":
                truth.add(to, native, Credit(tx["hash"], None, value, height, times[height]))
    for symbol, contract in tokens.items():
        logs = node.rpc(
            "eth_getLogs",
            {
                "fromBlock": hex(start),
                "toBlock": hex(tip),
                "address": contract,
                "topics": [TRANSFER_TOPIC],
            },
        )
        for log in logs:
            to = "0x" + log["topics"][2][-40:]
            if to in watched:
                height = int(log["blockNumber"], 16)
                credit = Credit(
                    log["transactionHash"],
                    int(log["logIndex"], 16),
                    int(log["data"], 16),
                    height,
                    times[height],
                )
                truth.add(to, symbol, credit)
    return truth


def bitcoin_truth(node: Litecoind, start: int, scripts: Collection[str], asset: str) -> Truth:
    """Outputs paying ``scripts`` (scriptPubKey hex) on the best chain from ``start``,
    and in the mempool (height None)."""
    watched = {s.lower() for s in scripts}
    tip = node.height()
    truth = Truth(tip)
    for height in range(start, tip + 1):
        block = node.rpc("getblock", node.block_hash(height), 2)
        for tx in block["tx"]:
            _outputs(truth, tx, watched, asset, height, int(block["time"]))
    for txid in node.mempool():
        tx = node.rpc("getrawtransaction", txid, True)
        _outputs(truth, tx, watched, asset, None, None)
    return truth


def _outputs(
    truth: Truth,
    tx: dict[str, Any],
    watched: set[str],
    asset: str,
    height: int | None,
    time: int | None,
) -> None:
    for out in tx["vout"]:
        script = out["scriptPubKey"]["hex"].lower()
        if script in watched:
            amount = int(Decimal(repr(out["value"])) * 10**8)
            truth.add(script, asset, Credit(tx["txid"], int(out["n"]), amount, height, time))
