"""Balance check of open EVM orders: native coin that left no trace.

Why: a contract (an exchange hot wallet, a Safe, a batch payer) can send native coin
to an order address from inside a call. That transfer has no transaction of its own
to the address and no log; only a trace API shows it. Where the node has one,
:class:`chains.evm.source.EvmSource` reports such transfers itself and this job does
nothing. Where it has none, this job compares what the chain holds with what was
credited.

How, per chain, in a round every ``interval`` seconds:

1. Take the watcher's processed height ``B`` (``chain_cursors``): every transaction
   and log up to ``B`` has been credited, so the comparison is made at that block.
2. For every order due (a few moments in its life, see
   :mod:`daemon.watching.balance_schedule`; all open ones in the first round after a
   start; one order on demand), ask ``eth_getBalance`` and
   ``eth_getTransactionCount`` at ``B``, together in batched JSON-RPC calls.
3. ``unexplained = balance(B) - credited``, where ``credited`` is the sum of the
   order's native transfers on this chain mined at or before ``B``, not removed,
   other than this job's own.

The key: each address has ONE balance-check transfer, keyed ``("balance:<address>",
-1)`` (a multi-option order's: ``balance:<chain>:<address>``). Its amount is *set* to
``unexplained`` on each check (it is not added to), so

* a repeat check never double-counts: nothing new, nothing changes;
* if the trace or log path later sees the real transfer (e.g. the node gained
  a trace API, or an endpoint with one took over), ``credited`` includes it and
  the next check lowers the balance-check transfer by as much (to nothing: it
  is then marked removed), so the same value is never counted twice;
* a reorg that takes coins away lowers it the same way.

An address that has *sent* a transaction (nonce > 0: the merchant swept it) no longer
tells what it received from its balance; it is skipped, and reported in the result.
The transfer is recorded at block ``B`` (the latest block the coins can have arrived
in), so confirmations count from there, conservatively late.

A new balance-check transfer is dated by the block where the unexplained balance
reached its amount (:mod:`daemon.watching.balance_history`), not by the check's time.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CompoundSelect, Connection, select

from chains.evm.source import EvmSource
from daemon.cluster.fence import NO_FENCE, Fence
from daemon.domain.payments import Transfer, TransferKey
from daemon.services.order_changes import Observation, OrderChanges
from daemon.services.order_records import OrderRecord, TransferRecord, load_transfers
from daemon.storage.after_commit import on_commit
from daemon.storage.database import Database
from daemon.storage.tables import chain_blocks, chain_cursors, orders
from daemon.watching import block_times
from daemon.watching.balance_history import balances_and_nonces, first_block_reaching
from daemon.watching.balance_schedule import BalanceSchedule, addresses_on, open_orders

log = logging.getLogger(__name__)

KEY_PREFIX = "balance:"
# Blocks searched back for a rise when there was no earlier round (a full node keeps
# the state of the last 128 blocks at least).
LOOKBACK = 128


def balance_key(address: str, chain: str | None = None) -> TransferKey:
    """The key of an address's balance-check transfer; a multi-option order's names its
    chain too (its address is the same on every EVM chain of one key)."""
    where = address.lower() if chain is None else f"{chain}:{address.lower()}"
    return TransferKey(KEY_PREFIX + where, -1)


@dataclass
class CheckResult:
    height: int | None = None
    checked: int = 0
    changed: list[str] = field(default_factory=list)  # order ids
    swept: list[str] = field(default_factory=list)  # order ids whose address has sent


@dataclass(frozen=True)
class _Open:  # an order's address on the chain: its own, or a multi-option order's
    order: OrderRecord
    script: bytes
    key: TransferKey  # of its balance-check transfer


@dataclass(frozen=True)
class _Head:
    height: int | None
    block_hash: str | None
    timestamp: int | None  # of the block at ``height``, where the watcher stored it


class BalanceCheck:
    def __init__(
        self,
        chain: str,
        source: EvmSource,
        db: Database,
        changes: OrderChanges,
        clock: Callable[[], datetime],
        *,
        native_symbol: str,
        batch: int = 500,
        interval: float = 60.0,
        after_creation: float = 60.0,
        on_credit: Callable[[str, str, int], None] | None = None,
    ) -> None:
        self.chain = chain
        self.source = source
        self.db = db
        self.changes = changes
        self.clock = clock
        self.symbol = native_symbol
        self.batch = batch
        self.interval = interval  # seconds between scheduled rounds
        self.schedule = BalanceSchedule(timedelta(seconds=after_creation))
        self.on_credit = on_credit  # (chain, asset, count) of first-time transfers (metrics)
        # The block each address was last checked at: a new balance is dated by a search
        # from there (addresses leave at their last moment, so this holds open ones only).
        self.checked: dict[bytes, int] = {}
        self._recorded: list[int] = []  # blocks of committed credits, for the watcher
        # The chain's lease (daemon.cluster.fence): scheduled rounds settle under it, so
        # they run on the chain's leader only; a check asked for (API, CLI) takes the
        # writer lock alone, as a rescan does.
        self.fence: Fence = NO_FENCE

    def take_recorded(self) -> list[int]:
        """The blocks credits were committed in since the last call (for the watcher)."""
        taken, self._recorded = self._recorded, []
        return taken

    def _head(self, conn: Connection) -> _Head:
        height = conn.execute(
            select(chain_cursors.c.height).where(chain_cursors.c.chain == self.chain)
        ).scalar_one_or_none()
        block = conn.execute(
            select(chain_blocks.c.hash, chain_blocks.c.timestamp).where(
                chain_blocks.c.chain == self.chain, chain_blocks.c.height == height
            )
        ).first()
        return _Head(height, *(block or (None, None)))

    def _orders(self, conn: Connection, query: CompoundSelect[Any]) -> list[_Open]:
        found = []
        for row in conn.execute(query):
            order = OrderRecord.from_row(row)
            key = balance_key(row.address, None if order.single else self.chain)
            found.append(_Open(order, row.script, key))
        return found

    async def run_once(self) -> CheckResult:
        """Check every open order now (the first round after a start does this)."""
        head = await self.db.run_read(self._head)
        query = open_orders(self.chain, self.clock())
        found = await self.db.run_read(functools.partial(self._orders, query=query))
        return await self._check(head, found)

    async def scheduled_round(self) -> CheckResult | None:
        """One round of the daemon's schedule: the orders with a moment due (see
        :mod:`daemon.watching.balance_schedule`); nothing where the node's traces
        already report coin sent by contracts."""
        if self.source.trace_method is not None:
            return None
        head = await self.db.run_read(self._head)
        if head.height is None:
            return CheckResult()
        timestamp = head.timestamp
        if timestamp is None:
            timestamp = (await self.source.headers([head.height]))[0].timestamp
        until = min(self.clock(), datetime.fromtimestamp(timestamp, UTC))
        query = self.schedule.due(self.chain, until)
        found = await self.db.run_read(functools.partial(self._orders, query=query))
        result = await self._check(head, found, fenced=True)
        self.schedule.covered(until)
        for item in found:  # its last moment: it is not checked again unless asked
            if item.order.late_until <= until:
                self.checked.pop(item.script, None)
        return result

    async def check_order(self, public_id: str) -> CheckResult:
        """Check one order's address now, whatever its status (on demand)."""
        head = await self.db.run_read(self._head)
        query = addresses_on(self.chain, orders.c.id == public_id)
        found = await self.db.run_read(functools.partial(self._orders, query=query))
        return await self._check(head, found)

    async def _check(self, head: _Head, found: list[_Open], *, fenced: bool = False) -> CheckResult:
        height = head.height
        result = CheckResult(height=height)
        if height is None or not found:
            return result
        for start in range(0, len(found), self.batch):
            part = found[start : start + self.batch]
            balances, nonces = await balances_and_nonces(
                self.source, [o.script for o in part], height
            )
            result.checked += len(part)
            result.swept.extend(o.order.id for o in part if nonces[o.script] > 0)
            candidates = [o for o in part if nonces[o.script] == 0]
            dated = await self._date_rises(candidates, balances, height)
            settle = functools.partial(
                self._settle,
                candidates=candidates,
                balances=balances,
                height=height,
                block_hash=head.block_hash,
                dated=dated,
                fence=self.fence if fenced else NO_FENCE,
            )
            changed, _ = await self.db.run(settle)
            result.changed.extend(changed)
            for item in part:
                self.checked[item.script] = height
        if result.swept:
            log.warning(
                "%s: balance check skips %d order address(es) that have sent funds",
                self.chain,
                len(result.swept),
            )
        return result

    def _credited(self, records: Sequence[TransferRecord], key: TransferKey, height: int) -> int:
        """Native coin credited by the watcher in blocks up to ``height``."""
        return sum(
            r.transfer.amount
            for r in records
            if r.transfer.key != key
            and (r.chain, r.asset) == (self.chain, self.symbol)
            and not r.transfer.removed
            and r.block_height is not None
            and r.block_height <= height
        )

    async def _date_rises(
        self, candidates: Sequence[_Open], balances: dict[bytes, int], height: int
    ) -> dict[bytes, datetime]:
        """When each new unexplained balance arrived: its block's time, by script."""
        seqs = [o.order.seq for o in candidates]
        known = await self.db.run_read(lambda conn: load_transfers(conn, seqs))
        heights: dict[bytes, int] = {}
        for item in candidates:
            records = known[item.order.seq]
            key = item.key
            current = next((r.transfer for r in records if r.transfer.key == key), None)
            target = balances[item.script] - self._credited(records, key, height)
            if target > 0 and (current is None or current.removed):
                heights[item.script] = await self._rise(item.script, records, key, target, height)
        if not heights:
            return {}
        headers = await self.source.headers(sorted(set(heights.values())))
        times = {h.height: datetime.fromtimestamp(h.timestamp, UTC) for h in headers}
        return {script: times[h] for script, h in heights.items()}

    async def _rise(
        self,
        script: bytes,
        records: Sequence[TransferRecord],
        key: TransferKey,
        target: int,
        height: int,
    ) -> int:
        """The first block in the window where the unexplained balance was ``target``."""
        start = self.checked.get(script, height - LOOKBACK)
        return await first_block_reaching(
            self.source,
            script,
            target,
            lambda h: self._credited(records, key, h),
            low=max(0, min(start, height)),
            high=height,
        )

    def _settle(
        self,
        conn: Connection,
        candidates: Sequence[_Open],
        balances: dict[bytes, int],
        height: int,
        block_hash: str | None,
        dated: dict[bytes, datetime] | None = None,
        fence: Fence = NO_FENCE,
    ) -> tuple[list[str], int]:
        """The orders changed, and how many balance-check transfers are new."""
        # Before reading what was credited: a watcher committing a transfer meanwhile
        # would otherwise be counted again here.
        self.changes.lock_chain(conn, self.chain)
        fence.check(conn)
        now = self.clock()
        records = load_transfers(conn, [o.order.seq for o in candidates])
        observations: list[Observation] = []
        changed: list[str] = []
        new = 0
        for item in candidates:
            order = item.order
            key = item.key
            known = records[order.seq]
            current = next((r.transfer for r in known if r.transfer.key == key), None)
            unexplained = balances[item.script] - self._credited(known, key, height)
            fresh = current is None or current.removed or current.amount != unexplained
            if unexplained > 0 and fresh:
                # Dated by the block it arrived in (never later than now); a rise of a
                # known transfer keeps its first date whatever is given here.
                seen_at = min(now, (dated or {}).get(item.script, now))
                transfer = Transfer(key, unexplained, seen_at)
                new += current is None
            elif unexplained <= 0 and current is not None and not current.removed:
                transfer = Transfer(key, current.amount, now, removed=True)
            else:
                continue
            observations.append(
                Observation(self.chain, item.script, self.symbol, transfer, height, block_hash)
            )
            changed.append(order.id)
        if observations:
            self.changes.record(conn, observations, now)
            on_commit(conn, functools.partial(self._recorded.append, height))
            if block_hash is not None:
                block_times.stamp_from_stored_block(conn, self.chain, height, block_hash)
        if new and self.on_credit is not None:
            on_commit(conn, functools.partial(self.on_credit, self.chain, self.symbol, new))
        return changed, new
