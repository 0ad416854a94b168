"""What each order priced in fiat must say, from the nodes' truth alone, and the
differences.

Each credit to an option's address in the option's asset is worth ``amount /
amount_due * price`` (exact fractions); the order's value is their sum, and
``received_value`` is it rounded down to the minor unit. The order is paid in full when
that sum reaches the price (tolerance 0); in time when the credit that completed it is
in a block dated at or before ``expires_at`` (a mempool credit counts as now);
confirmed when the credits at their chain's depth reach it. Overpaid: with one option
any base unit over its amount due; with several, a minor unit or more over the price.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from tests.integration.fiat.shop import cents_down
from tests.torture.chain_truth import Credit
from tests.torture.verdict import parse_time

# (chain, asset, address as the order shows it) -> the credits the node has for it
Credits = Callable[[str, str, str], list[Credit]]
Depths = Callable[[str, Credit], int]  # (chain, credit) -> confirmations on its chain


@dataclass(frozen=True)
class Judged:
    status: str
    exception: str
    received_value: Decimal


@dataclass(frozen=True)
class Valued:
    time: int | None
    value: Fraction
    confirmed: bool


def valued(view: dict[str, Any], credits: Credits, depth: Depths, need: int) -> list[Valued]:
    price = Fraction(Decimal(view["price"]["amount"]))
    found = []
    for option in view["options"]:
        if not option["address"]:
            continue  # lazy, never picked: nothing can have been paid to it
        for credit in credits(option["chain"], option["asset"], option["address"]):
            share = Fraction(credit.amount, int(option["amount_base"])) * price
            confirmed = depth(option["chain"], credit) >= need
            found.append(Valued(credit.time, share, confirmed))
    return found


def expected(view: dict[str, Any], credits: list[Valued]) -> Judged:
    now = datetime.now(UTC)
    price = Fraction(Decimal(view["price"]["amount"]))
    expires_at = parse_time(view["expires_at"])
    value = sum((c.value for c in credits), Fraction(0))
    confirmed = sum((c.value for c in credits if c.confirmed), Fraction(0))
    full_at: datetime | None = None
    running = Fraction(0)
    for credit in sorted(credits, key=lambda c: (c.time is None, c.time or 0)):
        running += credit.value
        if running >= price:
            full_at = now if credit.time is None else datetime.fromtimestamp(credit.time, UTC)
            break
    in_time = full_at is not None and full_at <= expires_at
    if in_time:
        status = "paid" if confirmed >= price else "processing"
    else:
        status = "expired" if now > expires_at else "pending"
    several = len(view["options"]) > 1
    over = Fraction(cents_down(value)) > price if several else value > price
    if value == 0:
        exception = "none"
    elif status == "expired" and full_at is not None and confirmed >= price:
        exception = "paid_late"
    elif value < price:
        exception = "underpaid"
    elif over:
        exception = "overpaid"
    else:
        exception = "none"
    return Judged(status, exception, cents_down(value))


def differences(
    seed: int,
    views: dict[str, dict[str, Any]],
    credits: Credits,
    depth: Depths,
    *,
    need: int,
    fuzzy_time: Collection[str] = (),
    money_only: bool = False,
) -> list[str]:
    """One line per order whose status, exception or received_value disagrees with the
    nodes (``fuzzy_time``: orders a reorg moved across their expiry: either verdict,
    the same money; ``money_only``: mid-run, where a status may lag, received_value)."""
    found = []
    for order_id, view in sorted(views.items()):
        want = expected(view, valued(view, credits, depth, need))
        got = Judged(view["status"], view["exception"], Decimal(view["received_value"]["amount"]))
        if view["received_value"]["currency"] != view["price"]["currency"]:
            found.append(f"seed {seed}: order {order_id}: value in another currency: {view}")
        either = {got.status, want.status} <= {"paid", "expired"}
        if order_id in fuzzy_time and either and got.received_value == want.received_value:
            continue  # a reorg moved its payment across the expiry: either verdict
        if money_only:
            got, want = Judged("", "", got.received_value), Judged("", "", want.received_value)
        if got != want:
            seen = {
                f"{o['chain']}:{o['asset']}": credits(o["chain"], o["asset"], o["address"])
                for o in view["options"]
                if o["address"]
            }
            found.append(
                f"seed {seed}: order {order_id} (price {view['price']}, expires "
                f"{view['expires_at']}, options "
                f"{[(o['asset'], o['amount_base']) for o in view['options']]}): paywatch says "
                f"{got}, the nodes say {want}; credits on chain: {seen}"
            )
    return found


def payment_differences(
    seed: int, views: dict[str, dict[str, Any]], credits: Credits, depth: Depths, *, need: int
) -> list[str]:
    """The payments paywatch shows for each option add up to what the node says that
    option's address got in its asset; each counted payment is on its chain with the
    confirmations its depth gives (up to what is required); a single-option order's
    received amounts in base units are the node's."""
    found = []
    for order_id, view in sorted(views.items()):
        live = [p for p in view["payments"] if p["status"] != "removed"]
        for option in view["options"]:
            if not option["address"]:
                continue
            chain, asset = option["chain"], option["asset"]
            truth = credits(chain, asset, option["address"])
            mine = [p for p in live if (p["chain"], p["asset"]) == (chain, asset)]
            shown = sum(int(p["amount_base"]) for p in mine)
            if shown != sum(c.amount for c in truth) or not all(p["counted"] for p in mine):
                found.append(
                    f"seed {seed}: order {order_id} {chain}:{asset}: paywatch shows payments "
                    f"{[(p['tx_hash'], p['amount_base'], p['counted']) for p in mine]}, the "
                    f"node credits {truth}"
                )
            for payment in mine:
                tx = str(payment["tx_hash"]).lower()
                on_chain = [c for c in truth if c.tx_hash.lower() == tx]
                if not on_chain:
                    continue  # reported above: the sums differ
                got = min(int(payment["confirmations"]), need)
                want = min(depth(chain, on_chain[0]), need)
                if got != want:
                    found.append(
                        f"seed {seed}: order {order_id} payment {tx}: paywatch says "
                        f"{payment['confirmations']} confirmations, the node {want}"
                    )
            if view["chain"] is not None:
                confirmed = sum(c.amount for c in truth if depth(chain, c) >= need)
                got_base = (int(view["received_base"]), int(view["received_confirmed_base"]))
                if got_base != (sum(c.amount for c in truth), confirmed):
                    found.append(
                        f"seed {seed}: order {order_id}: received/confirmed {got_base}, the "
                        f"node says {(sum(c.amount for c in truth), confirmed)}"
                    )
    return found


def stray_differences(
    seed: int,
    views: dict[str, dict[str, Any]],
    strays: dict[str, tuple[str, str, str]],
    credits: Credits,
) -> list[str]:
    """A coin the order does not offer, sent to its address: shown, never counted."""
    found = []
    for order_id, (chain, asset, address) in sorted(strays.items()):
        view = views[order_id]
        shown = [
            p
            for p in view["payments"]
            if (p["chain"], p["asset"]) == (chain, asset) and p["status"] != "removed"
        ]
        truth = sum(c.amount for c in credits(chain, asset, address))
        if any(p["counted"] for p in shown) or sum(int(p["amount_base"]) for p in shown) != truth:
            found.append(
                f"seed {seed}: order {order_id}: {asset} it does not offer: paywatch shows "
                f"{[(p['tx_hash'], p['amount_base'], p['counted']) for p in shown]}, the node "
                f"credits {truth}"
            )
    return found
