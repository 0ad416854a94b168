"""A throwaway PostgreSQL cluster on loopback, started by the tests themselves."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    on_path = shutil.which(name)
    if on_path:
        found.append(on_path)
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} is not installed: run ./dev setup as root "
            "(apt-get install postgresql)"
        )
    return found[0]


def _as_owner(*args: str) -> list[str]:
    # initdb refuses to run as root: run it as the postgres user then.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


def _run(*args: str) -> None:
    subprocess.run(_as_owner(*args), check=True, capture_output=True, timeout=120)


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Yield a server URL (no database name); the cluster is deleted afterwards."""
    root = Path(tempfile.mkdtemp(prefix="paywatch-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    port = free_port()
    data, log = root / "data", root / "pg.log"
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
        "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
    )
    try:
        _run(
            _bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        _run(_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", options, "start")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_owner(_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
                check=False,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)
