"""`paywatch run` as a benchmark's subject: a process on a config file (its database
upgraded and an API key made first), used once its API says it is ready, stopped
afterwards; and the wait for a local server to come up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PAYWATCH = str(Path(sys.executable).parent / "paywatch")


def wait_until(check: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    """Until ``check()`` holds (an HTTP error counts as not yet); exits the benchmark
    if it does not within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{what} did not come up within {seconds:.0f} s")


@dataclass(frozen=True)
class Running:
    base: str  # the API's URL
    key: str  # an API key
    pid: int


@contextmanager
def running(
    config: Path, port: int, *, pin: Sequence[str] = (), ready_seconds: float = 30.0
) -> Iterator[Running]:
    """`paywatch run` on ``config`` (its API on 127.0.0.1:``port``), yielded once
    /readyz answers 200 (the API is up and the watchers have caught up with their
    nodes); its output goes to daemon.log beside the config. ``pin``: a command
    prefix such as taskset's."""
    env = {**os.environ, "PAYWATCH_CONFIG": str(config)}
    subprocess.run([PAYWATCH, "db", "upgrade"], env=env, check=True, capture_output=True)
    made = subprocess.run(
        [PAYWATCH, "apikey", "create", "--json"], env=env, check=True, capture_output=True
    )
    key = json.loads(made.stdout)["key"]
    with (config.parent / "daemon.log").open("ab") as log:
        proc = subprocess.Popen([*pin, PAYWATCH, "run"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        ready = f"{base}/readyz"
        wait_until(
            lambda: httpx.get(ready, timeout=1).status_code == 200, "paywatch", ready_seconds
        )
        yield Running(base, key, proc.pid)
    finally:
        proc.terminate()
        proc.wait(15)
