"""Which seeds and how many rounds a torture run uses.

``./dev test`` (and CI) runs each torture test with the fixed seeds below and a short
round count; ``./dev torture --seed N --rounds N`` sets PAYWATCH_TORTURE_SEED and
PAYWATCH_TORTURE_ROUNDS for long or replayed runs.
"""

from __future__ import annotations

import os

FIXED_SEEDS = (11, 29)  # the seeds every CI run replays
CI_ROUNDS = 4


def seeds() -> list[int]:
    chosen = os.environ.get("PAYWATCH_TORTURE_SEED")
    return [int(chosen)] if chosen else list(FIXED_SEEDS)


def rounds() -> int:
    return int(os.environ.get("PAYWATCH_TORTURE_ROUNDS") or CI_ROUNDS)
