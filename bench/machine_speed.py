"""How fast this machine runs plain Python right now, printed beside a benchmark's figures.

The development VM's speed changes from one minute to the next (other tenants): the
same code has measured at less than half its best. A fixed pure-Python loop timed in
the same run tells a slow machine from a slow change.
"""

from __future__ import annotations

import time


def loop_seconds(n: int = 10_000_000) -> float:
    """Best of three runs of ``n`` integer additions."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(n):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


def report() -> str:
    return f"machine: a 10M-addition Python loop took {loop_seconds():.2f} s in this run"


if __name__ == "__main__":
    print(report())
