"""The seeded action plan: rounds of steps drawn from a seed, the same plan for the
same seed on every run. Only the moments of the SIGKILLs vary (they are scheduled with
seeded delays but land wherever the daemon happens to be).

Orders are named by their ordinal (taken modulo the number made so far) and payments
by a share of the amount due in percent (100 full, below part, above over).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SHARES = (100, 100, 100, 100, 40, 60, 130)


@dataclass(frozen=True)
class Step:
    kind: str
    picks: tuple[int, ...] = ()  # order ordinals
    shares: tuple[int, ...] = ()  # percent of each pick's amount due
    count: int = 0  # orders to create, blocks to mine, reorg depth, blocks back
    asset: str = ""
    delay: float = 0.0  # seconds (kill_later: at most this long from now)


def _pick(rng: random.Random) -> int:
    return rng.randrange(1_000_000)


def _payments(rng: random.Random, assets: tuple[str, ...], batch_asset: str) -> list[Step]:
    steps = []
    for _ in range(rng.randint(1, 3)):
        steps.append(Step("pay", picks=(_pick(rng),), shares=(rng.choice(SHARES),)))
    if batch_asset and rng.random() < 0.4:
        n = rng.randint(2, 3)
        picks = tuple(_pick(rng) for _ in range(n))
        shares = tuple(rng.choice(SHARES) for _ in range(n))
        steps.append(Step("batch", picks=picks, shares=shares, asset=batch_asset))
    return steps


def plan(seed: int, rounds: int, *, assets: tuple[str, ...], bitcoin: bool) -> list[list[Step]]:
    """Round 0 starts with orders made and paid before the daemon's first start; one
    round holds the lateness probe (an order made and paid while the daemon is down,
    the daemon back after its expiry), one (EVM) a reorg deeper than the daemon keeps."""
    rng = random.Random(seed)
    probe_round = rng.randrange(rounds)
    deep_round = rng.randrange(rounds)
    out: list[list[Step]] = []
    for number in range(rounds):
        steps: list[Step] = []
        if number == 0:
            steps += [Step("create_offline", count=2, asset=rng.choice(assets))]
            steps += [Step("pay", picks=(0,), shares=(100,)), Step("pay", picks=(1,), shares=(60,))]
            steps += [Step("mine", count=3), Step("start")]  # paid below the tip
        if rng.random() < 0.35:
            steps.append(Step("kill_later", delay=rng.uniform(0.2, 3.0)))
        for _ in range(rng.randint(1, 3)):
            steps.append(Step("create", count=1, asset=rng.choice(assets)))
        steps += _payments(rng, assets, "LTC" if bitcoin else "USDC")
        if bitcoin:
            if rng.random() < 0.3:
                steps.append(Step("bump"))
            if rng.random() < 0.25:
                steps.append(Step("double_spend"))
        steps.append(Step("mine", count=rng.randint(1, 2)))
        if rng.random() < 0.4:
            steps.append(Step("reorg", count=rng.randint(1, 2)))
            if bitcoin and rng.random() < 0.5:
                steps.append(Step("double_spend"))
                steps.append(Step("mine", count=1))
        if rng.random() < 0.25:
            steps += [Step("shorten", count=3), Step("checkpoint")]
        if not bitcoin and rng.random() < 0.3:
            steps += [Step("resend"), Step("mine", count=1)]
        if rng.random() < 0.25:
            steps.append(Step("rescan", count=rng.randint(1, 6)))
        if rng.random() < 0.2:
            steps += [Step("kill"), Step("create_offline", count=1, asset=rng.choice(assets))]
            steps += [Step("pay", picks=(-1,), shares=(rng.choice(SHARES),))]
            steps += [Step("mine", count=1), Step("start")]
        if number == probe_round:
            steps.append(Step("late_probe", asset=assets[0]))
        if number == deep_round and not bitcoin:
            steps.append(Step("deep_reorg", count=502))
        steps.append(Step("restart", delay=rng.uniform(0, 1.0)))
        out.append(steps)
    return out


def describe(steps: list[list[Step]]) -> str:
    return "\n".join(
        f"round {i}: " + ", ".join(s.kind + (f"x{s.count}" if s.count else "") for s in r)
        for i, r in enumerate(steps)
    )
