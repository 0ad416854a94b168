"""The payments export: one row per credited transfer, read as a stream.

A row is a ``transfers`` row with its order: ``counted`` while the transfer counts
(on the chain, or waiting in the mempool), ``removed`` once a reorg, replacement or
conflict took it away. Rows come in ascending ``transfers.seq`` (the order paywatch
first saw them), so a page cursor (``p`` and the last seq) continues the list with
every row exactly once, whatever the watcher changes meanwhile.

``block_time`` is the block's own timestamp; a transfer that is not in a block now
(unconfirmed, or removed and not mined again) has empty block fields, and a period
(``--since``/``--until``) selects transfers by block time, so it leaves those out;
an export without a period has them all.

Indexes: ``output_index`` is the output (vout) on Bitcoin-family chains;
``log_index`` the ERC-20 Transfer log's index in its block as the node reports it.
Both are empty for an EVM chain's own coin: the transaction's value, its internal
transfers (several of one transaction are several rows with the same hash) and what
the balance check credits (``tx_hash`` ``balance:0x…``: a rise of the address's
balance that no transaction explained, dated by the block it was read at).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TextIO

from pydantic import Field
from sqlalchemy import ColumnElement, Connection, func, select
from typing_extensions import TypedDict

from daemon.accounting.instants import Period
from daemon.domain.money import format_amount
from daemon.services import json_codec
from daemon.services.cursors import decode_cursor, encode_cursor
from daemon.services.order_records import iso
from daemon.services.registry import ChainRegistry
from daemon.storage.tables import orders, transfers

CURSOR_KIND = "p"
STREAM_ROWS = 1000  # rows fetched from the server-side cursor at a time


class PaymentRow(TypedDict):
    """One credited transfer (the CSV's columns, in this order)."""

    order_id: Annotated[str, Field(description="paywatch's id of the order (ord_…)")]
    order_ref: Annotated[str, Field(description="The store's order_id")]
    chain: str
    asset: str
    tx_hash: Annotated[
        str, Field(description="balance:0x… for a rise of an EVM balance no transaction explained")
    ]
    output_index: Annotated[int | None, Field(description="Bitcoin family: the output index")]
    log_index: Annotated[
        int | None, Field(description="ERC-20: the Transfer log's index in its block")
    ]
    block_height: int | None
    block_hash: str | None
    block_time: Annotated[str | None, Field(description="The block's timestamp, ISO 8601 UTC")]
    amount: Annotated[
        str | None, Field(description="Decimal string in asset units (null: asset not configured)")
    ]
    amount_base: Annotated[int, Field(description="The amount in base units (satoshi, wei)")]
    status: Literal["counted", "removed"]
    price_currency: Annotated[str | None, Field(description="Fiat orders only (none yet)")]
    rate: Annotated[str | None, Field(description="Fiat orders only (none yet)")]
    value: Annotated[str | None, Field(description="Fiat orders only (none yet)")]


COLUMNS: tuple[str, ...] = tuple(PaymentRow.__annotations__)

_SELECTED = (
    transfers.c.seq,
    orders.c.id.label("order_public_id"),
    orders.c.order_id.label("order_ref"),
    orders.c.asset.label("order_asset"),
    orders.c.decimals.label("order_decimals"),
    transfers.c.chain,
    transfers.c.asset,
    transfers.c.tx_hash,
    transfers.c.output_index,
    transfers.c.log_index,
    transfers.c.block_height,
    transfers.c.block_hash,
    transfers.c.block_time,
    transfers.c.amount_base,
    transfers.c.removed,
)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# What the balance check credits on EVM chains (daemon/watching/balance_check.py).
_BALANCE_KEY = "balance:"


def block_second(moment: datetime) -> int:
    """The first whole second (a block timestamp) at or after ``moment``."""
    whole, part = divmod(moment - _EPOCH, timedelta(seconds=1))
    return int(whole) + (1 if part else 0)


def _conditions(period: Period, chain: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if chain is not None:
        conditions.append(transfers.c.chain == chain)
    if period.bounded:  # by block time: only transfers in a block now
        conditions.append(transfers.c.block_hash.is_not(None))
        conditions.append(transfers.c.block_time.is_not(None))
    if period.since is not None:
        conditions.append(transfers.c.block_time >= block_second(period.since))
    if period.until is not None:
        conditions.append(transfers.c.block_time < block_second(period.until))
    return conditions


@dataclass(frozen=True, slots=True)
class PaymentPage:
    data: list[PaymentRow]
    next_cursor: str | None


class PaymentExport:
    """Rows of the export, amounts formatted by their asset's decimals: the order's for
    its own asset, the chain's configuration for another (USDC sent to an ETH order)."""

    def __init__(self, registry: ChainRegistry) -> None:
        self.registry = registry
        self._decimals: dict[tuple[str, str], int | None] = {}

    def count(self, conn: Connection, period: Period, chain: str | None = None) -> int:
        query = select(func.count()).select_from(transfers).where(*_conditions(period, chain))
        return int(conn.execute(query).scalar_one())

    def stream(
        self,
        conn: Connection,
        period: Period,
        chain: str | None = None,
        *,
        after: int | None = None,
        limit: int | None = None,
    ) -> Iterator[tuple[int, PaymentRow]]:
        """(seq, row) in ascending seq after ``after``, fetched :data:`STREAM_ROWS` at a
        time from a server-side cursor (never the whole result in memory)."""
        conditions = _conditions(period, chain)
        if after is not None:
            conditions.append(transfers.c.seq > after)
        query = (
            select(*_SELECTED)
            .join(orders, orders.c.seq == transfers.c.order_seq)
            .where(*conditions)
            .order_by(transfers.c.seq)
            .limit(limit)
            .execution_options(stream_results=True, yield_per=STREAM_ROWS)
        )
        for row in conn.execute(query):
            yield row.seq, self._row(row)

    def page(
        self,
        conn: Connection,
        period: Period,
        chain: str | None = None,
        *,
        cursor: str | None = None,
        limit: int = 100,
    ) -> PaymentPage:
        after = None if cursor is None else decode_cursor(CURSOR_KIND, cursor)
        found = list(self.stream(conn, period, chain, after=after, limit=limit + 1))
        more = len(found) > limit
        found = found[:limit]
        last = encode_cursor(CURSOR_KIND, found[-1][0]) if more else None
        return PaymentPage([row for _, row in found], last)

    def _asset_decimals(self, chain: str, asset: str) -> int | None:
        key = (chain, asset)
        if key not in self._decimals:
            info = self.registry.get(chain)
            found = None if info is None else info.asset(asset)
            self._decimals[key] = None if found is None else found.decimals
        return self._decimals[key]

    def _row(self, r: Any) -> PaymentRow:  # a Row of _SELECTED
        if r.asset == r.order_asset:
            decimals: int | None = r.order_decimals
        else:
            decimals = self._asset_decimals(r.chain, r.asset)
        evm = r.tx_hash.startswith(("0x", _BALANCE_KEY))
        in_block = r.block_hash is not None
        return {
            "order_id": r.order_public_id,
            "order_ref": r.order_ref,
            "chain": r.chain,
            "asset": r.asset,
            "tx_hash": r.tx_hash,
            "output_index": None if evm else r.output_index,
            "log_index": r.log_index if evm else None,
            "block_height": r.block_height if in_block else None,
            "block_hash": r.block_hash,
            "block_time": (
                iso(datetime.fromtimestamp(r.block_time, UTC))
                if in_block and r.block_time is not None
                else None
            ),
            "amount": None if decimals is None else format_amount(r.amount_base, decimals),
            "amount_base": r.amount_base,
            "status": "removed" if r.removed else "counted",
            "price_currency": None,
            "rate": None,
            "value": None,
        }


def write_csv(
    rows: Iterable[PaymentRow], out: TextIO, tick: Callable[[], None] | None = None
) -> int:
    """The header and one line per row (empty cells for nulls); the rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    written = 0
    for row in rows:
        writer.writerow(["" if v is None else v for v in row.values()])
        written += 1
        if tick is not None:
            tick()
    return written


def write_json(
    rows: Iterable[PaymentRow], out: TextIO, tick: Callable[[], None] | None = None
) -> int:
    """A JSON array, one row (object) a line; the rows written."""
    written = 0
    out.write("[")
    for row in rows:
        out.write(",\n" if written else "\n")
        out.write(json_codec.dumps(row))
        written += 1
        if tick is not None:
            tick()
    out.write("\n]\n" if written else "]\n")
    return written
