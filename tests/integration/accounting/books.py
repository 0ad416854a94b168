"""What the accounting tests share: a daemon on a throwaway SQLite file with its config
on disk (for the CLI), the CLI's export parsed back, and the API's pages walked."""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from daemon.cli.main import cli
from daemon.config.loading import parse_config
from daemon.runtime.container import Container, build
from daemon.storage.migrations import upgrade
from tests.support.clock import ManualClock
from tests.support.server import running_api

COLUMNS = [
    "order_id",
    "order_ref",
    "chain",
    "asset",
    "tx_hash",
    "output_index",
    "log_index",
    "block_height",
    "block_hash",
    "block_time",
    "amount",
    "amount_base",
    "status",
    "price_currency",
    "rate",
    "value",
]


@dataclass
class Books:
    container: Container
    config: Path
    tmp: Path

    def cli(self, *args: str) -> str:
        result = CliRunner().invoke(cli, ["--config", str(self.config), *args])
        assert result.exit_code == 0, result.output
        return result.output

    def export_csv(self, *args: str) -> list[dict[str, str]]:
        out = self.tmp / "payments.csv"
        self.cli("export", "payments", "--format", "csv", "--output", str(out), *args)
        with open(out, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            assert next(reader) == COLUMNS
            return [dict(zip(COLUMNS, row, strict=True)) for row in reader]

    def export_json(self, *args: str) -> list[dict[str, Any]]:
        rows = json.loads(self.cli("export", "payments", "--format", "json", *args))
        assert all(list(row) == COLUMNS for row in rows)
        return list(rows)

    def api_pages(self, limit: int, **params: str) -> list[dict[str, Any]]:
        """Every row of GET /v1/payments, page after page of ``limit``."""
        rows: list[dict[str, Any]] = []
        with (
            running_api(self.container) as api,
            httpx.Client(base_url=api.base_url, headers=api.auth, timeout=10) as client,
        ):
            query: dict[str, Any] = {"limit": limit, **params}
            while True:
                page = client.get("/v1/payments", params=query)
                assert page.status_code == 200, page.text
                body = page.json()
                rows += body["data"]
                assert body["has_more"] is (body["next_cursor"] is not None)
                assert len(body["data"]) == limit or not body["has_more"]
                if not body["has_more"]:
                    return rows
                query["cursor"] = body["next_cursor"]

    def api_stats(self, **params: str) -> dict[str, Any]:
        with (
            running_api(self.container) as api,
            httpx.Client(base_url=api.base_url, headers=api.auth, timeout=10) as client,
        ):
            answer = client.get("/v1/stats", params=params)
            assert answer.status_code == 200, answer.text
            return dict(answer.json())


@contextmanager
def books(config_text: Callable[[str], str]) -> Iterator[Books]:
    with tempfile.TemporaryDirectory() as tmp:
        text = config_text(f"sqlite:///{Path(tmp) / 'paywatch.db'}")
        config = Path(tmp) / "config.yaml"
        config.write_text(text)
        container = build(parse_config(text), clock=ManualClock())
        upgrade(container.db.engine)
        try:
            yield Books(container, config, Path(tmp))
        finally:
            container.close()


def as_text(row: dict[str, Any]) -> dict[str, str]:
    """A JSON row as the CSV writes it (null: empty)."""
    return {k: "" if v is None else str(v) for k, v in row.items()}


def exact(row: dict[str, Any], decimals: int) -> None:
    """The decimal amount is the base units, exactly."""
    assert Decimal(row["amount"]).scaleb(decimals) == Decimal(int(row["amount_base"]))
