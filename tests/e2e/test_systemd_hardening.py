"""paywatch under ``MemoryDenyWriteExecute=yes``, as systemd/paywatch.service runs it.

systemd enforces that setting with a seccomp filter; tests/support/mdwe.py installs the
same rule, so a dependency that needs writable executable memory (a JIT, cffi's
``ffi.callback``, a library asking for an executable stack) fails here first.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import PAYWATCH, Installation
from tests.support import mdwe
from tests.support.keys import BTC_ZPUB_FIRST, ETH_FIRST

ROOT = Path(__file__).resolve().parents[2]
UNDER_MDWE = [sys.executable, str(ROOT / "tests" / "support" / "mdwe.py")]

pytestmark = pytest.mark.skipif(not mdwe.supported(), reason="seccomp rule for x86_64/aarch64")

IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
sys.path.insert(0, sys.argv[1])
import chains, daemon
for pkg in (daemon, chains):
    for module in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(module.name)
# The compiled extensions a configuration may load later, not at import.
import coincurve, httptools, psycopg, pydantic_core, uvloop, yaml, zmq
from psycopg import pq
assert pq.__impl__ == "binary", pq.__impl__
print("ok")
"""


def test_the_rule_is_the_one_systemd_applies() -> None:
    """Writable+executable memory is refused under it, and only under it."""
    probe = (
        "import mmap\n"
        "try:\n"
        "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "    print('allowed')\n"
        "except PermissionError:\n"
        "    print('refused')\n"
    )
    free = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert free.stdout.strip() == "allowed"
    ruled = subprocess.run(
        [*UNDER_MDWE, sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert ruled.stdout.strip() == "refused"


def test_every_module_and_extension_loads_under_the_rule() -> None:
    result = subprocess.run(
        [*UNDER_MDWE, sys.executable, "-c", IMPORT_EVERYTHING, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PAYWATCH_CONFIG": "/nonexistent/config.yaml"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_paywatch_run_derives_and_serves_under_the_rule(installation: Installation) -> None:
    installation.cli("db", "upgrade")
    key = installation.cli_json("apikey", "create")["key"]
    log = (installation.workdir / "daemon.log").open("ab")
    proc = subprocess.Popen(
        [*UNDER_MDWE, PAYWATCH, "run"], env=installation.env(), stdout=log, stderr=log
    )
    installation.processes.append(proc)
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, installation.log()
        assert time.monotonic() < deadline, installation.log()
        try:
            if httpx.get(f"{installation.base_url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    status = Path(f"/proc/{proc.pid}/status").read_text()
    assert "\nSeccomp:\t2\n" in status  # the filter is on the daemon itself
    assert "\nNoNewPrivs:\t1\n" in status
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=installation.base_url, headers=headers, timeout=10) as client:
        btc = client.post(
            "/v1/orders", json={"order_id": "b", "chain": "btc", "asset": "BTC", "amount": "0.1"}
        )
        eth = client.post(
            "/v1/orders", json={"order_id": "e", "chain": "eth", "asset": "USDC", "amount": "5"}
        )
    assert btc.status_code == 201, btc.text
    assert btc.json()["address"] == BTC_ZPUB_FIRST  # derived with coincurve under the rule
    assert eth.status_code == 201, eth.text
    assert eth.json()["address"] == ETH_FIRST
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0, installation.log()
