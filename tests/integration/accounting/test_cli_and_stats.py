"""The export and stats commands' usage errors, and the stats' webhook success rate."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, update

from daemon.cli.main import cli
from daemon.services.orders import NewOrder
from daemon.storage.tables import events
from tests.integration.accounting.books import books
from tests.support.configs import config_yaml


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["export", "payments", "--since", "2026-02-30"], "'--since'"),
        (["export", "payments", "--until", "next week"], "'--until'"),
        (["stats", "--since", "2026-12-01T24:30:00Z"], "'--since'"),
    ],
)
def test_a_bad_date_is_a_usage_error_naming_the_option(args: list[str], option: str) -> None:
    with books(config_yaml) as b:
        result = CliRunner().invoke(cli, ["--config", str(b.config), *args])
        assert result.exit_code == 2, result.output
        assert f"Invalid value for {option}" in result.output
        assert "ISO 8601" in result.output


def test_an_empty_export_is_a_header_or_an_empty_array() -> None:
    with books(config_yaml) as b:
        assert b.export_csv() == []
        assert b.export_json() == []


def test_webhook_success_rate_counts_finished_deliveries_in_the_period() -> None:
    with books(config_yaml) as b:
        c = b.container
        for i in range(10):
            c.clock.advance(hours=1)  # type: ignore[attr-defined]
            new = NewOrder(f"W-{i}", "btc", "BTC", "0.01", expires_in=timedelta(days=1))

            def create(conn: Connection, new: NewOrder = new) -> None:
                c.orders.create(conn, new, c.clock())

            c.db.write(create)
        # One order.created event an order, an hour apart: give them delivery outcomes.
        outcomes = ["no_target", "delivered", "delivered", "dead", "gone", "pending"]
        outcomes += ["delivered", "delivered", "delivered", "dead"]

        def set_outcomes(conn: Connection) -> None:
            for seq, status in enumerate(outcomes, start=1):
                conn.execute(
                    update(events).where(events.c.seq == seq).values(delivery_status=status)
                )

        c.db.write(set_outcomes)
        every = b.api_stats()["webhooks"]
        assert every == {"delivered": 5, "failed": 3, "pending": 1, "success_rate": "0.6250"}
        # From the 7th event on (created an hour apart, from 13:00 on the first day).
        later = b.api_stats(since="2026-01-01T19:00:00Z")["webhooks"]
        assert later == {"delivered": 3, "failed": 1, "pending": 0, "success_rate": "0.7500"}
        printed = json.loads(b.cli("stats", "--since", "2026-01-01T19:00:00Z", "--json"))
        assert printed["webhooks"] == later
        assert printed["orders"]["pending"] == 4
        assert "success rate 0.7500" in b.cli("stats", "--since", "2026-01-01T19:00:00Z")
