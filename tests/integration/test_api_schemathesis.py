"""Schemathesis against the running API: every check, the stateful phase included.

The daemon serves its API in this process (every chain kind configured, no node: an
order needs only its address derived); Schemathesis runs as a process against its
/openapi.json with an API key, in a scratch directory (it writes .schemathesis/ where
it runs), with a fixed seed and a bounded time, and any failure fails the test with
its report. Webhook targets may be private here, so that no generated callback_url is
resolved over the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.conftest import ContainerFactory
from tests.support.server import running_api

SCHEMATHESIS = str(Path(sys.executable).parent / "st")
SEED = int(os.environ.get("PAYWATCH_SCHEMATHESIS_SEED", "160416"))
SECONDS = int(os.environ.get("PAYWATCH_SCHEMATHESIS_SECONDS", "60"))


def test_schemathesis_finds_nothing(make_container: ContainerFactory, tmp_path: Path) -> None:
    # Fixed rates (no exchange asked): /v1/rates is served and published, and fuzzed.
    rates = "rates: {sources: [], fixed: {BTC/EUR: '60000', ETH/EUR: '3000.5'}, currencies: [EUR]}"
    container = make_container(extra=f"webhooks: {{allow_private_targets: true}}\n{rates}")
    with running_api(container) as api:
        command = [
            SCHEMATHESIS,
            "run",
            f"{api.base_url}/openapi.json",
            "-H",
            f"Authorization: Bearer {api.key}",
            "--checks",
            "all",
            "--max-time",
            str(SECONDS),
            "--seed",
            str(SEED),
            "--no-color",
        ]
        print(f"schemathesis seed {SEED}, {SECONDS} s")
        done = subprocess.run(
            command,
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=SECONDS + 120,
        )
    report = done.stdout + done.stderr
    print(report)
    assert done.returncode == 0, report[-6000:]
    assert "Stateful" in report, report[-2000:]
