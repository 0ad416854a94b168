"""The `paywatch` command, as an admin types it."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from tests.e2e.conftest import PAYWATCH, Installation
from tests.support.keys import BTC_ZPUB_FIRST, ETH_FIRST, LTC_FIRST


def test_config_check_reports_the_bad_key(installation: Installation, tmp_path: Path) -> None:
    ok = installation.cli("config", "check")
    assert "OK" in ok.stdout
    assert BTC_ZPUB_FIRST in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "chains:\n  btc: {type: bitcoin, network: testnet, xpub: " + "zpub" + "x" * 20 + "}\n"
    )
    result = installation.cli("--config", str(bad), "config", "check", check=False)
    assert result.returncode == 1
    assert "chains.btc.xpub" in result.stderr
    missing = installation.cli(
        "--config", str(tmp_path / "nope.yaml"), "config", "check", check=False
    )
    assert missing.returncode == 1
    assert "not found" in missing.stderr


def test_address_derive_matches_the_wallet(installation: Installation) -> None:
    listed = installation.cli_json("address", "derive", "btc", "--count", "3")
    assert isinstance(listed, list)
    assert len(listed) == 3
    assert listed[0] == {"index": 0, "address": BTC_ZPUB_FIRST}
    assert installation.cli_json("address", "derive", "eth", "--count", "1") == [
        {"index": 0, "address": ETH_FIRST}
    ]
    assert (
        installation.cli_json("address", "derive", "ltc", "--count", "1")[0]["address"] == LTC_FIRST
    )
    later = installation.cli_json("address", "derive", "btc", "--index", "2", "--count", "1")
    assert later == [listed[2]]
    table = installation.cli("address", "derive", "btc", "--count", "2").stdout
    assert "INDEX" in table
    assert BTC_ZPUB_FIRST in table
    unknown = installation.cli("address", "derive", "doge", check=False)
    assert unknown.returncode == 1
    assert "not configured" in unknown.stderr


def test_orders_and_keys_from_the_cli(installation: Installation) -> None:
    not_ready = installation.cli("order", "list", check=False)
    assert not_ready.returncode == 1
    assert "db upgrade" in not_ready.stderr
    assert "upgraded" in installation.cli("db", "upgrade").stdout
    assert "up to date" in installation.cli("db", "upgrade").stdout
    assert "database: reachable, schema current" in installation.cli("config", "check").stdout

    key = installation.cli_json("apikey", "create", "--name", "shop")
    assert isinstance(key, dict)
    assert key["key"].startswith("pw_key_")
    keys = installation.cli_json("apikey", "list")
    assert isinstance(keys, list)
    assert keys[0]["id"] == key["id"]
    assert "key" not in keys[0]

    order = installation.cli_json(
        *shlex.split("order create --chain btc --asset BTC --amount 0.001 --order-id cli-1"),
        "--metadata",
        '{"cart": 7}',
    )
    assert isinstance(order, dict)
    assert order["address"] == BTC_ZPUB_FIRST
    assert order["metadata"] == {"cart": 7}
    shown = installation.cli_json("order", "show", order["id"])
    assert isinstance(shown, dict)
    assert shown["id"] == order["id"]
    listed = installation.cli_json("order", "list", "--status", "pending")
    assert isinstance(listed, dict)
    assert [o["id"] for o in listed["data"]] == [order["id"]]
    human = installation.cli("order", "list").stdout
    assert "cli-1" in human
    assert "0.001 BTC" in human

    assert "cancelled" in installation.cli("order", "cancel", order["id"]).stdout
    again = installation.cli("order", "cancel", order["id"], check=False)
    assert again.returncode == 1
    assert "order_not_cancellable" in again.stderr
    bad = installation.cli(
        *shlex.split("order create --chain btc --asset BTC --amount 0.1234567891 --order-id x"),
        check=False,
    )
    assert bad.returncode == 1
    assert "8 decimal places" in bad.stderr

    revoked = installation.cli("apikey", "revoke", key["id"])
    assert "revoked" in revoked.stdout
    assert installation.cli_json("apikey", "list")[0]["active"] is False


def test_help_lists_the_commands() -> None:
    out = subprocess.run([PAYWATCH, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("run", "db", "config", "address", "order", "apikey", "demo"):
        assert command in out
