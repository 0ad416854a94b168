"""`paywatch run` as systemd's Type=notify sees it: READY=1 once it serves, WATCHDOG=1
heartbeats, STOPPING=1 and exit 0 on SIGTERM. The test plays systemd's part: it binds the
notify socket and passes $NOTIFY_SOCKET and $WATCHDOG_USEC as systemd would."""

from __future__ import annotations

import itertools
import signal
import subprocess
import time

import httpx
import pytest

from tests.e2e.conftest import PAYWATCH, Installation
from tests.support.notify_socket import NotifySocket

WATCHDOG_USEC = 400_000  # heartbeats every 0.2 s


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_paywatch_run_notifies_systemd(installation: Installation, abstract: bool) -> None:
    installation.cli("db", "upgrade")
    with NotifySocket(abstract=abstract) as systemd:
        env = installation.env() | {
            "NOTIFY_SOCKET": systemd.address,
            "WATCHDOG_USEC": str(WATCHDOG_USEC),
        }
        env.pop("WATCHDOG_PID", None)
        log = (installation.workdir / "daemon.log").open("ab")
        proc = subprocess.Popen([PAYWATCH, "run"], env=env, stdout=log, stderr=log)
        installation.processes.append(proc)

        ready = systemd.wait_for("READY", timeout=30)
        # READY=1 means serving: the API answers the moment systemd hears it.
        health = httpx.get(f"{installation.base_url}/healthz", timeout=5)
        assert health.status_code == 200, installation.log()
        assert ready.fields["STATUS"].startswith(f"API on {installation.base_url}")
        assert proc.poll() is None

        time.sleep(1.2)
        beats = [m.at for m in systemd.messages if m.fields == {"WATCHDOG": "1"}]
        after_ready = [at for at in beats if at >= ready.at]
        assert len(after_ready) >= 4, beats
        gaps = [b - a for a, b in itertools.pairwise(after_ready)]
        # Every WATCHDOG_USEC/2, well inside the timeout systemd would enforce.
        assert max(gaps) < WATCHDOG_USEC / 1e6, gaps

        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        stopping = systemd.wait_for("STOPPING", timeout=5)
        assert proc.wait(10) == 0, installation.log()
        assert time.monotonic() - sent < 5
        assert stopping.at >= sent
        statuses = [m.fields for m in systemd.messages if "READY" in m.fields]
        assert len(statuses) == 1  # READY=1 once
