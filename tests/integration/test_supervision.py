"""Watchers are supervised: one that crashes (a bug, not a node outage) is restarted
with backoff and reported in its status (and so in /readyz and the metrics), while the
other chains' watchers go on undisturbed; once it stops crashing it catches up with
nothing lost."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from daemon.watching.effects import Effects
from daemon.watching.engine import ChainWatcher, WatcherSettings
from daemon.watching.runner import start_watchers
from daemon.watching.status import WatcherStatus
from tests.support.configs import config_yaml
from tests.support.model_chain import ModelChain
from tests.support.watching import temp_container


class Bug(Exception):
    pass


class CrashingEffects(Effects):
    """Effects whose batches fail after doing their work (rolled back) until the
    supervisor has restarted the watcher ``crashes`` times. (Counted by restarts, not
    by calls: the group commit may run a failed unit of work again on its own.)"""

    crashes = 2
    status: WatcherStatus

    def apply_batch(self, conn: Any, batch: Any, now: Any) -> int:
        done = super().apply_batch(conn, batch, now)
        if self.status.restarts < self.crashes:
            raise Bug("a bug in the batch")
        return done


def test_a_crashing_watcher_is_restarted_and_never_stops_another() -> None:
    with temp_container(config_yaml) as container:
        models = {"btc": ModelChain(), "ltc": ModelChain()}
        for model in models.values():
            for _ in range(5):
                model.mine()
        watchers = {
            name: ChainWatcher(
                chain=name,
                source=model,
                db=container.db,
                changes=container.orders.changes,
                clock=container.clock,
                settings=WatcherSettings(start_height=0, poll_interval=0.05),
            )
            for name, model in models.items()
        }
        real = watchers["btc"].effects
        crashing = CrashingEffects(real.chain, real.changes, keep_blocks=real.keep_blocks)
        crashing.status = watchers["btc"].status
        watchers["btc"].effects = crashing

        async def scenario() -> dict[str, Any]:
            stop = asyncio.Event()
            tasks = start_watchers(watchers, stop)
            seen: dict[str, Any] = {}
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                btc, ltc = watchers["btc"].status, watchers["ltc"].status
                if btc.restarts and "btc_crashed" not in seen:
                    seen["btc_crashed"] = btc.report(container.clock())
                    seen["ltc_meanwhile"] = ltc.processed_height
                if btc.restarts == 2 and btc.processed_height == 5:
                    break
            seen["btc"] = watchers["btc"].status
            stop.set()
            await asyncio.gather(*tasks)
            return seen

        seen = asyncio.run(scenario())
    crashed = seen["btc_crashed"]
    assert crashed["error"] == "watcher crashed: Bug('a bug in the batch')"
    assert crashed["in_sync"] is False
    assert seen["ltc_meanwhile"] == 5  # the other chain synced while btc was crashing
    assert seen["btc"].restarts == 2  # restarted after each crash, with backoff
    assert seen["btc"].processed_height == 5  # and then caught up
    assert seen["btc"].last_error is None
