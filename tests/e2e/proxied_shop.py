"""The proxy tests' shared parts: `paywatch run` on anvil (ETH and an ERC-20 as USDC,
fixed EUR rates, lazy addresses) behind a real nginx running the shipped sample, with
``api.public_url`` at nginx under the prefix /paywatch; what they check requests and
event streams with.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.checkout_shop import config
from tests.e2e.conftest import Installation
from tests.support.anvil import Anvil
from tests.support.browser import RequestLog
from tests.support.nginx import Nginx, nginx
from tests.support.postgres import free_port

PREFIX = "/paywatch"


@dataclass
class ProxiedShop:
    """`paywatch run` on anvil behind nginx; the merchant's API client talks to paywatch."""

    inst: Installation
    proxy: Nginx
    api: httpx.Client
    eth: Anvil
    names: Iterator[int]

    @property
    def public(self) -> str:
        return f"{self.proxy.origin}{PREFIX}"

    def create(self, **body: Any) -> Any:
        answer = self.api.post("/v1/orders", json={"order_id": f"proxy-{next(self.names)}", **body})
        assert answer.status_code == 201, answer.text
        made = answer.json()
        assert made["checkout_url"].startswith(f"{self.public}/pay/"), made
        return made

    def view(self, order: Any) -> Any:
        return self.api.get(f"/v1/orders/{order['id']}").json()


@contextmanager
def proxied(workdir: Path, eth: Anvil, usdc: str, api: str) -> Iterator[ProxiedShop]:
    """nginx (the shipped sample) in front of a fresh `paywatch run` whose public_url is it."""
    inst = Installation(workdir, free_port())
    nginx_port = free_port()
    public = f"http://127.0.0.1:{nginx_port}{PREFIX}"
    inst.config.write_text(
        config(
            workdir / "paywatch.db",
            inst.port,
            eth,
            usdc,
            api=f'public_url: "{public}", {api}',
            addresses="lazy",
            usdc_eur="0.92",
        )
    )
    upstream = f"127.0.0.1:{inst.port}"
    try:
        with nginx(workdir / "nginx", upstream, port=nginx_port) as proxy, inst.running() as api_:
            yield ProxiedShop(inst, proxy, api_, eth, itertools.count(1))
    finally:
        inst.stop_all()


def token_of(order: Any) -> str:
    return str(order["checkout_url"]).rsplit("/", 1)[1]


def assert_all_under_prefix(log: RequestLog, shop: ProxiedShop) -> None:
    """Every request went to nginx, under the prefix; none to paywatch's own port."""
    log.assert_only(shop.proxy.origin)
    outside = [url for url in log.urls if not url.startswith(f"{shop.public}/")]
    assert not outside, f"requests outside {shop.public}/: {outside}"
    assert not [url for url in log.urls if f":{shop.inst.port}" in url], log.urls


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(kind, text) per Server-Sent Events block: ("state", its data) or ("comment", text)."""
    kind, data = "", ""
    for line in lines:
        if line == "":
            if kind or data:
                yield kind or "message", data
            kind, data = "", ""
        elif line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event:"):
            kind = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data = line.partition(":")[2].strip()
