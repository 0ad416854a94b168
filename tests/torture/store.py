"""The store under torture: a verifying webhook endpoint in its own process.

``python -m tests.torture.store --port N --secret S --log FILE`` serves the receiver of
tests/support/receiver.py (it checks every request with ``standardwebhooks``) and
appends one JSON line per request to FILE: webhook-id, whether it verified, the body.
:func:`store_process` starts it on a free port and stops it afterwards.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import uvicorn

from tests.support.postgres import free_port
from tests.support.receiver import Answer, Behaviour, Received, Receiver


def logging_behaviour(out: IO[str]) -> Behaviour:
    def answer(number: int, request: Received) -> Answer:
        line = {
            "n": number,
            "id": request.webhook_id,
            "verified": all(request.verified),
            "payload": request.payload,
        }
        out.write(json.dumps(line) + "\n")
        out.flush()
        return Answer(200)

    return answer


@contextmanager
def store_process(workdir: Path, secret: str) -> Iterator[tuple[str, Path]]:
    """(the store's URL, its log file); the process is killed when the block ends."""
    port, log = free_port(), workdir / "store.jsonl"
    command = [sys.executable, "-m", "tests.torture.store", "--port", str(port)]
    command += ["--secret", secret, "--log", str(log)]
    errors = (workdir / "store.err").open("ab")
    proc = subprocess.Popen(command, stdout=errors, stderr=errors)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/stats", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the torture store did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/hooks", log
    finally:
        proc.kill()
        proc.wait(10)
        errors.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="a verifying store that logs every webhook")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args()
    with args.log.open("a") as out:
        app = Receiver([args.secret], logging_behaviour(out))
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=args.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
