"""Plays the fiat plan (fiat_plan.py) against the daemon and both chains (fiat_chains.py):
orders, picks, payments, reorgs, SIGKILLs, new rates, late payments; at the end every
order against the nodes' truth (fiat_verdict.py), its quote and the store's log."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx

from tests.support.litecoind import Litecoind
from tests.torture.configs import CONFIRMATIONS
from tests.torture.daemon import Daemon
from tests.torture.evm_node import EvmNode
from tests.torture.fiat_chains import TwoChains
from tests.torture.fiat_customer import Customer
from tests.torture.fiat_plan import Offer, Step, describe
from tests.torture.fiat_quotes import Quotes
from tests.torture.fiat_verdict import differences, payment_differences, stray_differences
from tests.torture.fiat_webhooks import store_problems
from tests.torture.log_loops import error_loops
from tests.torture.verdict import parse_time

SOON = 40  # seconds: a soon-expiring order's window, beyond litecoind's clock lead


class FiatPlayer:
    def __init__(
        self, seed: int, daemon: Daemon, store_log: Path, evm: EvmNode, ltc: Litecoind
    ) -> None:
        self.seed, self.daemon, self.store_log = seed, daemon, store_log
        self.quotes = Quotes(daemon.inst.config, seed)
        self.chains = TwoChains(evm, ltc, self.options)
        self.customer = Customer(seed, daemon, self.chains, self.quotes)
        self.rng = random.Random(seed + 1)
        self.soon: list[tuple[str, Offer]] = []
        self.later: list[tuple[dict[str, Any], int]] = []  # sends due after the expiries
        self.strays: dict[str, tuple[str, str, str]] = {}
        self.drops = 0  # two-coin payments a reorg took one coin of
        self.log: list[str] = []

    def options(self) -> list[dict[str, Any]]:
        return self.customer.all_options()

    def create(self, offer: Offer) -> None:
        if not offer.soon:
            self.customer.add(self.daemon.create(self.customer.body(offer)))
            return
        order = self.daemon.create(self.customer.body(offer, SOON + self.chains.ltc_lead()))
        self.customer.add(order, long=False)
        self.soon.append((order["id"], offer))
        positions = (0, 1) if offer.mode.startswith("split") else (0,)
        if offer.soon == "in_time":
            self.customer.pay(order["id"], positions, offer.mode, Fraction(1, 2))
        elif offer.soon == "late":
            for position in positions:  # the customer picks now, pays after expiry
                self.customer.option(order["id"], position)
        elif offer.soon == "rest_late":
            sends = self.customer.plan(order["id"], (0, 1), "split", Fraction(1, 2))
            for option, base in sends[:1]:
                self.customer.send(option, base)
            self.later += sends[1:]

    def stray(self, pick: int) -> None:
        """The EVM coin an order does not offer, sent to its EVM address."""
        order_id = self.customer.long[pick % len(self.customer.long)]
        offered = {
            o["asset"] for o in self.customer.orders[order_id]["options"] if o["chain"] == "eth"
        }
        if len(offered) != 1:
            return
        option = self.customer.option(
            order_id, [o["chain"] for o in self.customer.orders[order_id]["options"]].index("eth")
        )
        if option is None:
            return
        other = "USDC" if offered == {"ETH"} else "ETH"
        self.customer.send({**option, "asset": other}, self.rng.randint(1_000, 1_000_000))
        self.strays[order_id] = ("eth", other, option["address"])

    def drop_one_coin(self, pick: int, chain: str) -> None:
        """Half the price in an EVM coin and the rest in LTC, mined (the ``chain`` part
        1 to 3 blocks deep; half the time once paywatch says paid or processing); then a
        reorg drops the ``chain`` part: the order is underpaid again."""
        both = [
            i
            for i in self.customer.long
            if {o["chain"] for o in self.customer.orders[i]["options"]} == {"eth", "ltc"}
        ]
        if not both:
            return
        order_id = both[pick % len(both)]
        chains = [o["chain"] for o in self.customer.orders[order_id]["options"]]
        evm_at, ltc_at = chains.index("eth"), chains.index("ltc")
        other = "ltc" if chain == "eth" else "eth"
        positions = (ltc_at, evm_at) if chain == "eth" else (evm_at, ltc_at)
        sent = self.customer.pay(order_id, positions, "split", Fraction(1, 2))  # ``chain``'s last
        depth = self.rng.choice((1, CONFIRMATIONS, CONFIRMATIONS + 1))
        self.chains.mine(CONFIRMATIONS, other)
        self.chains.mine(depth, chain)
        if self.rng.random() < 0.5:
            self.wait_for(order_id, {"paid", "processing"}, seconds=15)
        else:
            time.sleep(self.rng.uniform(0, 2.5))  # the daemon may or may not see it complete
        if len(sent) < 2:
            return  # a lazy order closed before its options were picked: nothing sent
        self.drops += 1
        if chain == "eth":
            self.chains.reorg("eth", depth, drop_chance=1.0)  # the top blocks: only that payment
        else:
            self.chains.drop_ltc(sent[-1], depth)

    def wait_for(self, order_id: str, statuses: set[str], seconds: float) -> None:
        """Until paywatch says one of ``statuses`` (or ``seconds`` passed, or the daemon
        is down): a moment for the adversary, not a check."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self.daemon.views([order_id])[order_id]["status"] in statuses:
                    return
            except httpx.HTTPError:
                return
            time.sleep(0.3)

    def late(self) -> None:
        """Wait until every soon-expiring order has expired, then pay those to be paid late."""
        if not self.soon:
            return
        last = max(parse_time(self.customer.orders[i]["expires_at"]) for i, _ in self.soon)
        time.sleep(max(0.0, (last - datetime.now(UTC)).total_seconds() + 3))
        for order_id, offer in self.soon:
            if offer.soon == "late":
                positions = (0, 1) if offer.mode.startswith("split") else (0,)
                self.customer.pay(order_id, positions, offer.mode, Fraction(1, 2))
        for option, base in self.later:
            self.customer.send(option, base)

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
            self.customer.down = False
            self.create(step.offer)
        elif step.kind == "create_offline":
            assert step.offer is not None
            self.customer.create_offline(step.offer)
        elif step.kind == "pay" and self.customer.long:
            order_id = self.customer.long[step.pick % len(self.customer.long)]
            self.customer.pay(order_id, step.options, step.mode, step.share)
        elif step.kind == "stray" and self.customer.long:
            self.stray(step.pick)
        elif step.kind == "mine":
            self.chains.mine(step.count)
        elif step.kind == "reorg":
            self.chains.reorg(step.chain, step.count)
        elif step.kind == "drop_one_coin" and self.customer.long:
            self.drop_one_coin(step.pick, step.chain)
        elif step.kind == "resend":
            self.chains.evm.resend_dropped()
        elif step.kind == "rescan":
            d.rescan(step.chain, step.count)
        elif step.kind == "kill":
            d.kill()
            self.customer.down = True
        elif step.kind == "kill_later":
            d.kill_later(random.Random(self.rng.random()), step.delay)
        elif step.kind in ("start", "restart"):
            time.sleep(step.delay)
            d.cancel_kill()
            d.start()
            self.customer.down = False
        elif step.kind == "checkpoint":
            self.checkpoint()
        elif step.kind == "reprice":
            d.kill()
            self.quotes.reprice()
            d.start()
            self.customer.down = False
        elif step.kind == "late":
            self.late()

    # -- the verdict --------------------------------------------------------------------
    def checkpoint(self) -> None:
        """Mid-run, nothing more mined: once quiet, each order's value and payments are
        the nodes' (a status may legitimately lag behind a reorg: judged at the end)."""
        tips = {"eth": self.chains.evm.tip, "ltc": self.chains.ltc.height}
        views = self.daemon.quiesce(list(self.customer.orders), tips)
        self.chains.read()
        args = (self.seed, views, self.chains.credits, self.chains.depth)
        found = differences(*args, need=CONFIRMATIONS, money_only=True)
        found += payment_differences(*args, need=CONFIRMATIONS)
        assert not found, "\n".join(found) + "\nsteps:\n" + "\n".join(self.log[-40:])

    def finish(self) -> None:
        """Confirm everything, wait for quiescence, then compare every order with the
        nodes and the store's log; fail naming the seed and every difference."""
        chains = self.chains
        chains.mine(CONFIRMATIONS + 1)
        tips = {"eth": chains.evm.tip, "ltc": chains.ltc.height}
        views = self.daemon.quiesce(list(self.customer.orders), tips)
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
            f"({self.drops} one coin of two), {len(self.strays)} orders sent a coin they do "
            f"not offer, fuzzy {sorted(fuzzy)}; {statuses}"
        )
        print(summary)
        assert not found, (
            summary + "\n" + "\n".join(found) + "\nsteps:\n" + "\n".join(self.log[-60:])
        )
