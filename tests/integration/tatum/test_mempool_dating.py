"""Through Tatum's gateway without notifications, a Bitcoin-family payment is dated by its
first sighting in the mempool, not by its block: sent in time and mined after expiry, the
order is paid, not paid late."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import pytest

from chains.bitcoin.source import BitcoinSource
from tests.integration.evm.watching import events_of, order, state
from tests.integration.tatum.conftest import ltc_gateway
from tests.integration.tatum.daemon import tatum_yaml
from tests.support.clock import ManualClock
from tests.support.litecoind import Litecoind, free_port
from tests.support.single import address_of
from tests.support.tatum_standin import TatumStandin
from tests.support.watching import chain_watcher, temp_container


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


def test_without_notifications_a_payment_is_dated_by_its_mempool_sighting(
    standin: TatumStandin, litecoind: Litecoind, loop: asyncio.AbstractEventLoop
) -> None:
    gateway = ltc_gateway(standin, litecoind)
    port = free_port()

    def config(url: str) -> str:
        text = tatum_yaml(url, standin, port=port, ltc=gateway)
        lines = [line for line in text.splitlines() if "notify_url" not in line]
        return "\n".join(lines) + "\n"

    with temp_container(config) as c:
        assert c.config.tatum is not None
        assert not c.config.tatum.notifications
        clock = c.clock
        assert isinstance(clock, ManualClock)
        watcher = chain_watcher(c, "ltc", start_height=litecoind.height())
        assert isinstance(watcher.source, BitcoinSource)
        loop.run_until_complete(watcher.sync_once())
        o = order(c, "ltc", "LTC", "0.3", "ltc")  # expires in 15 minutes
        litecoind.send(address_of(o), Decimal("0.3"))
        clock.advance(minutes=5)
        start = len(standin.gateway_log)
        loop.run_until_complete(watcher.sync_once())  # polled: in the mempool, in time
        fetched = [m for call in standin.gateway_log[start:] for m in call.methods]
        seen = state(c, o["id"])
        clock.advance(minutes=20)  # expired by the clock before the block
        litecoind.mine(1)
        loop.run_until_complete(watcher.sync_once())
        assert state(c, o["id"]) == ("paid", "none", 30_000_000)
        assert "order.paid_late" not in events_of(c, o["id"])
        assert seen == ("processing", "none", 30_000_000)
        assert "getrawtransaction" in fetched  # though no notification named it
        loop.run_until_complete(watcher.source.aclose())
