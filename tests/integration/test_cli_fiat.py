"""``paywatch order create --price`` and what ``order show`` prints of a fiat order."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from daemon.cli.main import cli
from tests.support.configs import config_yaml

FIXED = "{ETH/EUR: '2000', USDC/EUR: '0.92', POL/EUR: '0.5'}"
RATES = f"rates: {{sources: [], fixed: {FIXED}, currencies: [EUR]}}"


def run(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_an_order_priced_in_euros_from_the_cli(tmp_path: Path) -> None:
    config = tmp_path / "paywatch.yaml"
    config.write_text(config_yaml(f"sqlite:///{tmp_path / 'p.db'}", extra=RATES))
    run(config, "db", "upgrade")
    made = json.loads(
        run(config, "order", "create", "--order-id", "A-1", "--price", "49.90 EUR",
            "--accept", "eth:ETH", "--accept", "eth:USDC", "--accept", "polygon:POL", "--json")
    )  # fmt: skip
    assert made["price"] == {"amount": "49.90", "currency": "EUR"}
    assert made["chain"] is None
    assert made["address"] is None
    due = {(o["chain"], o["asset"]): o["amount"] for o in made["options"]}
    # 49.90 / 2000 = 0.02495 ETH; 49.90 / 0.92 = 54.2391304... USDC, rounded up.
    assert due == {
        ("eth", "ETH"): "0.02495",
        ("eth", "USDC"): "54.239131",
        ("polygon", "POL"): "99.8",
    }
    addresses = {o["address"] for o in made["options"]}
    assert len(addresses) == 1  # one EVM key: one address for every option
    shown = run(config, "order", "show", made["id"])
    assert "49.90 EUR" in shown
    assert "0.02495 ETH at 2000 EUR" in shown

    refused = CliRunner().invoke(
        cli, ["--config", str(config), "order", "create", "--order-id", "A-2",
              "--price", "10 XYZ", "--chain", "eth", "--asset", "ETH"]
    )  # fmt: skip
    assert refused.exit_code != 0
    assert "XYZ" in refused.output
