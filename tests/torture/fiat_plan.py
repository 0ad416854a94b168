"""The seeded plan of the fiat torture: rounds of steps drawn from a seed, the same plan
for the same seed on every run (only where the SIGKILLs land varies).

Orders are priced in EUR or USD with one option or several (ETH, USDC on anvil; LTC on
litecoind); some expire soon. Orders are named by their ordinal among the long-lived
ones (taken modulo the number made so far), options by their position (modulo the
order's options). How a payment is made is its ``mode``:

- ``exact``, ``short`` (one base unit short), ``over`` (one base unit over),
  ``part`` (40 %), ``much`` (130 %): one option paid;
- ``split``, ``split_short``, ``split_over``: a share of the price in one option and
  the rest in another, computed with fractions and rounded up to base units (then one
  base unit less, or a tenth more, of the second).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

SINGLE_MODES = ("exact", "exact", "exact", "short", "over", "part", "much")
SPLIT_MODES = ("split", "split", "split_short", "split_over")
SPLIT_SHARES = (Fraction(1, 2), Fraction(1, 3), Fraction(2, 5), Fraction(3, 4))
OPTIONS = (("eth", "ETH"), ("eth", "USDC"), ("ltc", "LTC"))
CURRENCIES = ("EUR", "USD")


@dataclass(frozen=True)
class Offer:
    """An order to make: its price, its options (None: no ``accept``, every configured
    asset), whether it expires soon and, if so, how it is paid (in time, late, never)."""

    price: str
    currency: str
    options: tuple[tuple[str, str], ...] | None
    # "", or how a soon-expiring order is paid: "in_time", "late", "never", or
    # "rest_late" (a share of the price in one coin in time, the rest in another late)
    soon: str = ""
    mode: str = "exact"  # how a soon-expiring order is paid


@dataclass(frozen=True)
class Step:
    kind: str
    offer: Offer | None = None
    pick: int = 0  # order ordinal among the long-lived orders (negative: from the end)
    options: tuple[int, ...] = ()  # option positions (modulo the order's options)
    mode: str = ""
    share: Fraction = Fraction(1, 2)  # of the price, paid in the first option of a split
    count: int = 0  # blocks to mine, reorg depth, blocks to rescan
    chain: str = ""
    delay: float = 0.0  # seconds


def _offer(rng: random.Random, soon: bool, how: str = "") -> Offer:
    price = f"{rng.randint(100, 30_000) / 100:.2f}"
    currency = rng.choice(CURRENCIES)
    shape = rng.random()
    if shape < 0.35:
        options: tuple[tuple[str, str], ...] | None = (rng.choice(OPTIONS),)
    elif shape < 0.8:
        options = tuple(o for o in OPTIONS if rng.random() < 0.7) or OPTIONS[:1]
        if len(options) == 1:
            options = (*options, OPTIONS[2] if options[0] != OPTIONS[2] else OPTIONS[0])
    else:
        options = None
    if not soon:
        return Offer(price, currency, options)
    several = options is None or len(options) > 1
    if how:  # paid late in full: in one coin, or split across two
        return Offer(price, currency, options, how, "split" if several else "exact")
    modes = SINGLE_MODES + (SPLIT_MODES if several else ())
    how = rng.choice(("in_time", "late", "late", "never") + (("rest_late",) if several else ()))
    return Offer(price, currency, options, soon=how, mode=rng.choice(modes))


def _payment(rng: random.Random) -> Step:
    # Half the payments go to one of the newest orders, the others to any.
    pick = -rng.randint(1, 4) if rng.random() < 0.5 else rng.randrange(1_000_000)
    first, second = rng.randrange(3), rng.randrange(3)
    if rng.random() < 0.45:
        return Step(
            "pay",
            pick=pick,
            options=(first, second),
            mode=rng.choice(SPLIT_MODES),
            share=rng.choice(SPLIT_SHARES),
        )
    return Step("pay", pick=pick, options=(first,), mode=rng.choice(SINGLE_MODES))


def plan(seed: int, rounds: int) -> list[list[Step]]:
    """Round 0 starts with orders made (and one paid) before the daemon's first start;
    the last round pays the soon-expiring orders that are to be paid late."""
    rng = random.Random(seed)
    out: list[list[Step]] = []
    for number in range(rounds):
        steps: list[Step] = []
        if number == 0:
            steps += [Step("create_offline", offer=_offer(rng, soon=False)) for _ in range(2)]
            steps += [Step("pay", pick=0, options=(0,), mode="exact"), Step("mine", count=3)]
            steps += [Step("start"), Step("create", offer=_offer(rng, soon=True, how="late"))]
        if rng.random() < 0.6:
            steps.append(Step("kill_later", delay=rng.uniform(0.2, 3.0)))
        for _ in range(rng.randint(2, 4)):
            steps.append(Step("create", offer=_offer(rng, soon=rng.random() < 0.25)))
        steps += [_payment(rng) for _ in range(rng.randint(2, 5))]
        if rng.random() < 0.2:
            steps.append(Step("stray", pick=rng.randrange(1_000_000)))
        steps.append(Step("mine", count=rng.randint(1, 2)))
        if rng.random() < 0.5:
            steps.append(Step("reorg", chain=rng.choice(("eth", "ltc")), count=rng.randint(1, 2)))
        if rng.random() < 0.4:
            chain = rng.choice(("eth", "ltc"))
            steps.append(Step("drop_one_coin", pick=rng.randrange(1_000_000), chain=chain))
            if rng.random() < 0.5:
                steps.append(Step("checkpoint"))  # the dropped coin no longer counts
        if rng.random() < 0.25:
            steps += [Step("resend"), Step("mine", count=1)]
        if rng.random() < 0.2:
            steps.append(Step("rescan", chain=rng.choice(("eth", "ltc")), count=rng.randint(1, 6)))
        if rng.random() < 0.2:
            steps += [Step("kill"), Step("create_offline", offer=_offer(rng, soon=False))]
            steps += [Step("pay", pick=-1, options=(0,), mode=rng.choice(SINGLE_MODES))]
            steps += [Step("mine", count=1), Step("start")]
        if rng.random() < 0.35:
            steps.append(Step("reprice"))  # new fixed rates: the orders made keep theirs
        if number == rounds - 1:
            steps += [Step("late"), Step("mine", count=1)]
        steps.append(Step("restart", delay=rng.uniform(0, 1.0)))
        out.append(steps)
    return out


def describe(rounds: list[list[Step]]) -> str:
    def one(step: Step) -> str:
        extra = step.mode or step.chain or (str(step.count) if step.count else "")
        if step.offer is not None:
            shown = step.offer.options or "all"
            extra = f"{step.offer.price} {step.offer.currency} {shown}"
            extra += f" soon, {step.offer.soon} {step.offer.mode}" if step.offer.soon else ""
        return step.kind + (f"({extra})" if extra else "")

    return "\n".join(f"round {i}: " + ", ".join(one(s) for s in r) for i, r in enumerate(rounds))
