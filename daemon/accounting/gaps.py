"""``paywatch address gaps``: what to set in a wallet so that it sees every payment.

Wallets restored from an xpub (Sparrow, Electrum) derive addresses in order and stop
after ``gap_limit`` unused ones in a row; paywatch hands out one address per order, and
most orders are never paid, so later payments can lie beyond where the wallet stops.

Per derivation key (chains that share a key share its index sequence, see
:mod:`daemon.services.address_allocation`):

- ``highest_index``: the last index handed out (the key's counter; None before any);
- ``longest_unpaid_run``: the longest run of indexes ``0..highest_index`` whose
  address has no payment, the trailing run included. An address counts as paid on a
  chain when a transfer to it on that chain is in a block and not removed (what a
  wallet rescanning the chain sees; unconfirmed or reorged-away transfers do not
  count, which can only lengthen the run). A wallet follows one chain (and one address
  type), so the run is counted per chain and the key's is the longest of its chains';
- ``gap_limit``: ``longest_unpaid_run + 1`` (the wallet must look one past the run to
  reach the next paid address), at least 20, the wallets' default;
- Bitcoin family: each chain's descriptor (with checksum) and a ready Bitcoin Core
  ``importdescriptors`` request over the range ``[0, highest_index]``, not active (the
  wallet must not hand out paywatch's addresses itself); run again to widen the range
  as orders are made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Connection, func, select

from daemon.services.registry import ChainInfo, ChainRegistry
from daemon.storage.order_targets import TRANSFER_ADDRESS, of_transfer, order_targets
from daemon.storage.tables import address_counters, order_addresses, orders, transfers

WALLET_DEFAULT_GAP_LIMIT = 20


@runtime_checkable
class Described(Protocol):
    """A deriver that can write its key as an output descriptor (Bitcoin family)."""

    @property
    def descriptor(self) -> str: ...


@dataclass
class KeyGap:
    keyspace: str
    chains: list[str]
    highest_index: int | None
    per_chain: dict[str, int] = field(default_factory=dict)  # chain -> longest unpaid run
    paid: dict[str, int] = field(default_factory=dict)  # chain -> paid addresses
    descriptors: dict[str, str] = field(default_factory=dict)  # chain -> descriptor
    first_order_at: int | None = None  # unix time of the key's first order

    @property
    def longest_unpaid_run(self) -> int:
        return max(self.per_chain.values(), default=0)

    @property
    def gap_limit(self) -> int:
        return max(self.longest_unpaid_run + 1, WALLET_DEFAULT_GAP_LIMIT)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "keyspace": self.keyspace,
            "chains": self.chains,
            "highest_index": self.highest_index,
            "longest_unpaid_run": self.longest_unpaid_run,
            "gap_limit": self.gap_limit,
            "per_chain": {
                name: {
                    "paid_addresses": self.paid.get(name, 0),
                    "longest_unpaid_run": run,
                    "gap_limit": max(run + 1, WALLET_DEFAULT_GAP_LIMIT),
                }
                for name, run in self.per_chain.items()
            },
            "descriptor": next(iter(self.descriptors.values()), None),
        }
        if self.descriptors:
            out["descriptors"] = self.descriptors
            out["range"] = None if self.highest_index is None else [0, self.highest_index]
            out["importdescriptors"] = self.import_request()
        return out

    def import_request(self) -> dict[str, Any] | None:
        """A JSON-RPC body for Bitcoin Core (``curl --data-binary @- …``), or None when
        no index was handed out yet."""
        if self.highest_index is None:
            return None
        requests = [
            {
                "desc": desc,
                "range": [0, self.highest_index],
                "timestamp": self.first_order_at if self.first_order_at is not None else "now",
                "internal": False,
                "active": False,
            }
            for desc in dict.fromkeys(self.descriptors.values())
        ]
        return {
            "jsonrpc": "1.0",
            "id": "paywatch",
            "method": "importdescriptors",
            "params": [requests],
        }


def longest_run(paid: Iterable[int], highest_index: int | None) -> int:
    """The longest run of indexes in ``0..highest_index`` not in ``paid`` (ascending)."""
    if highest_index is None:
        return 0
    longest, previous = 0, -1
    for index in paid:
        if index > highest_index:
            break
        longest = max(longest, index - previous - 1)
        previous = index
    return max(longest, highest_index - previous)


def _paid_indexes(conn: Connection, keyspace: str, chain: str) -> list[int]:
    index = of_transfer("derivation_index")
    query = (
        select(index)
        .distinct()
        .select_from(transfers)
        .join(orders, transfers.c.order_seq == orders.c.seq)
        .outerjoin(order_addresses, TRANSFER_ADDRESS)
        .where(
            of_transfer("keyspace") == keyspace,
            transfers.c.chain == chain,
            transfers.c.removed.is_(False),
            transfers.c.block_height.is_not(None),
        )
        .order_by(index)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def key_gap(conn: Connection, keyspace: str, chains: list[ChainInfo]) -> KeyGap:
    next_index = conn.execute(
        select(address_counters.c.next_index).where(address_counters.c.keyspace == keyspace)
    ).scalar()
    highest = int(next_index) - 1 if next_index else None
    gap = KeyGap(keyspace, [c.name for c in chains], highest)
    t = order_targets()
    first = conn.execute(select(func.min(t.c.created_at)).where(t.c.keyspace == keyspace)).scalar()
    gap.first_order_at = int(first.timestamp()) if first is not None else None
    for chain in chains:
        paid = _paid_indexes(conn, keyspace, chain.name)
        gap.paid[chain.name] = len(paid)
        gap.per_chain[chain.name] = longest_run(paid, highest)
        if isinstance(chain.deriver, Described):
            gap.descriptors[chain.name] = chain.deriver.descriptor
    return gap


def address_gaps(conn: Connection, registry: ChainRegistry, chain: str | None) -> list[KeyGap]:
    """One :class:`KeyGap` per key of the configured chains (only ``chain``'s key when
    given), in the order of the chains' names."""
    keys: dict[str, list[ChainInfo]] = {}
    for name in sorted(registry.names()):
        info = registry.get(name)
        assert info is not None
        keys.setdefault(info.deriver.keyspace, []).append(info)
    if chain is not None:
        keys = {k: c for k, c in keys.items() if chain in [i.name for i in c]}
    return [key_gap(conn, keyspace, chains) for keyspace, chains in keys.items()]
