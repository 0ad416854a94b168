"""A real nginx in front of paywatch, running the sample we ship
(``deploy/nginx/paywatch-checkout.conf``), for tests of the checkout page behind a proxy.

:func:`nginx` writes a throwaway prefix (config, pid, logs, temp directories) and runs
Debian's ``/usr/sbin/nginx`` in the foreground on 127.0.0.1, with a server block that
includes the sample, its ``proxy_pass`` address pointed at the daemon under test. Without
nginx the tests are skipped, except under CI (``CI`` set), where they fail
(:func:`nginx_available`, as for anvil and chromium).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
NGINX = Path("/usr/sbin/nginx")
SAMPLE = ROOT / "deploy" / "nginx" / "paywatch-checkout.conf"
SAMPLE_UPSTREAM = "127.0.0.1:8080"  # paywatch's default api.listen, named in the sample
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_available() -> bool:
    """Whether the proxy tests can run; under CI a missing nginx fails them instead."""
    return NGINX.exists() or bool(os.environ.get("CI"))


@dataclass(frozen=True)
class Nginx:
    port: int
    prefix: Path

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


def sample_for(upstream: str) -> str:
    """The shipped sample with its ``proxy_pass`` address replaced by ``upstream``."""
    text = SAMPLE.read_text()
    assert f"proxy_pass http://{SAMPLE_UPSTREAM}/;" in text, "the sample's proxy_pass moved"
    return text.replace(f"http://{SAMPLE_UPSTREAM}/", f"http://{upstream}/")


def main_config(prefix: Path, port: int, included: Path) -> str:
    temps = "\n".join(f"    {name}_temp_path {prefix / name};" for name in TEMP_PATHS)
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers reach the tmp prefix
    return f"""{user}worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    access_log {prefix / "access.log"};
{temps}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        include {included};
    }}
}}
"""


@contextlib.contextmanager
def nginx(prefix: Path, upstream: str, *, port: int | None = None) -> Iterator[Nginx]:
    """nginx on 127.0.0.1:``port`` (a free one if None) serving the sample toward
    ``upstream`` (``host:port``, which need not be listening yet); stopped after."""
    if not NGINX.exists():
        raise RuntimeError(f"{NGINX} missing: ./dev setup installs Debian's nginx")
    prefix.mkdir(parents=True, exist_ok=True)
    for name in TEMP_PATHS:
        (prefix / name).mkdir(exist_ok=True)
    included = prefix / "paywatch-checkout.conf"
    included.write_text(sample_for(upstream))
    port = port if port is not None else free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(main_config(prefix, port, included))
    command = [str(NGINX), "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, f"nginx -t refused the config: {checked.stderr}"
    log = (prefix / "nginx.out").open("ab")
    proc = subprocess.Popen(command, stdout=log, stderr=log)
    running = Nginx(port, prefix)
    try:
        _wait_listening(proc, running)
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # fast shutdown: open event streams are cut
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()


def _wait_listening(proc: subprocess.Popen[bytes], running: Nginx) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"nginx exited {proc.returncode}: {running.error_log()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", running.port), 1):
            return
        time.sleep(0.05)
    raise AssertionError(f"nginx did not listen on {running.port}: {running.error_log()}")
