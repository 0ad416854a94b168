"""The ``chain.NAME.reconcile`` job: scheduled only with ``reconcile_interval``, on the
jobs lease; a round sets paywatch_reconcile_differences and its timestamp, and a
difference is looked at again before it counts."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry
from sqlalchemy import update

from daemon.accounting.reconcile_job import scheduled_reconcile
from daemon.config.loading import parse_config
from daemon.runtime.jobs import Jobs
from daemon.runtime.schedule import schedule_jobs
from daemon.storage.tables import transfers
from tests.integration.evm.conftest import Contracts
from tests.integration.evm.watching import evm_config, evm_container, order, watcher
from tests.support.anvil import Anvil
from tests.support.single import address_of

ETHER = 10**18


def gauge(registry: CollectorRegistry, name: str) -> float | None:
    return registry.get_sample_value(name, {"chain": "eth"})


def test_the_job_sets_the_metrics_from_what_it_finds(
    anvil: Anvil, contracts: Contracts, loop: asyncio.AbstractEventLoop
) -> None:
    with evm_container(anvil.url, contracts.token) as c:
        assert "chain.eth.reconcile" not in schedule_jobs(c, Jobs()).stats  # off by default
        eth = watcher(c, "eth", anvil.height())
        loop.run_until_complete(eth.sync_once())
        paid = order(c, "eth", "ETH", "1", "paid")
        tx = anvil.send(address_of(paid), ETHER)
        anvil.mine(2)
        loop.run_until_complete(eth.sync_once())
        metrics = c.metrics
        assert metrics is not None
        registry = metrics.registry
        assert gauge(registry, "paywatch_reconcile_differences") is None  # before a round

        report = loop.run_until_complete(scheduled_reconcile(c, "eth"))
        assert report.checked == 1
        assert gauge(registry, "paywatch_reconcile_differences") == 0
        first = gauge(registry, "paywatch_reconcile_last_run_timestamp_seconds")
        assert first is not None

        c.db.write(
            lambda conn: conn.execute(
                update(transfers).where(transfers.c.tx_hash == tx).values(amount_base=ETHER - 1)
            )
        )
        report = loop.run_until_complete(scheduled_reconcile(c, "eth", recheck_after=0))
        assert [d["kind"] for d in report.differences] == ["amount_differs"]
        assert gauge(registry, "paywatch_reconcile_differences") == 1
        last = gauge(registry, "paywatch_reconcile_last_run_timestamp_seconds")
        assert last is not None
        assert last >= first
        loop.run_until_complete(eth.source.aclose())


def test_the_job_is_scheduled_per_watched_chain_on_the_jobs_lease(
    anvil: Anvil, contracts: Contracts
) -> None:
    with evm_container(anvil.url, contracts.token) as c:
        text = evm_config(c.config.database_url, anvil.url, contracts.token, None)
        c.config = parse_config(text + "reconcile_interval: 6h\n")
        jobs = schedule_jobs(c, Jobs())
        assert "chain.eth.reconcile" in jobs.stats
        assert jobs._when["chain.eth.reconcile"]() is c.cluster.holds("jobs")
