"""Plays a seeded plan against a chain and the daemon: the steps every chain shares
(orders over the API and the CLI, SIGKILLs and restarts, rescans, the lateness
probe), with the chain's own steps (paying, mining, reorgs, RBF) left to a subclass.
At the end: quiescence, then the checks against the node's truth and the store's log.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.torture.chain_truth import Truth
from tests.torture.daemon import Daemon
from tests.torture.scenario import Step, describe
from tests.torture.store_log import problems, read_log
from tests.torture.verdict import differences, parse_time, payment_differences

PROBE_EXPIRY = 15  # seconds: the lateness probe's order expires this soon


class Player:
    chain = ""
    bitcoin = False
    confirmations = 1
    finalized_share = 0.0  # orders that ask for the finalized tag instead of a depth

    def __init__(self, seed: int, daemon: Daemon, store_log: Path) -> None:
        self.seed = seed
        self.daemon = daemon
        self.store_log = store_log
        self.rng = random.Random(seed + 1)
        self.orders: list[dict[str, Any]] = []
        self.cancelled: set[str] = set()
        self.probes: list[str] = []
        self.fuzzy: set[str] = set()
        # The earliest block time each payment's transaction was seen mined at, before a
        # reorg moved it (paywatch keeps a payment's first sighting).
        self.first_mined: dict[str, int] = {}
        self.log: list[str] = []

    # -- chain hooks --------------------------------------------------------------------
    def pay(self, order: dict[str, Any], base: int) -> None:
        raise NotImplementedError

    def batch(self, orders: list[dict[str, Any]], bases: list[int]) -> None:
        raise NotImplementedError

    def mine(self, blocks: int) -> None:
        raise NotImplementedError

    def tip(self) -> int:
        raise NotImplementedError

    def chain_step(self, step: Step) -> None:
        raise NotImplementedError(step.kind)

    def truth(self) -> Truth:
        raise NotImplementedError

    def where(self, order: dict[str, Any]) -> str:
        return str(order["address"]).lower()

    def vanished(self) -> set[str]:
        return set()

    def moved(self) -> set[str]:
        return set()

    def amount(self, asset: str) -> str:
        raise NotImplementedError

    def settle_blocks(self) -> int:
        """Blocks mined at the end so that every payment is confirmed."""
        return self.confirmations + 1

    def probe_expiry(self) -> int:
        return PROBE_EXPIRY

    # -- the plan -----------------------------------------------------------------------
    def body(self, asset: str, **extra: Any) -> dict[str, Any]:
        number = len(self.orders)
        ref = f"torture-{self.seed}-{number}"
        if self.rng.random() < self.finalized_share and "confirmations" not in extra:
            extra["confirmations"] = "finalized"
        return {
            "order_id": ref,
            "chain": self.chain,
            "asset": asset,
            "amount": self.amount(asset),
            **extra,
        }

    def order(self, pick: int) -> dict[str, Any]:
        return self.orders[pick % len(self.orders)] if pick >= 0 else self.orders[pick]

    def share(self, order: dict[str, Any], percent: int) -> int:
        return max(1, int(order["amount_base"]) * percent // 100)

    def play(self, rounds: list[list[Step]]) -> None:
        print(f"torture seed {self.seed} ({self.chain}):\n{describe(rounds)}")
        for number, steps in enumerate(rounds):
            for step in steps:
                self.log.append(f"round {number}: {step}")
                self.step(step)

    def step(self, step: Step) -> None:
        d = self.daemon
        if step.kind == "create":
            self.orders.append(d.create(self.body(step.asset)))
        elif step.kind == "create_offline":
            d.kill()
            for _ in range(step.count):
                self.orders.append(d.create_offline(self.body(step.asset)))
        elif step.kind == "pay":
            order = self.order(step.picks[0])
            self.pay(order, self.share(order, step.shares[0]))
        elif step.kind == "batch":
            chosen = [o for o in self.orders if o["asset"] == step.asset]
            if not chosen:
                return  # no order of that asset yet: nothing to batch
            picked = {chosen[p % len(chosen)]["id"]: chosen[p % len(chosen)] for p in step.picks}
            orders = list(picked.values())
            if len(orders) >= 2:
                self.batch(
                    orders, [self.share(o, s) for o, s in zip(orders, step.shares, strict=False)]
                )
        elif step.kind == "mine":
            self.mine(step.count)
        elif step.kind == "kill":
            d.kill()
        elif step.kind == "kill_later":
            d.kill_later(random.Random(self.rng.random()), step.delay)
        elif step.kind == "start":
            d.start()
        elif step.kind == "restart":
            time.sleep(step.delay)
            d.cancel_kill()
            d.start()
        elif step.kind == "rescan":
            d.rescan(self.chain, step.count)
        elif step.kind == "checkpoint":
            self.checkpoint()
        elif step.kind == "late_probe":
            self.late_probe(step.asset)
        else:
            self.remember_block_times()
            self.chain_step(step)

    def late_probe(self, asset: str) -> None:
        """An order made and fully paid while the daemon is down, the daemon started
        again only after the order's expiry: the payment's block predates it."""
        d = self.daemon
        d.kill()
        order = d.create_offline(self.body(asset, expires_in=self.probe_expiry()))
        self.orders.append(order)
        self.probes.append(order["id"])
        self.pay(order, int(order["amount_base"]))
        self.mine(self.confirmations)
        wait = (parse_time(order["expires_at"]) - datetime.now(UTC)).total_seconds() + 3
        time.sleep(max(0.0, wait))
        d.start()

    def remember_block_times(self) -> None:
        for credits in self.truth().credits.values():
            for credit in credits:
                if credit.time is not None:
                    known = self.first_mined.get(credit.tx_hash, credit.time)
                    self.first_mined[credit.tx_hash] = min(known, credit.time)

    def moved_across_expiry(self, views: dict[str, dict[str, Any]], truth: Truth) -> set[str]:
        """Orders paid by a transaction that a reorg moved from a block stamped before
        their expiry to one stamped after (or back): paywatch dates a payment by the block
        it saw first, which depends on when it looked, so either verdict is right."""
        found = set()
        for order in self.orders:
            view = views.get(order["id"])
            if view is None:
                continue
            expiry = parse_time(view["expires_at"]).timestamp()
            for credit in truth.of(self.where(order), view["asset"]):
                first = self.first_mined.get(credit.tx_hash)
                if first is None or credit.time is None:
                    continue
                if min(first, credit.time) <= expiry < max(first, credit.time):
                    found.add(order["id"])
        return found

    def checkpoint(self) -> None:
        """Mid-run, without mining anything more: once quiet, the money and each
        payment's confirmations must be the chain's (the status may legitimately stay
        paid after a reorg took confirmations away, so it is judged only at the end)."""
        ids = [o["id"] for o in self.orders]
        views = self.daemon.quiesce(ids, {self.chain: self.tip})
        where = {o["id"]: self.where(o) for o in self.orders}
        found = payment_differences(self.seed, views, self.truth(), where=where)
        assert not found, "\n".join(found) + "\nsteps:\n" + "\n".join(self.log[-40:])

    # -- the verdict --------------------------------------------------------------------
    def finish(self) -> None:
        """Confirm everything, wait for quiescence, then compare with the chain and the
        store; fail naming the seed and every difference."""
        self.mine(self.settle_blocks())
        ids = [o["id"] for o in self.orders]
        views = self.daemon.quiesce(ids, {self.chain: self.tip})
        truth = self.truth()
        self.fuzzy |= self.moved_across_expiry(views, truth)
        where = {o["id"]: self.where(o) for o in self.orders}
        found = differences(
            self.seed,
            views,
            truth,
            where=where,
            cancelled=self.cancelled,
            fuzzy_time=self.fuzzy,
        )
        found += payment_differences(self.seed, views, truth, where=where)
        log = read_log(self.store_log, bitcoin=self.bitcoin)
        found += [
            f"seed {self.seed}: store: {p}"
            for p in problems(log, orders=ids, vanished=self.vanished(), moved=self.moved())
        ]
        for order_id, view in views.items():
            seen = [e for e in log if e.order_id == order_id]
            if seen and seen[-1].status != view["status"]:
                found.append(
                    f"seed {self.seed}: order {order_id} is {view['status']} but the store's "
                    f"last word was {seen[-1].status}"
                )
        probes = [f for f in found if any(p in f for p in self.probes)]
        summary = (
            f"torture seed {self.seed} ({self.chain}): {len(self.orders)} orders, "
            f"{self.daemon.kills} SIGKILLs, lateness probes {self.probes}"
        )
        print(summary)
        assert not found, (
            summary
            + "\n"
            + "\n".join(found)
            + "\nsteps:\n"
            + "\n".join(self.log[-60:])
            + (f"\n({len(probes)} of these are lateness probes)" if probes else "")
        )


def decimal_amount(rng: random.Random, low: int, high: int, places: int) -> str:
    return str(Decimal(rng.randint(low, high)) / Decimal(10) ** places)
