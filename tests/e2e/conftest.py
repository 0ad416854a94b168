from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.configs import config_yaml
from tests.support.postgres import free_port

PAYWATCH = str(Path(sys.executable).parent / "paywatch")


@dataclass
class Installation:
    """A config file and database in a temp dir, driven through the real `paywatch` command."""

    workdir: Path
    port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.workdir / "config.yaml"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "PAYWATCH_CONFIG": str(self.config)}

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [PAYWATCH, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"paywatch {' '.join(args)} failed: {result.stderr}")
        return result

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.workdir / "daemon.log").open("ab")
        proc = subprocess.Popen([PAYWATCH, "run"], env=self.env(), stdout=log, stderr=log)
        self.processes.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"paywatch run exited {proc.returncode}: {self.log()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return proc
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError(f"paywatch run did not answer: {self.log()}")

    @contextmanager
    def running(self) -> Iterator[httpx.Client]:
        """Migrate, make an API key, start `paywatch run`; a client that sends the key."""
        self.cli("db", "upgrade")
        key = self.cli_json("apikey", "create")["key"]
        self.start()
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=self.base_url, headers=auth, timeout=10) as client:
            yield client

    def log(self) -> str:
        path = self.workdir / "daemon.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def wait_for(client: httpx.Client, order_id: str, status: str, deadline: float = 30) -> Any:
    """The order's view once it has ``status`` (or the last one seen after ``deadline``)."""
    end = time.monotonic() + deadline
    while True:
        view = client.get(f"/v1/orders/{order_id}").json()
        if view["status"] == status or time.monotonic() > end:
            return view
        time.sleep(0.1)


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[Installation]:
    inst = Installation(tmp_path, free_port())
    inst.config.write_text(
        config_yaml(f"sqlite:///{tmp_path / 'paywatch.db'}", listen=f"127.0.0.1:{inst.port}")
    )
    yield inst
    inst.stop_all()
