"""Where a new watcher starts: the binary search for the first block made since the
earliest open order, over an in-memory chain (tests/support/model_chain.py)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.watching.starting import first_block_at_or_after, start_point
from tests.support.model_chain import ModelChain


def chain_with_times(times: list[int]) -> ModelChain:
    model = ModelChain(with_mempool=False)
    for _ in times[1:]:
        model.mine()
    for block, stamp in zip(model.blocks, times, strict=True):
        block.header = replace(block.header, timestamp=stamp)
    return model


def search(model: ModelChain, timestamp: int) -> tuple[int, int]:
    """The height found and the node requests it took."""
    tip = model.blocks[-1].header
    model.calls = 0
    found = asyncio.run(first_block_at_or_after(model, timestamp, tip))
    return found, model.calls


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 900), min_size=0, max_size=300),
    target=st.integers(1_700_000_000 - 100, 1_700_000_000 + 300 * 900 + 100),
)
def test_rising_timestamps_give_the_first_block_at_or_after(gaps: list[int], target: int) -> None:
    times = [1_700_000_000]
    for gap in gaps:
        times.append(times[-1] + gap)
    model = chain_with_times(times)
    found, calls = search(model, target)
    expected = next((h for h, t in enumerate(times) if t >= target), len(times) - 1)
    assert found == expected
    assert calls <= math.ceil(math.log2(len(times))) if len(times) > 1 else calls == 0


@settings(max_examples=200, deadline=None)
@given(
    # Bitcoin-like: a block may be stamped up to an hour before the one below it.
    steps=st.lists(st.integers(-3600, 1200), min_size=1, max_size=200),
    target_at=st.integers(0, 200),
)
def test_unordered_timestamps_still_leave_every_earlier_block_before_the_moment(
    steps: list[int], target_at: int
) -> None:
    times = [1_700_000_000]
    for step in steps:
        times.append(times[-1] + step)
    target = times[min(target_at, len(times) - 1)]
    model = chain_with_times(times)
    found, _ = search(model, target)
    tip = len(times) - 1
    if times[tip] < target:
        # The tip is stamped before the moment: under the margin every block was made
        # before it, so starting at the tip (as with no open order) skips nothing.
        assert found == tip
    else:
        # The block found is stamped at or after the moment and the one below it
        # before: every block below was made before the order, so no payment to it
        # is skipped.
        assert times[found] >= target
        assert found == 0 or times[found - 1] < target


def test_start_point_tip_configured_and_margin() -> None:
    model = chain_with_times([1_700_000_000 + 600 * h for h in range(50)])
    tip = model.blocks[-1].header
    created = datetime.fromtimestamp(1_700_000_000 + 600 * 30, UTC)

    def start(earliest: datetime | None, configured: int | None = None) -> int:
        point = asyncio.run(
            start_point(model, tip, earliest, margin=timedelta(hours=2), configured=configured)
        )
        return point.height

    assert start(None) == 49  # no open order: the tip, as before
    assert start(created) == 18  # two hours (12 blocks of 10 min) before block 30
    assert start(created, configured=5) == 5  # start_height overrides
    assert start(created, configured=500) == 49
    assert start(datetime.fromtimestamp(1_600_000_000, UTC)) == 0
    assert start(datetime.fromtimestamp(1_800_000_000, UTC)) == 49
