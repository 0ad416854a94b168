"""The demo's script: create orders over the daemon's HTTP API, pay them on the dev chains
(one in two parts), and wait until each is ``paid`` and its ``order.paid`` webhook has
reached the store verified."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from daemon.demo.nodes import FUNDED_ACCOUNT, Anvil, Litecoind
from daemon.demo.store import Store
from daemon.demo.token import DECIMALS, pay_token, units
from daemon.demo.view import LiveView, Row

Order = dict[str, Any]  # an order as GET /v1/orders/{id} returns it
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Chains:
    anvil: Anvil
    token: str  # the USDC contract on anvil
    litecoind: Litecoind | None


class Board:
    """Every order of the daemon as its API shows it, polled a few times a second and
    shown in the live view."""

    def __init__(self, api: httpx.AsyncClient, view: LiveView) -> None:
        self.api = api
        self.view = view
        self.orders: dict[str, Order] = {}

    async def run(self) -> None:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                await self.refresh()
            await asyncio.sleep(POLL_SECONDS)

    async def refresh(self) -> None:
        answer = await self.api.get("/v1/orders", params={"limit": 100})
        answer.raise_for_status()
        for order in answer.json()["data"]:
            self.orders[order["id"]] = order
        ordered = sorted(self.orders.values(), key=lambda o: (o["created_at"], o["order_id"]))
        self.view.show([Row.of(order) for order in ordered])

    async def until(self, order: Order, check: Callable[[Order], bool]) -> Order:
        while True:
            seen = self.orders.get(order["id"])
            if seen is not None and check(seen):
                return seen
            await asyncio.sleep(POLL_SECONDS / 2)


def status_is(*statuses: str) -> Callable[[Order], bool]:
    return lambda order: order["status"] in statuses


def received_at_least(base_units: int) -> Callable[[Order], bool]:
    return lambda order: int(order["received_base"]) >= base_units


class Tour:
    def __init__(
        self, api: httpx.AsyncClient, chains: Chains, store: Store, board: Board, view: LiveView
    ) -> None:
        self.api = api
        self.chains = chains
        self.store = store
        self.board = board
        self.say = view.log
        self.orders: list[Order] = []

    async def run(self) -> None:
        eth = await self.create("demo-1001", "eth", "ETH", "0.25")
        usdc = await self.create("demo-1002", "eth", "USDC", "49.99")
        ltc = None
        if self.chains.litecoind is not None:
            ltc = await self.create("demo-1003", "ltc", "LTC", "0.5")
        options = [("eth", "ETH"), ("eth", "USDC")]
        if self.chains.litecoind is not None:
            options.append(("ltc", "LTC"))
        priced = await self.create_priced("demo-1004", "30.00", options)
        await self.forge()
        anvil = self.chains.anvil
        self.say(f"\ntour: paying {eth['order_id']} in full from anvil's {FUNDED_ACCOUNT}")
        tx = await anvil.transact(eth["address"], value=int(eth["amount_base"]))
        self.say(f"tour:   ETH transfer {tx} mined; confirmations needed: 1")
        await self.board.until(eth, status_is("paid"))
        part = 20 * 10**DECIMALS
        self.say(f"\ntour: paying {usdc['order_id']} in two parts: first {units(part)} USDC")
        await pay_token(anvil, self.chains.token, usdc["address"], part)
        await self.board.until(usdc, received_at_least(part))
        self.say("tour:   underpaid so far: the order waits for the rest")
        if ltc is not None and self.chains.litecoind is not None:
            node = self.chains.litecoind
            self.say(f"\ntour: paying {ltc['order_id']} from litecoind's wallet")
            txid = await node.send(ltc["address"], ltc["amount"])
            self.say(f"tour:   LTC transaction {txid} in the mempool (0 confirmations)")
            await self.board.until(ltc, status_is("processing", "paid"))
            self.say("tour:   seen in the mempool; mining a block")
            await node.mine(1)
        await self.pay_in_two_coins(priced)
        rest = int(usdc["amount_base"]) - part
        self.say(f"\ntour: paying the rest of {usdc['order_id']}: {units(rest)} USDC")
        await pay_token(anvil, self.chains.token, usdc["address"], rest)
        self.say("tour: waiting for every order to be paid and its webhook verified")
        while self.waiting_for():
            await asyncio.sleep(POLL_SECONDS)

    async def create(self, order_id: str, chain: str, asset: str, amount: str) -> Order:
        body = {"order_id": order_id, "chain": chain, "asset": asset, "amount": amount}
        answer = await self.api.post("/v1/orders", json=body, headers={"Idempotency-Key": order_id})
        answer.raise_for_status()
        order: Order = answer.json()
        self.orders.append(order)
        self.say(f"tour: POST /v1/orders {order_id}: {amount} {asset} to {order['address']}")
        self.say(f"tour:   pay with {order['payment_uri']}")
        self.say(f"tour:   checkout page {order['checkout_url']}")
        return order

    async def open_order(self) -> Order:
        """An order left open for a person to pay from its checkout page (--keep-running)."""
        body = {"order_id": "demo-open", "price": {"amount": "25.00", "currency": "EUR"}}
        answer = await self.api.post("/v1/orders", json=body)
        answer.raise_for_status()
        order: Order = answer.json()
        return order

    async def create_priced(
        self, order_id: str, euros: str, options: list[tuple[str, str]]
    ) -> Order:
        body = {
            "order_id": order_id,
            "price": {"amount": euros, "currency": "EUR"},
            "accept": [{"chain": c, "asset": a} for c, a in options],
        }
        answer = await self.api.post("/v1/orders", json=body, headers={"Idempotency-Key": order_id})
        answer.raise_for_status()
        order: Order = answer.json()
        self.orders.append(order)
        self.say(f"tour: POST /v1/orders {order_id}: {euros} EUR, the customer picks the coin:")
        for o in order["options"]:
            rate = o["rate"]["value"]
            self.say(f"tour:   {o['amount']} {o['asset']} at {rate} EUR to {o['address']}")
        self.say(f"tour:   checkout page {order['checkout_url']}")
        return order

    async def pay_in_two_coins(self, order: Order) -> None:
        """Half the ETH amount, then what is left of the price in USDC, each rounded up
        to its base unit (ETH and USDC share the order's address)."""
        eth, usdc = order["options"][0], order["options"][1]
        half = -(-int(eth["amount_base"]) // 2)
        due = int(usdc["amount_base"])
        rest = -(-(int(eth["amount_base"]) - half) * due // int(eth["amount_base"]))
        self.say(f"\ntour: paying {order['order_id']} half in ETH, the rest in USDC")
        await self.chains.anvil.transact(eth["address"], value=half)
        await pay_token(self.chains.anvil, self.chains.token, usdc["address"], rest)
        self.say(f"tour:   {half} wei and {units(rest)} USDC: together the price, 30.00 EUR")

    async def forge(self) -> None:
        """A webhook signed with another secret: the store must refuse it."""
        body = json.dumps({"type": "order.paid", "data": {**self.orders[0], "status": "paid"}})
        msg_id, sent = f"msg_forged{secrets.token_hex(4)}", str(int(time.time()))
        signed = f"{msg_id}.{sent}.{body}".encode()
        digest = hmac.new(secrets.token_bytes(32), signed, hashlib.sha256).digest()
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": sent,
            "webhook-signature": "v1," + base64.b64encode(digest).decode(),
            "content-type": "application/json",
        }
        self.say("tour: sending the store a forged order.paid (signed with another secret)")
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(self.store.url, content=body, headers=headers)
        self.say(f"tour:   the store answered {answer.status_code}")

    def waiting_for(self) -> list[str]:
        """What the tour still waits for (empty once done)."""
        missing = []
        verified = self.store.paid()
        for made in self.orders:
            order = self.board.orders.get(made["id"], made)
            if order["status"] != "paid":
                row = Row.of(order)
                missing.append(
                    f"{order['order_id']} is {row.state}: received {row.received}"
                    f" of {row.amount} {row.asset}"
                )
            elif order["id"] not in verified:
                missing.append(f"{order['order_id']}: no verified order.paid webhook yet")
        return missing

    def summary(self) -> list[str]:
        lines = ["", "Every order is paid, and the store verified each order's webhooks:"]
        for made in self.orders:
            order = self.board.orders[made["id"]]
            events = [e.type for e in self.store.events if e.order == order["id"]]
            row = Row.of(order)
            lines.append(
                f"  {order['order_id']}  {row.amount:>6} {row.asset:<5}"
                f" {order['status']}  {len(order['payments'])} payment(s)"
                f"  {len(events)} webhooks verified, order.paid among them"
            )
            lines.append(f"      checkout page {order['checkout_url']}")
        refused = self.store.refused
        lines.append(
            f"The store verified {len(self.store.events)} webhooks from paywatch and refused"
            f" {refused}" + (" (the forgery)." if refused == 1 else ".")
        )
        return lines
