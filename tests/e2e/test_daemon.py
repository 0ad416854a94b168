"""`paywatch run` as a process: the API and the CLI on one database, and a clean stop."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx

from tests.e2e.conftest import PAYWATCH, Installation


def test_orders_over_http_show_in_the_cli_and_sigterm_exits_cleanly(
    installation: Installation,
) -> None:
    installation.cli("db", "upgrade")
    key = installation.cli_json("apikey", "create")
    assert isinstance(key, dict)
    proc = installation.start()
    headers = {"Authorization": f"Bearer {key['key']}"}
    with httpx.Client(base_url=installation.base_url, headers=headers, timeout=10) as client:
        made = [
            client.post(
                "/v1/orders",
                json={"order_id": f"web-{i}", "chain": "eth", "asset": "USDC", "amount": "12.5"},
            ).json()
            for i in range(3)
        ]
        assert [m["derivation_index"] for m in made] == [0, 1, 2]
        # The CLI writes to the same database while the daemon runs.
        cli_order = installation.cli_json(
            "order",
            "create",
            "--chain",
            "eth",
            "--asset",
            "USDC",
            "--amount",
            "1",
            "--order-id",
            "cli",
        )
        assert isinstance(cli_order, dict)
        assert cli_order["derivation_index"] == 3
        seen = client.get(f"/v1/orders/{cli_order['id']}").json()
        assert seen["order_id"] == "cli"
        client.post(f"/v1/orders/{made[0]['id']}/cancel").raise_for_status()
    listed = installation.cli_json("order", "list")
    assert isinstance(listed, dict)
    assert {o["order_id"]: o["status"] for o in listed["data"]}["web-0"] == "cancelled"

    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert time.monotonic() - started < 5


def test_demo_runs_and_exits_zero() -> None:
    result = subprocess.run(
        [PAYWATCH, "demo"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Demo finished" in result.stdout
    assert "bcrt1" in result.stdout
    assert "ethereum:" in result.stdout
