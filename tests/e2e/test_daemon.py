"""`paywatch run` as a process: the API and the CLI on one database, and a clean stop;
`paywatch demo` with nothing configured, to the end."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import PAYWATCH, Installation
from tests.support.anvil import anvil_available
from tests.support.litecoind import litecoind_available


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


@pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup")
def test_demo_runs_and_exits_zero(tmp_path: Path) -> None:
    """`paywatch demo` with nothing configured: every order paid, every order.paid webhook
    verified by the store, and no child process or temp dir left behind."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYWATCH_")}
    env["TMPDIR"] = str(temp)
    result = subprocess.run(
        [PAYWATCH, "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    orders = ["demo-1001", "demo-1002", "demo-1004"]
    orders += ["demo-1003"] if litecoind_available() else []
    summary = out[out.index("Every order is paid") :].splitlines()
    for order in orders:
        [line] = [row for row in summary if row.strip().startswith(order)]
        assert " paid " in line, line
        assert "order.paid among them" in line, line
        assert f"order {order}: " in out  # the live view's line per change (not a TTY)
        assert re.search(rf"store: verified order\.paid +{order} ", out), out
    assert out.count("store: verified order.paid ") == len(orders)
    assert len(
        re.findall(r"checkout page http://127\.0\.0\.1:\d+/pay/[\w-]{43}\n", out)
    ) == 2 * len(orders)  # printed when made, and in the summary
    # The order priced in euros, paid half in ETH and the rest in USDC: exactly the price.
    [priced] = [row for row in summary if row.strip().startswith("demo-1004")]
    assert "30.00 EUR" in priced
    assert "overpaid" not in out
    # Every webhook from paywatch verified; the one refused is the tour's forgery.
    assert out.count("store: REFUSED") == 1
    assert "refused 1 (the forgery)" in out
    assert "\x1b[" not in out  # no ANSI codes off a terminal
    assert list(temp.iterdir()) == []
    assert not processes_mentioning(str(temp))


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain ``text`` (the demo's nodes name their
    temp dirs on theirs)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


@contextlib.contextmanager
def demo_kept_running(
    tmp_path: Path, until: str, env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """`paywatch demo --keep-running`, once its output shows ``until``; killed after."""
    out = tmp_path / "demo.out"
    with out.open("wb") as sink:
        demo = subprocess.Popen(
            [PAYWATCH, "demo", "--keep-running"], cwd=tmp_path, env=env, stdout=sink, stderr=sink
        )
    try:
        deadline = time.monotonic() + 150
        while until not in out.read_text(errors="replace"):
            assert demo.poll() is None, out.read_text(errors="replace")
            assert time.monotonic() < deadline, out.read_text(errors="replace")
            time.sleep(0.2)
        yield demo, out
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(10)


def test_a_demo_killed_outright_leaves_no_node_running(tmp_path: Path) -> None:
    """SIGKILL gives the demo no chance to stop its nodes: they stop themselves, told by
    the kernel that their parent died."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYWATCH_")}
    env["TMPDIR"] = str(temp)
    with demo_kept_running(tmp_path, "keeps running until Ctrl-C", env) as (demo, _):
        nodes = processes_mentioning(str(temp))
        assert any("anvil" in node for node in nodes), nodes
        demo.send_signal(signal.SIGKILL)
        demo.wait(10)
        deadline = time.monotonic() + 20
        while processes_mentioning(str(temp)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_mentioning(str(temp)) == []


@pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup")
def test_the_demo_keeps_its_checkout_pages_up(tmp_path: Path) -> None:
    """`paywatch demo --keep-running` prints each order's checkout URL and keeps the pages
    reachable: the paid orders' pages say paid, the order it leaves open says waiting;
    Ctrl-C then stops everything."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYWATCH_")}
    with demo_kept_running(tmp_path, "to pay from its checkout page", env) as (demo, out):
        time.sleep(0.5)  # the URL's line follows
        text = out.read_text(errors="replace")
        summary = text[text.index("Every order is paid") :]
        paid = re.findall(r"checkout page (http://\S+)", summary)
        assert len(paid) >= 3, summary
        [waiting] = re.findall(r"^  (http://\S+/pay/\S+)$", summary, re.MULTILINE)
        for url in paid:
            page = httpx.get(url, timeout=10)
            assert page.status_code == 200
            assert 'data-status="paid"' in page.text, url
        page = httpx.get(waiting, timeout=10)
        assert page.status_code == 200
        assert 'data-status="waiting"' in page.text
        demo.send_signal(signal.SIGINT)
        assert demo.wait(30) == 0  # stopped as asked
