"""What each order must say, from the chain's truth alone, and the differences.

The status follows the transition table's meaning (daemon/domain): the full amount
in time and confirmed is ``paid``, seen but not confirmed ``processing``; short of it
``pending`` until expiry and ``expired`` after; a cancel the API accepted is final.
A payment is in time when the credit that completed the amount is in a block dated at
or before ``expires_at`` (a mempool credit counts as now).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.torture.chain_truth import Credit, Truth


@dataclass(frozen=True)
class Expected:
    status: str
    exception: str
    received: int
    received_confirmed: int


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def expected(
    view: dict[str, Any], credits: list[Credit], confirmed: int, *, cancelled: bool
) -> Expected:
    now = datetime.now(UTC)
    due = int(view["amount_base"])
    expires_at = parse_time(view["expires_at"])
    received = sum(c.amount for c in credits)
    full_at: datetime | None = None
    running = 0
    for credit in sorted(credits, key=lambda c: (c.time is None, c.time or 0)):
        running += credit.amount
        if running >= due:
            full_at = now if credit.time is None else datetime.fromtimestamp(credit.time, UTC)
            break
    in_time = full_at is not None and full_at <= expires_at
    if cancelled:
        status = "cancelled"
    elif in_time:
        status = "paid" if confirmed >= due else "processing"
    else:
        status = "expired" if now > expires_at else "pending"
    if received == 0:
        exception = "none"
    elif status == "expired" and full_at is not None and confirmed >= due:
        exception = "paid_late"
    elif received < due:
        exception = "underpaid"
    elif received > due:
        exception = "overpaid"
    else:
        exception = "none"
    return Expected(status, exception, received, confirmed)


def differences(
    seed: int,
    views: dict[str, dict[str, Any]],
    truth: Truth,
    *,
    where: dict[str, str],
    cancelled: Collection[str],
    fuzzy_time: Collection[str] = (),
) -> list[str]:
    """One line per order whose view disagrees with the chain (empty: all agree).

    ``where``: order id -> the address or script its truth is keyed by; ``fuzzy_time``:
    orders whose completing payment landed too close to expiry to judge in time."""
    found = []
    for order_id, view in sorted(views.items()):
        asset = view["asset"]
        credits = truth.of(where[order_id], asset)
        confirmed = truth.confirmed_by(where[order_id], asset, view["confirmations_required"])
        want = expected(view, credits, confirmed, cancelled=order_id in cancelled)
        got = Expected(
            view["status"],
            view["exception"],
            int(view["received_base"]),
            int(view["received_confirmed_base"]),
        )
        if order_id in fuzzy_time and want.status in ("paid", "expired"):
            # Completed within a second or two of expiry: either verdict, same money.
            same_money = (got.received, got.received_confirmed) == (
                want.received,
                want.received_confirmed,
            )
            if same_money and got.status in ("paid", "expired"):
                continue
        if got != want:
            found.append(
                f"seed {seed}: order {order_id} ({asset}, due {view['amount_base']}, "
                f"expires {view['expires_at']}): paywatch says {got}, the chain says {want}; "
                f"credits on chain: {credits}"
            )
    return found


def payment_differences(
    seed: int, views: dict[str, dict[str, Any]], truth: Truth, *, where: dict[str, str]
) -> list[str]:
    """Each counted payment paywatch shows must be on the chain (or in its mempool) with
    the confirmations its depth gives, up to what the order requires; and the amounts
    received and received confirmed must be the chain's."""
    found = []
    for order_id, view in sorted(views.items()):
        asset = view["asset"]
        credits = truth.of(where[order_id], asset)
        need = view["confirmations_required"]
        cap = int(need) if need != "finalized" else 10**9
        got = (int(view["received_base"]), int(view["received_confirmed_base"]))
        want = (
            truth.total(where[order_id], asset),
            truth.confirmed_by(where[order_id], asset, need),
        )
        if got != want:
            found.append(
                f"seed {seed}: order {order_id} ({asset}): paywatch says received/confirmed "
                f"{got}, the chain says {want}; credits on chain: {credits}"
            )
        for payment in view["payments"]:
            if payment["status"] == "removed" or not payment["counted"]:
                continue
            tx = str(payment["tx_hash"]).lower()
            mine = [c for c in credits if c.tx_hash.lower() == tx]
            if not mine:
                found.append(
                    f"seed {seed}: order {order_id} counts {asset} payment {tx} "
                    f"({payment['amount_base']}) that the chain does not have"
                )
                continue
            height = mine[0].height
            depth = 0 if height is None else truth.tip - height + 1
            counted = min(int(payment["confirmations"]), cap)
            if need != "finalized" and counted != min(depth, cap):
                found.append(
                    f"seed {seed}: order {order_id} payment {tx}: paywatch says "
                    f"{payment['confirmations']} confirmations, the chain {depth} "
                    f"(block {height}, tip {truth.tip}; {cap} required)"
                )
    return found
