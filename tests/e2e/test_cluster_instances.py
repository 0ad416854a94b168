"""Instances as processes: a second `paywatch run` on one SQLite file is refused; on
PostgreSQL a leader paused past its lease (SIGSTOP) is replaced, and once resumed
(SIGCONT) it commits nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import DbFactory
from tests.e2e.conftest import PAYWATCH, Installation, wait_for
from tests.support.anvil import Anvil
from tests.support.configs import anvil_chain_yaml
from tests.support.postgres import free_port

ETHER = 10**18


def test_a_second_daemon_on_one_sqlite_file_is_refused(installation: Installation) -> None:
    with installation.running():
        first = installation.processes[0]
        other = installation.workdir / "other.yaml"
        text_ = installation.config.read_text().replace(
            f"127.0.0.1:{installation.port}", f"127.0.0.1:{free_port()}"
        )
        other.write_text(text_)
        second = subprocess.run(
            [PAYWATCH, "run"],
            env={**os.environ, "PAYWATCH_CONFIG": str(other)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode != 0
        assert f"pid {first.pid}" in second.stderr, second.stderr
        assert str(installation.workdir / "paywatch.db") in second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None  # the first one runs on


@pytest.fixture
def db_kind() -> str:
    return "postgresql"


def _config(url: str, port: int, anvil: Anvil) -> str:
    return f"""
database_url: {url}
api: {{listen: "127.0.0.1:{port}"}}
metrics: {{enabled: false}}
orders: {{expires_in: 15m, late_window: 24h, underpaid_tolerance_percent: 0}}
{anvil_chain_yaml(anvil.url, start_height=anvil.height())}"""


def _instance(workdir: Path, url: str, anvil: Anvil) -> Installation:
    workdir.mkdir()
    inst = Installation(workdir, free_port())
    inst.config.write_text(_config(url, inst.port, anvil))
    return inst


def _leader(inst: Installation) -> str | None:
    view: Any = inst.cli_json("cluster", "status")
    leader: str | None = view["chains"].get("eth")
    return leader


def _until(check: Any, seconds: float) -> float:
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > seconds:
            raise AssertionError(f"not within {seconds}s")
        time.sleep(0.2)
    return time.monotonic() - began


@pytest.mark.postgres
def test_a_paused_leader_is_replaced_and_commits_nothing_when_it_wakes(
    tmp_path: Path, make_database_url: DbFactory, anvil: Anvil
) -> None:
    url = make_database_url()
    a = _instance(tmp_path / "a", url, anvil)
    b = _instance(tmp_path / "b", url, anvil)
    try:
        with a.running() as client_a:
            pid_a = a.processes[0].pid
            _until(lambda: _leads(a, pid_a), 20)
            proc_b = b.start()
            made = client_a.post(
                "/v1/orders", json={"order_id": "A", "chain": "eth", "asset": "ETH", "amount": "1"}
            ).json()

            # B follows: /readyz names the leader and both instances, and is ready.
            def followed() -> bool:
                ready = httpx.get(f"{b.base_url}/readyz", timeout=5)
                body = ready.json()
                eth = body["checks"]["chains"]["eth"]
                return (
                    ready.status_code == 200
                    and f":{pid_a}:" in (eth.get("followed_by") or "")
                    and len(body["instances"]) == 2
                )

            _until(followed, 20)
            os.kill(pid_a, signal.SIGSTOP)
            try:
                took = _until(lambda: _leads(b, proc_b.pid), 20)
                assert took < 15, took  # the lease is 6 s, renewed every 2 s
                anvil.send(made["address"], ETHER)
                anvil.mine(1)
                view = wait_for(client_b(b, client_a), made["id"], "paid")
                assert view["status"] == "paid"
            finally:
                os.kill(pid_a, signal.SIGCONT)
            _until(lambda: "no longer led by this instance" in a.log(), 20)
            anvil.mine(2)
            time.sleep(3)  # A's and B's next rounds
            assert _leads(b, proc_b.pid)
            assert _events(url, made["id"]) == [
                "order.created",
                "order.payment_detected",
                "order.payment_confirmed",
                "order.paid",
            ]
            assert "crashed" not in a.log()
            for proc in (a.processes[0], proc_b):
                proc.send_signal(signal.SIGTERM)
            assert a.processes[0].wait(15) == 0
            assert proc_b.wait(15) == 0
    finally:
        a.stop_all()
        b.stop_all()


def _leads(inst: Installation, pid: int) -> bool:
    leader = _leader(inst)
    return leader is not None and f":{pid}:" in leader


def client_b(b: Installation, client_a: httpx.Client) -> httpx.Client:
    return httpx.Client(base_url=b.base_url, headers=dict(client_a.headers), timeout=10)


def _events(url: str, public_id: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT e.type FROM events e JOIN orders o ON o.seq = e.order_seq"
                    " WHERE o.id = :id ORDER BY e.seq"
                ),
                {"id": public_id},
            )
            return [row.type for row in rows]
    finally:
        engine.dispose()
