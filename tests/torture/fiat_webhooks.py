"""The store's log of a run over two chains: each payment named by its own chain's
terms (the output index on litecoind, the transaction alone on an EVM chain), then the
checks of store_log.py (signatures, each fact under one webhook-id, legal moves, one
``order.created`` each) and the store's last word on each order against its view.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from tests.torture.store_log import Delivery, first_arrivals, payment_id, problems


def read_log(path: Path, bitcoin_chains: Collection[str]) -> list[Delivery]:
    """Every request the store got, in arrival order."""
    found = []
    lines = path.read_text().splitlines() if path.exists() else []
    for line in lines:
        entry = json.loads(line)
        payload = entry["payload"] or {}
        data = payload.get("data") or {}
        payment = data.get("payment")
        named = None
        if payment:
            named = payment_id(payment, bitcoin=payment.get("chain") in bitcoin_chains)
        found.append(
            Delivery(
                webhook_id=entry["id"],
                verified=bool(entry["verified"]),
                type=str(payload.get("type")),
                order_id=str(data.get("id")),
                status=str(data.get("status")),
                payment=named,
            )
        )
    return found


def store_problems(
    path: Path,
    views: dict[str, dict[str, Any]],
    *,
    bitcoin_chains: Collection[str],
    vanished: Collection[str],
    moved: Collection[str],
) -> list[str]:
    log = read_log(path, bitcoin_chains)
    found = problems(log, orders=list(views), vanished=vanished, moved=moved)
    unique = first_arrivals(log)
    for order_id, view in sorted(views.items()):
        seen = [d for d in unique if d.order_id == order_id]
        if seen and seen[-1].status != view["status"]:
            found.append(
                f"order {order_id} is {view['status']} but the store's last word was "
                f"{seen[-1].status}"
            )
        if not seen:
            found.append(f"order {order_id}: the store heard nothing of it")
    return found
