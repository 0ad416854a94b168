"""The customer's side of the fiat torture: orders made over the API or with the CLI
while the daemon is down, options picked (``orders.addresses: lazy``) and paid as a
payment mode says (one option, or a share of the price in one and the rest in another,
computed with fractions and rounded up to base units).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import httpx

from tests.torture.daemon import Daemon
from tests.torture.fiat_chains import TwoChains
from tests.torture.fiat_plan import Offer
from tests.torture.fiat_quotes import Quotes


class Customer:
    def __init__(self, seed: int, daemon: Daemon, chains: TwoChains, quotes: Quotes) -> None:
        self.seed, self.daemon, self.chains, self.quotes = seed, daemon, chains, quotes
        self.orders: dict[str, dict[str, Any]] = {}  # id -> the latest view we were given
        self.long: list[str] = []  # the long-lived orders, in creation order
        self.down = True  # the plan keeps the daemon down (no pick possible)

    def all_options(self) -> list[dict[str, Any]]:
        return [o for view in self.orders.values() for o in view["options"]]

    def body(self, offer: Offer, expires_in: int = 0) -> dict[str, Any]:
        body: dict[str, Any] = {
            "order_id": f"fiat-{self.seed}-{len(self.orders)}",
            "price": {"amount": offer.price, "currency": offer.currency},
        }
        if offer.options is not None and len(offer.options) == 1:
            body["chain"], body["asset"] = offer.options[0]
        elif offer.options is not None:
            body["accept"] = [{"chain": c, "asset": a} for c, a in offer.options]
        if expires_in:
            body["expires_in"] = f"{expires_in}s"
        return body

    def add(self, order: dict[str, Any], *, long: bool = True) -> None:
        self.orders[order["id"]] = order
        self.quotes.made(order)
        if long:
            self.long.append(order["id"])

    def create_offline(self, offer: Offer) -> None:
        """`paywatch order create --price` while the daemon is down."""
        self.daemon.kill()
        self.down = True
        body = self.body(offer)
        args = ["order", "create", "--order-id", body["order_id"]]
        args += ["--price", f"{offer.price} {offer.currency}"]
        if "chain" in body:
            args += ["--chain", body["chain"], "--asset", body["asset"]]
        for option in body.get("accept", []):
            args += ["--accept", f"{option['chain']}:{option['asset']}"]
        self.add(self.daemon.inst.cli_json(*args))

    def pick(self, order_id: str, chain: str, asset: str) -> dict[str, Any] | None:
        """POST /v1/orders/{id}/pick, again after a scheduled kill (picking is idempotent)."""
        for _ in range(5):
            self.daemon.start()
            try:
                with self.daemon.client() as client:
                    answer = client.post(
                        f"/v1/orders/{order_id}/pick", json={"chain": chain, "asset": asset}
                    )
            except httpx.TransportError:
                continue
            if answer.status_code == 409:
                return None  # closed (paid, expired): a customer can no longer pick
            assert answer.status_code == 200, f"seed {self.seed}: pick {order_id}: {answer.text}"
            view: dict[str, Any] = answer.json()
            self.orders[order_id] = view
            return view
        raise AssertionError(f"seed {self.seed}: pick {order_id}: the daemon kept going away")

    def option(self, order_id: str, position: int) -> dict[str, Any] | None:
        """The order's option at ``position`` (modulo), with its address (picked now if
        it has none); None when it has none and the plan keeps the daemon down."""
        options = self.orders[order_id]["options"]
        chosen: dict[str, Any] = options[position % len(options)]
        if chosen["address"]:
            return chosen
        if self.down:
            return None
        view = self.pick(order_id, chosen["chain"], chosen["asset"])
        if view is None:
            return None
        found: dict[str, Any] = view["options"][position % len(options)]
        assert found["address"], f"seed {self.seed}: picked without an address: {view}"
        return found

    # -- payments -----------------------------------------------------------------------
    def send(self, option: dict[str, Any], base: int) -> list[str]:
        return [self.chains.send(option, base)] if base > 0 else []

    def pay(
        self, order_id: str, positions: tuple[int, ...], mode: str, share: Fraction
    ) -> list[str]:
        """Pay the order as ``mode`` says; the transactions sent."""
        return [
            tx
            for option, base in self.plan(order_id, positions, mode, share)
            for tx in self.send(option, base)
        ]

    def plan(
        self, order_id: str, positions: tuple[int, ...], mode: str, share: Fraction
    ) -> list[tuple[dict[str, Any], int]]:
        """What paying as ``mode`` sends: (option, base units) in order (the options
        picked now if need be; nothing if one cannot be)."""
        options = self.orders[order_id]["options"]
        split = len(positions) > 1 and positions[0] % len(options) != positions[1] % len(options)
        if not split:
            mode = {"split": "exact", "split_short": "short", "split_over": "much"}.get(mode, mode)
            first = self.option(order_id, positions[0])
            if first is None:
                return []
            due = int(first["amount_base"])
            amount = {"exact": due, "short": due - 1, "over": due + 1}.get(mode)
            if amount is None:
                amount = max(1, due * (40 if mode == "part" else 130) // 100)
            return [(first, amount)]
        first, second = self.option(order_id, positions[0]), self.option(order_id, positions[1])
        if first is None or second is None:
            return []
        due_a, due_b = int(first["amount_base"]), int(second["amount_base"])
        part = math.ceil(share * due_a)
        rest = math.ceil((1 - Fraction(part, due_a)) * due_b)
        rest += {"split_short": -1, "split_over": max(1, due_b // 10)}.get(mode, 0)
        return [(first, part), (second, rest)]
