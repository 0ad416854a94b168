"""The demo's live view: a table of the orders, redrawn in place on a terminal (ANSI), or
one line per change when the output is a pipe or a file; other lines (the store's, the
tour's) print above the table."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

HEADERS = ("order", "asset", "amount", "received", "status")
COLORS = {"paid": "32", "processing": "33", "expired": "31", "invalid": "31", "cancelled": "90"}


@dataclass(frozen=True)
class Row:
    """One order as the table shows it (amounts as the API's decimal strings)."""

    order_id: str
    asset: str
    amount: str
    received: str
    status: str
    exception: str = "none"

    @classmethod
    def of(cls, view: Mapping[str, Any]) -> Row:
        price = view.get("price")
        if price is None:
            asset, amount, received = view["asset"], view["amount"], view["received"]
        else:  # priced in fiat: the price and what came in, in its currency
            got = view.get("received_value") or {"amount": "0"}
            asset, amount, received = price["currency"], price["amount"], got["amount"]
        return cls(
            order_id=str(view["order_id"]),
            asset=str(asset),
            amount=str(amount),
            received=str(received),
            status=str(view["status"]),
            exception=str(view.get("exception", "none")),
        )

    @property
    def state(self) -> str:
        return self.status if self.exception == "none" else f"{self.status} ({self.exception})"

    def cells(self) -> tuple[str, str, str, str, str]:
        return (self.order_id, self.asset, self.amount, self.received, self.state)


def table(rows: Sequence[Row], *, color: bool = False) -> list[str]:
    """The table's lines: a header, then one line per order."""
    cells = [HEADERS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]
    lines = []
    for n, line in enumerate(cells):
        order, asset, amount, received, state = (
            cell.rjust(w) if i in (2, 3) else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        if color and n > 0:
            code = COLORS.get(rows[n - 1].status)
            state = f"\x1b[{code}m{state}\x1b[0m" if code else state
        lines.append(f"  {order}  {asset}  {amount}  {received}  {state}".rstrip())
    if color:
        lines[0] = f"\x1b[1m{lines[0]}\x1b[0m"
    return lines


class LiveView:
    """Where every line of the demo goes."""

    def __init__(self, out: TextIO, *, tty: bool) -> None:
        self.out = out
        self.tty = tty
        self.rows: list[Row] = []
        self._drawn = 0  # table lines on screen below the cursor's line (TTY)
        self._closed = False

    @classmethod
    def for_stdout(cls) -> LiveView:
        tty = sys.stdout.isatty() and os.environ.get("TERM", "") != "dumb"
        return cls(sys.stdout, tty=tty)

    def log(self, line: str = "") -> None:
        """A line above the table."""
        if self.tty and not self._closed:
            self._erase()
            self._write(line + "\n")
            self._draw()
        else:
            self._write(line + "\n")

    def show(self, rows: Sequence[Row]) -> None:
        """The orders now: redraw the table (TTY), or print the rows that changed."""
        rows = list(rows)
        if rows == self.rows or self._closed:
            return
        before = {row.order_id: row for row in self.rows}
        self.rows = rows
        if self.tty:
            self._erase()
            self._draw()
            return
        for row in rows:
            old = before.get(row.order_id)
            if old is None or (old.state, old.received) != (row.state, row.received):
                self._write(
                    f"order {row.order_id}: {row.amount} {row.asset}, received {row.received},"
                    f" {row.state}\n"
                )

    def close(self) -> None:
        """Leave the table as it is; later lines print below it."""
        self._closed = True
        self._drawn = 0

    def _erase(self) -> None:
        if self._drawn:
            # Up to the table's first line, then clear to the end of the screen.
            self._write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self) -> None:
        if not self.rows:
            return
        lines = table(self.rows, color=True)
        self._write("".join(line + "\n" for line in lines))
        self._drawn = len(lines)

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
