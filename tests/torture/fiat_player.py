"""Plays the fiat plan (fiat_plan.py) against the daemon and both chains (fiat_chains.py):
orders, picks, payments, reorgs, SIGKILLs, new rates, late payments; at the end every
order against the nodes' truth (fiat_verdict.py), its quote and the store's log."""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx

from tests.support.litecoind import Litecoind
from tests.torture.daemon import Daemon
from tests.torture.evm_node import EvmNode
from tests.torture.fiat_chains import TwoChains
from tests.torture.fiat_plan import Offer, Step, describe
from tests.torture.fiat_quotes import Quotes
from tests.torture.fiat_verdict import differences, payment_differences, stray_differences
from tests.torture.fiat_webhooks import store_problems
from tests.torture.log_loops import error_loops
from tests.torture.verdict import parse_time

CONFIRMATIONS = 2  # on both chains
SOON = 40  # seconds: a soon-expiring order's window, beyond litecoind's clock lead


class FiatPlayer:
    def __init__(
        self, seed: int, daemon: Daemon, store_log: Path, evm: EvmNode, ltc: Litecoind
    ) -> None:
        self.seed, self.daemon, self.store_log = seed, daemon, store_log
        self.chains = TwoChains(evm, ltc, self.all_options)
        self.quotes = Quotes(daemon.inst.config, seed)
        self.rng = random.Random(seed + 1)
        self.orders: dict[str, dict[str, Any]] = {}  # id -> the latest view we were given
        self.long: list[str] = []  # the long-lived orders, in creation order
        self.soon: list[tuple[str, Offer]] = []
        self.strays: dict[str, tuple[str, str, str]] = {}
        self.down = True  # the plan keeps the daemon down (no pick possible)
        self.drops = 0  # two-coin payments a reorg took one coin of
        self.log: list[str] = []

    def all_options(self) -> list[dict[str, Any]]:
        return [o for view in self.orders.values() for o in view["options"]]

    # -- orders -------------------------------------------------------------------------
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

    def create(self, offer: Offer) -> None:
        if not offer.soon:
            self.add(self.daemon.create(self.body(offer)))
            return
        order = self.daemon.create(self.body(offer, SOON + self.chains.ltc_lead()))
        self.add(order, long=False)
        self.soon.append((order["id"], offer))
        positions = (0, 1) if offer.mode.startswith("split") else (0,)
        if offer.soon == "in_time":
            self.pay(order["id"], positions, offer.mode, Fraction(1, 2))
        elif offer.soon == "late":
            for position in positions:  # the customer picks now, pays after expiry
                self.option(order["id"], position)

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
        options = self.orders[order_id]["options"]
        split = len(positions) > 1 and positions[0] % len(options) != positions[1] % len(options)
        if not split:
            mode = {"split": "exact", "split_short": "short", "split_over": "much"}.get(mode, mode)
            first = self.option(order_id, positions[0])
            if first is not None:
                due = int(first["amount_base"])
                amount = {"exact": due, "short": due - 1, "over": due + 1}.get(mode)
                if amount is None:
                    amount = max(1, due * (40 if mode == "part" else 130) // 100)
                return self.send(first, amount)
            return []
        first, second = self.option(order_id, positions[0]), self.option(order_id, positions[1])
        if first is None or second is None:
            return []
        due_a, due_b = int(first["amount_base"]), int(second["amount_base"])
        part = math.ceil(share * due_a)
        rest = math.ceil((1 - Fraction(part, due_a)) * due_b)
        rest += {"split_short": -1, "split_over": max(1, due_b // 10)}.get(mode, 0)
        return self.send(first, part) + self.send(second, rest)

    def stray(self, pick: int) -> None:
        """The EVM coin an order does not offer, sent to its EVM address."""
        order_id = self.long[pick % len(self.long)]
        offered = {o["asset"] for o in self.orders[order_id]["options"] if o["chain"] == "eth"}
        if len(offered) != 1:
            return
        option = self.option(
            order_id, [o["chain"] for o in self.orders[order_id]["options"]].index("eth")
        )
        if option is None:
            return
        other = "USDC" if offered == {"ETH"} else "ETH"
        self.send({**option, "asset": other}, self.rng.randint(1_000, 1_000_000))
        self.strays[order_id] = ("eth", other, option["address"])

    def drop_one_coin(self, pick: int, chain: str) -> None:
        """Half the price in an EVM coin and the rest in LTC, both mined; then a reorg
        drops the ``chain`` part: the order is underpaid again."""
        both = [
            i
            for i in self.long
            if {o["chain"] for o in self.orders[i]["options"]} == {"eth", "ltc"}
        ]
        if not both:
            return
        order_id = both[pick % len(both)]
        chains = [o["chain"] for o in self.orders[order_id]["options"]]
        evm_at, ltc_at = chains.index("eth"), chains.index("ltc")
        other = "ltc" if chain == "eth" else "eth"
        positions = (ltc_at, evm_at) if chain == "eth" else (evm_at, ltc_at)
        sent = self.pay(order_id, positions, "split", Fraction(1, 2))  # ``chain``'s last
        self.chains.mine(CONFIRMATIONS, other)
        self.chains.mine(1, chain)
        time.sleep(self.rng.uniform(0, 2.5))  # the daemon may or may not see it complete
        if len(sent) < 2:
            return  # a lazy order closed before its options were picked: nothing sent
        self.drops += 1
        if chain == "eth":
            self.chains.reorg("eth", 1, drop_chance=1.0)  # the top block: only that payment
        else:
            self.chains.drop_ltc(sent[-1])

    def late(self) -> None:
        """Wait until every soon-expiring order has expired, then pay those to be paid late."""
        if not self.soon:
            return
        last = max(parse_time(self.orders[i]["expires_at"]) for i, _ in self.soon)
        time.sleep(max(0.0, (last - datetime.now(UTC)).total_seconds() + 3))
        for order_id, offer in self.soon:
            if offer.soon == "late":
                positions = (0, 1) if offer.mode.startswith("split") else (0,)
                self.pay(order_id, positions, offer.mode, Fraction(1, 2))

    # -- the plan -----------------------------------------------------------------------
    def play(self, rounds: list[list[Step]]) -> None:
        print(f"fiat torture seed {self.seed}:\n{describe(rounds)}")
        for number, steps in enumerate(rounds):
            for step in steps:
                self.log.append(f"round {number}: {step}")
                self.step(step)

    def step(self, step: Step) -> None:
        d = self.daemon
        if step.kind == "create":
            assert step.offer is not None
            self.down = False
            self.create(step.offer)
        elif step.kind == "create_offline":
            assert step.offer is not None
            self.create_offline(step.offer)
        elif step.kind == "pay" and self.long:
            order_id = self.long[step.pick % len(self.long)]
            self.pay(order_id, step.options, step.mode, step.share)
        elif step.kind == "stray" and self.long:
            self.stray(step.pick)
        elif step.kind == "mine":
            self.chains.mine(step.count)
        elif step.kind == "reorg":
            self.chains.reorg(step.chain, step.count)
        elif step.kind == "drop_one_coin" and self.long:
            self.drop_one_coin(step.pick, step.chain)
        elif step.kind == "resend":
            self.chains.evm.resend_dropped()
        elif step.kind == "rescan":
            d.rescan(step.chain, step.count)
        elif step.kind == "kill":
            d.kill()
            self.down = True
        elif step.kind == "kill_later":
            d.kill_later(random.Random(self.rng.random()), step.delay)
        elif step.kind in ("start", "restart"):
            time.sleep(step.delay)
            d.cancel_kill()
            d.start()
            self.down = False
        elif step.kind == "reprice":
            d.kill()
            self.quotes.reprice()
            d.start()
            self.down = False
        elif step.kind == "late":
            self.late()

    # -- the verdict --------------------------------------------------------------------
    def finish(self) -> None:
        """Confirm everything, wait for quiescence, then compare every order with the
        nodes and the store's log; fail naming the seed and every difference."""
        chains = self.chains
        chains.mine(CONFIRMATIONS + 1)
        tips = {"eth": chains.evm.tip, "ltc": chains.ltc.height}
        views = self.daemon.quiesce(list(self.orders), tips)
        chains.read()
        fuzzy = chains.moved_across_expiry(views)
        args = (self.seed, views, chains.credits, chains.depth)
        found = differences(*args, need=CONFIRMATIONS, fuzzy_time=fuzzy)
        found += payment_differences(*args, need=CONFIRMATIONS)
        found += self.quotes.changed(views)
        found += stray_differences(self.seed, views, self.strays, chains.credits)
        store = store_problems(
            self.store_log,
            views,
            bitcoin_chains={"ltc"},
            vanished=chains.vanished,
            moved=chains.moved,
        )
        found += [f"seed {self.seed}: store: {p}" for p in store]
        found += [f"seed {self.seed}: log: {loop}" for loop in error_loops(self.daemon.inst.log())]
        several = sum(len(v["options"]) > 1 for v in views.values())
        statuses = sorted(f"{v['status']}/{v['exception']}" for v in views.values())
        summary = (
            f"fiat torture seed {self.seed}: {len(views)} orders ({several} with several "
            f"options, {len(self.soon)} soon to expire), {self.daemon.kills} SIGKILLs, "
            f"{self.quotes.repriced} new rates, {len(chains.vanished)} payments vanished "
            f"({self.drops} one coin of two), fuzzy {sorted(fuzzy)}; {statuses}"
        )
        print(summary)
        assert not found, (
            summary + "\n" + "\n".join(found) + "\nsteps:\n" + "\n".join(self.log[-60:])
        )
