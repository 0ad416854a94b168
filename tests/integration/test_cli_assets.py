"""``paywatch order create`` takes an asset symbol in any case and stores it upper case."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from daemon.cli.main import cli
from tests.support.configs import config_yaml


def test_order_create_ignores_the_case_of_the_asset(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(config_yaml(f"sqlite:///{tmp_path / 'paywatch.db'}"))
    runner = CliRunner()

    def paywatch(*args: str) -> str:
        result = runner.invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    paywatch("db", "upgrade")
    created = json.loads(
        paywatch(
            *("order", "create", "--chain", "eth", "--asset", "usdc", "--amount", "12.5"),
            *("--order-id", "cli-case", "--json"),
        )
    )
    assert created["asset"] == "USDC"
    assert created["amount_base"] == 12_500_000
    shown = json.loads(paywatch("order", "show", created["id"], "--json"))
    assert shown["asset"] == "USDC"


def test_order_create_takes_a_redirect_url_and_shows_the_checkout_page(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    text = config_yaml(f"sqlite:///{tmp_path / 'paywatch.db'}")
    config.write_text(text.replace('api: {listen: "127.0.0.1:0"}', PUBLIC))
    runner = CliRunner()
    assert runner.invoke(cli, ["--config", str(config), "db", "upgrade"]).exit_code == 0
    made = runner.invoke(
        cli,
        [*order_args(config, "R-1"), "--redirect-url", "https://shop.example/r"],
    )
    assert made.exit_code == 0, made.output
    assert "https://pay.example.com/pay/" in made.stdout
    refused = runner.invoke(
        cli,
        [*order_args(config, "R-2"), "--redirect-url", "ftp://x"],
    )
    assert refused.exit_code != 0
    assert "redirect_url" in refused.output


PUBLIC = 'api: {listen: "127.0.0.1:0", public_url: "https://pay.example.com/"}'


def order_args(config: Path, order_id: str) -> list[str]:
    return [
        *("--config", str(config), "order", "create", "--order-id", order_id),
        *("--chain", "btc", "--asset", "BTC", "--amount", "0.01"),
    ]
