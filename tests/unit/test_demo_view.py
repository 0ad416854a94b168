"""The demo's live view: one line per change off a terminal; on one, the table is erased
(exactly its lines) and redrawn below each new line."""

from __future__ import annotations

import io

from daemon.demo.view import LiveView, Row, table

PENDING = Row("demo-1", "ETH", "0.25", "0", "pending")
PAID = Row("demo-1", "ETH", "0.25", "0.25", "paid")
USDC = Row("demo-2", "USDC", "49.99", "20", "pending", "underpaid")


def test_off_a_terminal_each_change_is_one_line() -> None:
    out = io.StringIO()
    view = LiveView(out, tty=False)
    view.show([PENDING])
    view.show([PENDING])  # nothing changed: nothing printed
    view.log("store: verified order.created")
    view.show([PAID, USDC])
    assert out.getvalue().splitlines() == [
        "order demo-1: 0.25 ETH, received 0, pending",
        "store: verified order.created",
        "order demo-1: 0.25 ETH, received 0.25, paid",
        "order demo-2: 49.99 USDC, received 20, pending (underpaid)",
    ]


def test_on_a_terminal_the_table_is_redrawn_in_place() -> None:
    out = io.StringIO()
    view = LiveView(out, tty=True)
    view.show([PENDING, USDC])
    drawn = out.getvalue()
    assert drawn.count("\n") == 3  # header and two orders
    assert "\x1b[" in drawn  # header in bold
    view.log("store: verified order.paid")
    after = out.getvalue()[len(drawn) :]
    # Up three lines to the table's start, clear, the new line, then the table again.
    assert after.startswith("\x1b[3F\x1b[Jstore: verified order.paid\n")
    assert after.count("demo-2") == 1
    view.close()
    view.log("summary")
    assert out.getvalue().endswith("\nsummary\n")


def test_the_table_aligns_amounts_to_the_right() -> None:
    lines = table([PAID, USDC])
    assert lines[0].split() == ["order", "asset", "amount", "received", "status"]
    assert lines[1].index("0.25 ") + 4 == lines[2].index("49.99") + 5
    assert lines[2].endswith("pending (underpaid)")
