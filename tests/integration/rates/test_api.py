"""``GET /v1/rates`` on a running daemon (its API served for real, its rates.refresh job
asking local stand-ins of the three exchanges over HTTP) and ``paywatch rates``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from daemon.cli.main import cli
from daemon.config import parse_config
from daemon.rates.errors import RatesUnavailable
from daemon.runtime.container import Container, build
from daemon.storage.migrations import upgrade
from tests.support.clock import ManualClock
from tests.support.configs import config_yaml
from tests.support.rate_standins import Exchanges, rate_standins
from tests.support.server import RunningApi, running_api


def container_for(tmp_path: Path, clock: ManualClock, rates: str) -> Container:
    extra = f"metrics: {{enabled: false}}\n{rates}"
    config = parse_config(config_yaml(f"sqlite:///{tmp_path / 'paywatch.db'}", extra=extra))
    container = build(config, clock=clock)
    upgrade(container.db.engine)
    return container


@pytest.fixture
def ex(ex: Exchanges) -> Exchanges:
    """The stand-ins (conftest), quoting USDC/EUR too."""
    ex.set_price("USDC", "EUR", "0.9210")
    return ex


@pytest.fixture
def api(tmp_path: Path, clock: ManualClock, ex: Exchanges) -> Iterator[RunningApi]:
    rates = f"rates: {{sources: [{ex.sources_yaml()}], refresh: 1h, timeout: 2s}}\n"
    container = container_for(tmp_path, clock, rates)
    with running_api(container) as running:
        book = container.rates
        assert book is not None
        deadline = time.monotonic() + 20
        while book.rounds < 1:  # the job's first round, at start
            assert time.monotonic() < deadline, "rates.refresh never ran"
            time.sleep(0.05)
        yield running
    container.close()


def rates(api: RunningApi, currency: str = "EUR") -> dict[str, Any]:
    response = httpx.get(
        f"{api.base_url}/v1/rates", params={"currency": currency}, headers=api.auth
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return {"currency": body["currency"], **{r["asset"]: r for r in body["rates"]}}


def test_the_daemon_serves_the_median_and_each_source(api: RunningApi) -> None:
    shown = rates(api, "eur")
    assert shown["currency"] == "EUR"
    assert shown["BTC"] == {
        "asset": "BTC",
        "value": "60000.20",
        "sources": [
            {"name": "kraken", "value": "60000.10", "age_seconds": 0, "ok": True},
            {"name": "coinbase", "value": "60000.30", "age_seconds": 0, "ok": True},
            {"name": "bitstamp", "value": "60000.20", "age_seconds": 0, "ok": True},
        ],
    }
    assert shown["USDC"]["value"] == "0.9210"  # a stablecoin is quoted, not taken as 1
    assert shown["ETH"]["value"] is None  # no stand-in lists ETH/EUR
    assert set(shown) == {"currency", "BTC", "ETH", "LTC", "POL", "USDC"}
    spec = httpx.get(f"{api.base_url}/openapi.json").json()
    assert spec["paths"]["/v1/rates"]["get"]["operationId"] == "get_rates"


def test_the_rates_need_a_key_and_a_currency_a_source_quotes(api: RunningApi) -> None:
    assert httpx.get(f"{api.base_url}/v1/rates").status_code == 401
    refused = httpx.get(f"{api.base_url}/v1/rates?currency=NZD", headers=api.auth)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "unknown_currency"


def test_sources_going_down_and_one_ten_times_off(
    api: RunningApi, ex: Exchanges, clock: ManualClock
) -> None:
    book = api.container.rates
    assert book is not None
    ex.coinbase.set_price("BTC", "EUR", "600003")  # ten times off: outvoted
    asyncio.run(book.refresh())
    btc = rates(api)["BTC"]
    assert btc["value"] == "60000.15"
    assert [(s["name"], s["ok"]) for s in btc["sources"]] == [
        ("kraken", True),
        ("coinbase", False),
        ("bitstamp", True),
    ]
    ex.bitstamp.mode = "down"
    ex.coinbase.set_price("BTC", "EUR", "60000.30")
    clock.advance(minutes=6)  # the earlier answers age out
    asyncio.run(book.refresh())
    btc = rates(api)["BTC"]
    assert btc["value"] == "60000.20"  # two: the mean of the middle two
    assert btc["sources"][2] == {
        "name": "bitstamp",
        "value": "60000.20",
        "age_seconds": 360,
        "ok": False,
    }
    ex.coinbase.mode = "malformed"
    clock.advance(minutes=6)
    asyncio.run(book.refresh())
    assert rates(api)["BTC"]["value"] is None
    with pytest.raises(RatesUnavailable):
        book.quote("BTC", "EUR")
    assert book.health["coinbase"].failures["malformed"] >= 1
    assert book.health["bitstamp"].failures["status"] >= 2


def test_fixed_rates_and_rates_off(tmp_path: Path, clock: ManualClock) -> None:
    fixed = "rates: {sources: [], fixed: {BTC/EUR: '60000', LTC/EUR: '80.5'}, currencies: [EUR]}\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with running_api(container_for(tmp_path / "a", clock, fixed)) as api:
        shown = rates(api)
        assert shown["BTC"]["value"] == "60000"
        assert shown["BTC"]["sources"] == [
            {"name": "fixed", "value": "60000", "age_seconds": 0, "ok": True}
        ]
        assert shown["LTC"]["value"] == "80.5"
        assert shown["ETH"] == {"asset": "ETH", "value": None, "sources": []}
    with running_api(container_for(tmp_path / "b", clock, "")) as api:
        off = httpx.get(f"{api.base_url}/v1/rates?currency=EUR", headers=api.auth)
        assert off.status_code == 404  # rates off: not served, not published
        published = httpx.get(f"{api.base_url}/openapi.json").json()["paths"]
        assert "/v1/rates" not in published


def test_paywatch_rates_asks_the_sources_itself(tmp_path: Path) -> None:
    with rate_standins() as ex:  # real time: the CLI runs on the wall clock
        ex.set_price("BTC", "EUR", "60000.25")
        ex.kraken.set_price("BTC", "EUR", "60000.75")
        ex.bitstamp.mode = "down"
        config = tmp_path / "config.yaml"
        rates_yaml = f"rates: {{sources: [{ex.sources_yaml()}], timeout: 2s}}\n"
        config.write_text(config_yaml(f"sqlite:///{tmp_path / 'p.db'}", extra=rates_yaml))
        runner = CliRunner()
        shown = runner.invoke(cli, ["--config", str(config), "rates", "--json"])
        assert shown.exit_code == 0, shown.output
        view = json.loads(shown.stdout)
        btc = next(r for r in view["rates"] if r["asset"] == "BTC")
        assert btc["value"] == "60000.50"
        assert [s["ok"] for s in btc["sources"]] == [True, True, False]
        table = runner.invoke(cli, ["--config", str(config), "rates", "--currency", "eur"])
        assert table.exit_code == 0, table.output
        assert "60000.50" in table.stdout
        assert "KRAKEN" in table.stdout
        unknown = runner.invoke(cli, ["--config", str(config), "rates", "--currency", "NZD"])
        assert unknown.exit_code != 0
        assert "unknown_currency" in unknown.output
