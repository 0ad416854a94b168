"""Checks on what the store received: every request verified, each fact under one
webhook-id, and every move of an order's status a legal one.

A fact is (order, event type, payment): the payment named by what it is — the
transaction, the asset, and the output index on Bitcoin-family chains — never by the
log index an ERC-20 transfer happened to get in the block that carried it. A fact may
legitimately come again only when the scenario truly made a payment vanish (dropped
in a reorg, replaced by RBF, double-spent) and then, maybe, sent it again: then its
detection, confirmation and reversal, and the order's status events, may repeat.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.domain.states import EventType, OrderStatus, can_transition

PaymentId = tuple[str, str, int | None]  # (tx hash, asset, output index or None)
Fact = tuple[str, str, PaymentId | None]  # (order id, event type, payment)

PAYMENT_EVENTS = {
    EventType.PAYMENT_DETECTED,
    EventType.PAYMENT_CONFIRMED,
    EventType.PAYMENT_REVERSED,
}


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    verified: bool
    type: str
    order_id: str
    status: str
    payment: PaymentId | None

    @property
    def fact(self) -> Fact:
        return (self.order_id, self.type, self.payment)


def payment_id(payment: dict[str, Any], *, bitcoin: bool) -> PaymentId:
    index = int(payment["index"]) if bitcoin else None
    return (str(payment["tx_hash"]).lower(), str(payment["asset"]), index)


def read_log(path: Path, *, bitcoin: bool) -> list[Delivery]:
    """Every request the store got, in arrival order."""
    found = []
    lines = path.read_text().splitlines() if path.exists() else []
    for line in lines:
        entry = json.loads(line)
        payload = entry["payload"] or {}
        data = payload.get("data") or {}
        payment = data.get("payment")
        found.append(
            Delivery(
                webhook_id=entry["id"],
                verified=bool(entry["verified"]),
                type=str(payload.get("type")),
                order_id=str(data.get("id")),
                status=str(data.get("status")),
                payment=payment_id(payment, bitcoin=bitcoin) if payment else None,
            )
        )
    return found


def first_arrivals(log: Iterable[Delivery]) -> list[Delivery]:
    """One delivery per webhook-id (its first), in arrival order."""
    seen: dict[str, Delivery] = {}
    for delivery in log:
        seen.setdefault(delivery.webhook_id, delivery)
    return list(seen.values())


def problems(
    log: list[Delivery],
    *,
    orders: Collection[str],
    vanished: Collection[str],
    moved: Collection[str] = (),
) -> list[str]:
    """What is wrong with the store's log of the given orders (empty: nothing).

    ``vanished``: tx hashes the scenario made disappear at some point; ``moved``: tx
    hashes whose block a reorg replaced (their confirmation may be lost and reached
    again: a second ``order.payment_confirmed`` is then a new fact)."""
    found: list[str] = []
    mine = [d for d in log if d.order_id in orders]
    unverified = [d.webhook_id for d in mine if not d.verified]
    if unverified:
        found.append(f"{len(unverified)} requests failed signature checks: {unverified[:5]}")
    by_id: dict[str, set[Fact]] = {}
    for delivery in mine:
        by_id.setdefault(delivery.webhook_id, set()).add(delivery.fact)
    for webhook_id, facts in by_id.items():
        if len(facts) > 1:
            found.append(f"webhook-id {webhook_id} carried different facts: {sorted(facts)}")
    found += _repeated_facts(first_arrivals(mine), vanished, moved)
    for delivery in first_arrivals(mine):
        reversed_ = delivery.type == EventType.PAYMENT_REVERSED
        if reversed_ and delivery.payment is not None and delivery.payment[0] not in vanished:
            found.append(
                f"order {delivery.order_id}: payment {delivery.payment} reported reversed "
                f"(webhook-id {delivery.webhook_id}) though it never left the chain"
            )
    found += _illegal_moves(first_arrivals(mine))
    for order_id in sorted(orders):
        created = [d for d in first_arrivals(mine) if d.fact == (order_id, "order.created", None)]
        if len(created) != 1:
            found.append(f"order {order_id}: {len(created)} order.created webhooks, not 1")
    return found


def _repeated_facts(
    unique: list[Delivery], vanished: Collection[str], moved: Collection[str]
) -> list[str]:
    ids: dict[Fact, list[str]] = {}
    for delivery in unique:
        ids.setdefault(delivery.fact, []).append(delivery.webhook_id)
    touched = {d.order_id for d in unique if d.payment and d.payment[0] in vanished}
    found = []
    for (order_id, type_, payment), webhook_ids in sorted(ids.items(), key=str):
        if len(webhook_ids) == 1:
            continue
        if type_ in PAYMENT_EVENTS and payment is not None and payment[0] in vanished:
            continue  # the payment truly vanished: reversal and re-detection repeat
        confirmed = type_ == EventType.PAYMENT_CONFIRMED
        if confirmed and payment is not None and payment[0] in moved:
            continue  # reorged below its depth, then confirmed again
        if type_ not in PAYMENT_EVENTS and type_ != "order.created" and order_id in touched:
            continue  # the order moved back when a payment vanished, and on again
        found.append(
            f"order {order_id}: {type_} for payment {payment} under {len(webhook_ids)} "
            f"webhook-ids {webhook_ids}"
        )
    return found


def _illegal_moves(unique: list[Delivery]) -> list[str]:
    last: dict[str, OrderStatus] = {}
    found = []
    for delivery in unique:
        status = OrderStatus(delivery.status)
        before = last.get(delivery.order_id)
        if before is not None and not can_transition(before, status):
            found.append(
                f"order {delivery.order_id}: the store saw {before} -> {status} "
                f"({delivery.type}, webhook-id {delivery.webhook_id})"
            )
        last[delivery.order_id] = status
    return found


def last_status(log: list[Delivery], order_id: str) -> str | None:
    statuses = [d.status for d in first_arrivals(log) if d.order_id == order_id]
    return statuses[-1] if statuses else None
