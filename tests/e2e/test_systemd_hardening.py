"""paywatch under the seccomp rules of systemd/paywatch.service.

``MemoryDenyWriteExecute=yes``: systemd enforces it with a seccomp filter;
tests/support/mdwe.py installs the same rule, so a dependency that needs writable
executable memory (a JIT, cffi's ``ffi.callback``, a library asking for an executable
stack) fails here first. ``SystemCallFilter=``: ``paywatch run`` is traced with strace
and every system call it makes must be in the unit's allowed set, as systemd-analyze
lists it (a call outside it would fail with EPERM under systemd).
"""

from __future__ import annotations

import os
import re
import shutil
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

needs_mdwe = pytest.mark.skipif(not mdwe.supported(), reason="seccomp rule for x86_64/aarch64")
TOOLS = {name: shutil.which(name) for name in ("strace", "systemd-analyze")}
needs_tools = pytest.mark.skipif(
    None in TOOLS.values() and not os.environ.get("CI"),
    reason="strace or systemd-analyze missing (./dev setup installs them)",
)

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


@needs_mdwe
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


@needs_mdwe
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


def start(installation: Installation, *wrapper: str) -> subprocess.Popen[bytes]:
    log = (installation.workdir / "daemon.log").open("ab")
    proc = subprocess.Popen(
        [*wrapper, PAYWATCH, "run"], env=installation.env(), stdout=log, stderr=log
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
    return proc


def make_orders(installation: Installation, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=installation.base_url, headers=headers, timeout=10) as client:
        btc = client.post(
            "/v1/orders", json={"order_id": "b", "chain": "btc", "asset": "BTC", "amount": "0.1"}
        )
        eth = client.post(
            "/v1/orders", json={"order_id": "e", "chain": "eth", "asset": "USDC", "amount": "5"}
        )
        assert client.get("/v1/orders").status_code == 200
    assert btc.status_code == 201, btc.text
    assert btc.json()["address"] == BTC_ZPUB_FIRST  # derived with coincurve
    assert eth.status_code == 201, eth.text
    assert eth.json()["address"] == ETH_FIRST


@needs_mdwe
def test_paywatch_run_derives_and_serves_under_the_rule(installation: Installation) -> None:
    installation.cli("db", "upgrade")
    key = installation.cli_json("apikey", "create")["key"]
    proc = start(installation, *UNDER_MDWE)
    status = Path(f"/proc/{proc.pid}/status").read_text()
    assert "\nSeccomp:\t2\n" in status  # the filter is on the daemon itself
    assert "\nNoNewPrivs:\t1\n" in status
    make_orders(installation, key)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0, installation.log()


def syscall_set(name: str) -> set[str]:
    """The system calls in a systemd syscall-filter set, nested sets expanded."""
    assert TOOLS["systemd-analyze"] is not None, "systemd-analyze missing"
    listing = subprocess.run(
        [TOOLS["systemd-analyze"], "syscall-filter", name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[1:]
    calls: set[str] = set()
    for line in (entry.strip() for entry in listing):
        if line.startswith("@"):
            calls |= syscall_set(line)
        elif line and not line.startswith("#"):
            calls.add(line)
    return calls


def unit_allowed_syscalls() -> set[str]:
    """SystemCallFilter= of paywatch.service: allow lists add, ~ lists take away."""
    allowed: set[str] = set()
    unit = (ROOT / "systemd" / "paywatch.service").read_text()
    for value in re.findall(r"^SystemCallFilter=(.*)$", unit, flags=re.MULTILINE):
        names = value.removeprefix("~").split()
        calls = set().union(*(syscall_set(n) if n.startswith("@") else {n} for n in names))
        allowed = allowed - calls if value.startswith("~") else allowed | calls
    return allowed


@needs_tools
def test_paywatch_run_stays_inside_the_system_call_filter(installation: Installation) -> None:
    installation.cli("db", "upgrade")
    key = installation.cli_json("apikey", "create")["key"]
    trace = installation.workdir / "strace.out"
    assert TOOLS["strace"] is not None, "strace missing"
    probe = subprocess.run([TOOLS["strace"], "-qq", "-o", "/dev/null", "true"], check=False)
    if probe.returncode != 0:  # a container without ptrace: nothing the project can change
        pytest.skip("strace cannot trace here (ptrace is not permitted)")
    tracer = start(installation, TOOLS["strace"], "-f", "-qq", "-o", str(trace))
    make_orders(installation, key)
    children = Path(f"/proc/{tracer.pid}/task/{tracer.pid}/children").read_text().split()
    os.kill(int(children[0]), signal.SIGTERM)  # paywatch itself, not strace
    assert tracer.wait(30) == 0, installation.log()
    used = set(re.findall(r"^\d+ +([a-z0-9_]+)\(", trace.read_text(), flags=re.MULTILINE))
    assert {"execve", "accept4", "getrandom"} <= used  # the trace saw the daemon work
    if os.geteuid() == 0:
        # Only as root does SQLite fchown() its -wal/-shm files to the database's owner;
        # the service runs as the paywatch user.
        used.discard("fchown")
    assert sorted(used - unit_allowed_syscalls()) == []
