"""Mempool transactions already seen, so a mempool poll fetches only what is new.

The cache keeps each transaction's outputs (script and value), not only the payments
found in it: the set of watched scripts grows while a transaction waits in the
mempool, and a cached transaction is matched again against the set of the moment.
It is bounded (oldest first out) and pruned to the node's mempool on every poll.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from chains.bitcoin.raw_block import ParsedTransactions
from chains.watching import Payment

Outputs = tuple[tuple[bytes, ...], tuple[int, ...]]  # (scripts, values) by output index


class SeenTransactions:
    def __init__(self, limit: int = 300_000) -> None:
        if limit < 1:
            raise ValueError("the mempool cache needs room for at least one transaction")
        self.limit = limit
        self._entries: dict[str, Outputs] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, txid: object) -> bool:
        return txid in self._entries

    def add(self, txid: str, outputs: Outputs) -> None:
        entries = self._entries
        if txid in entries:
            return
        while len(entries) >= self.limit:
            del entries[next(iter(entries))]
        entries[txid] = outputs

    def add_parsed(self, parsed: ParsedTransactions) -> list[str]:
        """Every transaction of ``parsed`` (one from ZMQ ``rawtx``, or a block's); their txids."""
        grouped: dict[int, tuple[list[bytes], list[int]]] = {}
        for script, value, number in zip(
            parsed.scripts, parsed.values, parsed.output_tx, strict=True
        ):
            scripts, values = grouped.setdefault(number, ([], []))
            scripts.append(script)
            values.append(value)
        txids = []
        for number in range(len(parsed)):
            scripts, values = grouped.get(number, ([], []))
            txid = parsed.txid(number)
            self.add(txid, (tuple(scripts), tuple(values)))
            txids.append(txid)
        return txids

    def retain(self, txids: Collection[str]) -> None:
        """Forget transactions that left the mempool (mined, replaced or evicted)."""
        gone = [txid for txid in self._entries if txid not in txids]
        for txid in gone:
            del self._entries[txid]

    def pays(self, txid: str, watched: Collection[bytes]) -> bool:
        entry = self._entries.get(txid)
        return entry is not None and any(script in watched for script in entry[0])

    def payments(
        self, txids: Iterable[str], watched: Collection[bytes], asset: str
    ) -> list[Payment]:
        """Payments to ``watched`` in those of ``txids`` that are cached."""
        found = []
        entries = self._entries
        for txid in txids:
            entry = entries.get(txid)
            if entry is None:
                continue
            scripts, values = entry
            for index, script in enumerate(scripts):
                if script in watched and values[index] > 0:
                    found.append(Payment(txid, index, script, asset, values[index]))
        return found
