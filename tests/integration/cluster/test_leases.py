"""Several instances on one PostgreSQL: leases with fencing tokens, one watcher per chain,
a deposed leader's commit refused, the cluster's jobs run once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select, text

from daemon.cluster.fence import Deposed
from daemon.cluster.leadership import Leadership
from daemon.cluster.leases import JOBS, chain_lease
from daemon.config.loading import parse_config
from daemon.runtime.container import Container, build
from daemon.runtime.jobs import Jobs
from daemon.runtime.schedule import schedule_jobs
from daemon.storage.database import Database
from daemon.storage.migrations import upgrade
from daemon.storage.tables import chain_cursors, transfers
from daemon.watching.runner import start_watchers
from tests.conftest import DbFactory
from tests.integration.evm.watching import events_of, evm_config, order, state, watcher
from tests.support.anvil import Anvil
from tests.support.clock import ManualClock
from tests.support.single import address_of

pytestmark = pytest.mark.postgres
ETHER = 10**18
TOKEN = "0x" + "11" * 20  # no contract there: no token transfers to find
ETH = chain_lease("eth")


@pytest.fixture
def db_kind() -> str:
    return "postgresql"


@pytest.fixture
def pg_url(make_database_url: DbFactory) -> str:
    url = make_database_url()
    db = Database(url)
    upgrade(db.engine)
    db.close()
    return url


@pytest.fixture
def containers(pg_url: str, anvil: Anvil) -> Iterator[Callable[[], Container]]:
    """Containers on one PostgreSQL database and one anvil, as two `paywatch run` are."""
    built: list[Container] = []

    def make() -> Container:
        config = parse_config(evm_config(pg_url, anvil.url, TOKEN, None))
        container = build(config, clock=ManualClock())
        built.append(container)
        return container

    yield make
    for container in built:
        container.close()


def lease_row(db: Database, name: str) -> tuple[str | None, int]:
    row = db.read(
        lambda c: c.execute(
            text("SELECT holder, token FROM leases WHERE name = :n"), {"n": name}
        ).one()
    )
    return row.holder, int(row.token)


def expire(db: Database, name: str) -> None:
    db.write(
        lambda c: c.execute(
            text(
                "UPDATE leases SET expires_at = clock_timestamp() - interval '1 second'"
                " WHERE name = :n"
            ),
            {"n": name},
        )
    )


def test_leases_are_taken_renewed_lost_and_released_with_growing_tokens(
    pg_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    db_a, db_b = Database(pg_url), Database(pg_url)
    a = Leadership(db_a, "host:1:a", ["eth"], lease_seconds=30)
    b = Leadership(db_b, "host:2:b", ["eth"], lease_seconds=30)
    try:
        loop.run_until_complete(a.tick())
        loop.run_until_complete(b.tick())
        assert a.holds(ETH)
        assert a.holds(JOBS)
        assert not b.holds(ETH)
        assert not b.holds(JOBS)
        first = a.terms[ETH]
        assert lease_row(db_a, ETH) == ("host:1:a", first.token)
        loop.run_until_complete(a.tick())  # renewed: same token
        assert a.terms[ETH] is first
        assert lease_row(db_a, ETH) == ("host:1:a", first.token)
        # A stops renewing (paused): its lease runs out by the database's clock, and B
        # (below its fair share of one chain) takes it.
        expire(db_a, ETH)
        loop.run_until_complete(b.tick())
        assert b.holds(ETH)
        second = b.terms[ETH]
        assert second.token == first.token + 1
        with pytest.raises(Deposed):  # A's fence refuses, whatever A believes
            db_a.write(first.fence.check)
        db_b.write(second.fence.check)
        loop.run_until_complete(a.tick())  # its renewal fails: A knows it lost
        assert first.lost.is_set()
        assert not a.holds(ETH)
        # B stops (SIGTERM): released at once, A takes it on its next round.
        loop.run_until_complete(b.close())
        assert second.lost.is_set()
        assert lease_row(db_a, ETH) == (None, second.token)
        loop.run_until_complete(a.tick())
        assert a.holds(ETH)
        assert a.terms[ETH].token == second.token + 1
    finally:
        db_a.close()
        db_b.close()


def test_chains_spread_over_the_instances(pg_url: str, loop: asyncio.AbstractEventLoop) -> None:
    dbs = [Database(pg_url) for _ in range(2)]
    chains = ["eth", "btc", "ltc", "polygon"]
    a = Leadership(dbs[0], "host:1:a", chains)
    b = Leadership(dbs[1], "host:2:b", chains)
    try:
        loop.run_until_complete(a.tick())
        assert all(a.holds(chain_lease(c)) for c in chains)  # alone: it takes every chain
        loop.run_until_complete(b.tick())  # registers; nothing free yet
        for _ in range(4):
            loop.run_until_complete(a.tick())  # gives up what is over its share
            loop.run_until_complete(b.tick())
        held_a = {c for c in chains if a.holds(chain_lease(c))}
        held_b = {c for c in chains if b.holds(chain_lease(c))}
        assert len(held_a) == len(held_b) == 2
        assert not held_a & held_b
    finally:
        for db in dbs:
            db.close()


def test_a_deposed_leaders_commit_is_refused_and_changes_nothing(
    containers: Callable[[], Container], anvil: Anvil, loop: asyncio.AbstractEventLoop
) -> None:
    c = containers()
    leadership = Leadership(c.db, "host:1:a", ["eth"])
    loop.run_until_complete(leadership.tick())
    eth = watcher(c, "eth", anvil.height())
    eth.lead(leadership.terms[ETH].fence)
    loop.run_until_complete(eth.sync_once())
    before = c.db.read(lambda conn: conn.execute(select(chain_cursors.c.height)).scalar_one())
    paid = order(c, "eth", "ETH", "1", "A")
    anvil.send(address_of(paid), ETHER)
    anvil.mine(2)
    expire(c.db, ETH)  # the lease ran out while the watcher was busy (paused, say)
    with pytest.raises(Deposed):
        loop.run_until_complete(eth.sync_once())
    after = c.db.read(lambda conn: conn.execute(select(chain_cursors.c.height)).scalar_one())
    count = c.db.read(lambda conn: conn.execute(select(func.count()).select_from(transfers)))
    assert after == before
    assert count.scalar_one() == 0
    assert state(c, paid["id"])[0] == "pending"
    assert events_of(c, paid["id"]) == ["order.created"]
    loop.run_until_complete(eth.source.aclose())


def test_two_watchers_of_one_chain_only_the_leader_commits(
    containers: Callable[[], Container], anvil: Anvil, loop: asyncio.AbstractEventLoop
) -> None:
    a, b = containers(), containers()
    for c, name in ((a, "host:1:a"), (b, "host:2:b")):
        c._cluster = Leadership(c.db, name, ["eth"], renew_seconds=0.5)
    paid = order(a, "eth", "ETH", "1", "A")

    async def scenario() -> None:
        stop = asyncio.Event()
        await a.cluster.tick()  # A starts first and leads
        tasks = [asyncio.create_task(c.cluster.run(stop)) for c in (a, b)]
        tasks += start_watchers(a.watchers, stop, a.cluster)
        tasks += start_watchers(b.watchers, stop, b.cluster)
        await asyncio.sleep(1.5)
        anvil.send(address_of(paid), ETHER)
        anvil.mine(2)
        deadline = time.monotonic() + 30
        while state(a, paid["id"])[0] != "paid" and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        stop.set()
        await asyncio.gather(*tasks)

    loop.run_until_complete(scenario())
    assert a.cluster.holds(ETH)
    assert not b.cluster.holds(ETH)
    assert a.watchers["eth"].status.last_sync_at is not None
    assert b.watchers["eth"].status.last_sync_at is None  # the follower never synced
    assert events_of(a, paid["id"]) == [
        "order.created",
        "order.payment_detected",
        "order.payment_confirmed",
        "order.paid",
    ]


def test_the_cluster_jobs_run_on_one_instance(
    containers: Callable[[], Container], loop: asyncio.AbstractEventLoop
) -> None:
    a, b = containers(), containers()
    for c, name in ((a, "host:1:a"), (b, "host:2:b")):
        c._cluster = Leadership(c.db, name, ["eth"])

    async def scenario() -> tuple[Jobs, Jobs]:
        await a.cluster.tick()
        await b.cluster.tick()
        scheduled = [schedule_jobs(c, Jobs()) for c in (a, b)]
        for jobs in scheduled:
            jobs.start()
        await asyncio.sleep(1.0)  # every job's first round is due at once
        for jobs in scheduled:
            await jobs.shutdown()
        return scheduled[0], scheduled[1]

    on_a, on_b = loop.run_until_complete(scenario())
    assert on_a.stats["orders.refresh"].runs == 1
    assert on_a.stats["orders.address_gap"].runs == 1
    assert on_b.stats["orders.refresh"].runs == 0
    assert on_b.stats["orders.address_gap"].runs == 0
