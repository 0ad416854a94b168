"""Which periodic jobs the daemon runs, and what each does.

- ``orders.refresh`` (every 5 s): expire pending orders whose time ran out, and close
  processing orders whose late window ended before their payment confirmed.
- ``orders.address_gap`` (every 10 min): warn when so many unpaid addresses follow the
  last paid one that a wallet restored from the xpub would stop scanning before them.
- ``chain.NAME.balance_check`` (per EVM chain without a trace API, every
  ``balance_check_interval``): reconcile the balances of the addresses due (each order's
  ``balance_check_after`` its creation, its expiry, the end of its late window; every
  open one in the first round) with what was credited, to catch coin sent by contracts.
- ``chain.NAME.reconcile`` (``reconcile_interval``, off by default): read every
  credited transfer of the chain back from its node (``paywatch reconcile``); the
  differences it finds are logged and set ``paywatch_reconcile_differences``.
- ``tatum.reconcile`` (``tatum.reconcile_interval``): compare Tatum's subscriptions with
  the open orders; adopt, recreate or delete (subscription clean-up).
- ``webhooks.retention`` (hourly, the first a minute after start): drop the bodies of
  events delivered longer than ``webhooks.retention`` ago (daemon.webhooks.retention).
- ``rates.refresh`` (``rates.refresh``, the first at start; only with a ``rates:``
  section): ask the rate sources for every asset's rate (daemon.rates.book). It runs on
  every instance, not once per cluster: each keeps its own read-only cache in memory.

Confirmations are not a timed job: each watcher counts them on every new block (pushed
over WebSocket/ZMQ, polled as a fallback), in the same transaction as the block.

With several instances on one PostgreSQL each job runs once across the cluster: the
order, reconcile, retention and Tatum jobs on the holder of the ``jobs`` lease, a chain's
balance check on the chain's leader (its settling fenced by the chain's lease, like the watcher's
commits). On SQLite the one instance holds every lease.
"""

from __future__ import annotations

import functools
import logging

from daemon.accounting.reconcile_job import scheduled_reconcile
from daemon.cluster.leases import JOBS, chain_lease
from daemon.runtime.container import Container
from daemon.runtime.jobs import Jobs
from daemon.services.address_allocation import address_gap
from daemon.tatum.keeper import SubscriptionKeeper
from daemon.webhooks.retention import ROUND_SECONDS, Retention

log = logging.getLogger("paywatch.runtime")
REFRESH_SECONDS = 5.0
GAP_CHECK_SECONDS = 600.0


async def refresh_orders(container: Container) -> int:
    changed = await container.db.run(
        lambda conn: container.orders.refresh_due(conn, container.clock())
    )
    if changed:
        log.info("%d orders expired or invalidated", changed)
    return changed


async def warn_about_gaps(container: Container) -> None:
    keyspaces = {chain.deriver.keyspace: chain.name for chain in container.registry}
    for keyspace, name in keyspaces.items():
        gap = await container.db.run_read(functools.partial(address_gap, keyspace=keyspace))
        warning = gap.warning(container.config.orders.gap_limit)
        if warning:
            log.warning("address gap on %s: %s", name, warning)


def schedule_jobs(
    container: Container, jobs: Jobs, keeper: SubscriptionKeeper | None = None
) -> Jobs:
    leads = container.cluster.holds
    cluster_job = functools.partial(leads, JOBS)
    refresh = functools.partial(refresh_orders, container)
    jobs.every("orders.refresh", REFRESH_SECONDS, refresh, when=cluster_job)
    jobs.every(
        "orders.address_gap",
        GAP_CHECK_SECONDS,
        functools.partial(warn_about_gaps, container),
        when=cluster_job,
    )
    for name, watcher in container.watchers.items():
        check = watcher.balance_check
        if check is not None:  # first after the watcher's first catch-up has had a moment
            job = check.scheduled_round
            jobs.every(
                f"chain.{name}.balance_check",
                check.interval,
                job,
                first_after=5,
                when=functools.partial(leads, chain_lease(name)),
            )
    interval = container.config.reconcile_interval
    if interval is not None:
        for name in container.watchers:
            jobs.every(
                f"chain.{name}.reconcile",
                interval.total_seconds(),
                functools.partial(scheduled_reconcile, container, name),
                first_after=60,  # after the watchers' first catch-up
                when=cluster_job,
            )
    keep = container.config.webhooks.retention
    retention = Retention(container.db, container.clock, keep)
    jobs.every(
        "webhooks.retention", ROUND_SECONDS, retention.run_round, first_after=60, when=cluster_job
    )
    rates = container.rates
    if rates is not None:  # every instance: its own cache
        jobs.every("rates.refresh", rates.config.refresh.total_seconds(), rates.refresh)
    if keeper is not None:
        jobs.every(
            "tatum.reconcile",
            keeper.reconcile_interval,
            keeper.request_reconcile,
            first_after=keeper.reconcile_interval,  # the keeper reconciles once at start itself
            when=cluster_job,
        )
    return jobs
