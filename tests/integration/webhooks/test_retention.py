"""``webhooks.retention``: delivered bodies are dropped after the configured time, the
delivery log's facts stay, and a pruned delivery is never sent again with an empty body
(API 409 delivery_pruned, CLI message)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from daemon.cli.main import cli
from daemon.config.webhooks import WebhooksConfig
from daemon.runtime.jobs import Jobs
from daemon.runtime.schedule import schedule_jobs
from daemon.services.errors import Conflict
from daemon.webhooks import retention
from daemon.webhooks.retention import Retention
from tests.integration.webhooks.conftest import SECRET, Shop, ShopFactory, webhooks_yaml
from tests.support.configs import config_yaml
from tests.support.receiver import webhook_receiver
from tests.support.server import running_api


def deliver_all(shop: Shop) -> None:
    async def scenario() -> None:
        async with shop.dispatching() as dispatcher:
            while await dispatcher.run_once():
                pass

    asyncio.run(scenario())


def prune(shop: Shop) -> int:
    c = shop.container
    return asyncio.run(Retention(c.db, shop.clock, c.config.webhooks.retention).run_round())


def test_delivered_bodies_are_dropped_after_retention_and_the_log_stays(
    make_shop: ShopFactory,
) -> None:
    with webhook_receiver(SECRET) as store:
        shop = make_shop(store.url, retention="7d")
        old = shop.order("old")
        shop.cancel(old)
        deliver_all(shop)
        shop.clock.advance(days=7, seconds=1)
        shop.order("recent")  # delivered now: kept
        deliver_all(shop)
        shop.order("waiting")  # not sent yet: kept
        before = {row.id: row for row in shop.deliveries()}
        attempts_before = {i: shop.attempts(i) for i in before}
        assert prune(shop) == 2
        assert prune(shop) == 0  # nothing left to drop
    after = {row.id: row for row in shop.deliveries()}
    pruned = {i for i, row in after.items() if row.pruned_at is not None}
    assert {after[i].type for i in pruned} == {"order.created", "order.cancelled"}
    assert {json.loads(before[i].payload)["data"]["order_id"] for i in pruned} == {"old"}
    for i, row in after.items():
        was = before[i]
        if i in pruned:
            assert row.payload == ""
            assert row.pruned_at == shop.clock()
        else:
            assert row.payload == was.payload
        # The facts stay: id, type, order, status, attempts, times, every attempt row.
        assert (row.type, row.order_seq, row.delivery_status, row.attempts) == (
            was.type,
            was.order_seq,
            was.delivery_status,
            was.attempts,
        )
        assert (row.delivered_at, row.created_at) == (was.delivered_at, was.created_at)
        assert shop.attempts(i) == attempts_before[i]


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_a_round_drops_every_body_due_in_batches(
    make_shop: ShopFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 3)
    with webhook_receiver(SECRET) as store:
        shop = make_shop(store.url, retention="1h")
        for n in range(8):
            shop.order(f"b-{n}")
        deliver_all(shop)
        shop.clock.advance(hours=2)
        assert prune(shop) == 8
    assert all(row.pruned_at is not None for row in shop.deliveries())


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_a_pruned_delivery_is_refused_for_redelivery_with_a_clear_error(
    make_shop: ShopFactory, tmp_path: Path
) -> None:
    with webhook_receiver(SECRET) as store:
        shop = make_shop(store.url, retention="1d")
        shop.order("P-1")
        deliver_all(shop)
        shop.clock.advance(days=2)
        assert prune(shop) == 1
        (row,) = shop.deliveries()
        c = shop.container
        with pytest.raises(Conflict, match="dropped") as refused:
            c.db.write(lambda conn: c.deliveries.redeliver(conn, row.id, shop.clock()))
        assert refused.value.code == "delivery_pruned"
        with running_api(c) as api, httpx.Client(base_url=api.base_url, headers=api.auth) as h:
            shown = h.get(f"/v1/webhooks/deliveries/{row.id}").json()
            again = h.post(f"/v1/webhooks/deliveries/{row.id}/redeliver")
        assert (shown["payload"], shown["pruned_at"]) == (None, "2026-01-03T12:00:00Z")
        assert (shown["status"], shown["attempt_count"]) == ("delivered", 1)
        assert [a["outcome"] for a in shown["attempts"]] == ["delivered"]
        assert again.status_code == 409
        error = again.json()["error"]
        assert error["code"] == "delivery_pruned"
        assert "webhooks.retention" in error["message"]
        config = tmp_path / "config.yaml"
        config.write_text(config_yaml(c.config.database_url, extra=webhooks_yaml(store.url)))
        runner = CliRunner()
        cli_again = runner.invoke(cli, ["--config", str(config), "webhook", "redeliver", row.id])
        assert cli_again.exit_code != 0
        assert "delivery_pruned" in cli_again.output
        assert "cannot be sent again" in cli_again.output
        show = runner.invoke(cli, ["--config", str(config), "webhook", "show", row.id])
        assert show.exit_code == 0, show.output
        assert "dropped at 2026-01-03T12:00:00Z" in show.output
        assert store.ids().count(row.id) == 1  # never sent again
    assert shop.delivery(row.id).delivery_status == "delivered"


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_the_job_runs_on_the_jobs_lease_holder(make_shop: ShopFactory) -> None:
    shop = make_shop("https://store.example/hooks")
    jobs = schedule_jobs(shop.container, Jobs())
    assert "webhooks.retention" in jobs.stats
    assert "webhooks.retention" in jobs._when  # only while this instance holds the lease


def test_retention_is_a_duration_of_at_least_an_hour() -> None:
    assert WebhooksConfig().retention == timedelta(days=30)
    assert WebhooksConfig(retention="7d").retention == timedelta(days=7)
    with pytest.raises(ValidationError, match="at least 1h"):
        WebhooksConfig(retention="10m")
