"""The checkout page's browser tests' shared parts: `paywatch run` on a real anvil (ETH and
an ERC-20 as USDC, 3 confirmations, fixed EUR rates for two-coin orders), Debian's headless
Chromium, the page's messages read from the repo's .po files, and exact wei arithmetic.

Module-scoped fixtures (one node, one daemon and one browser per test module); test
modules import them by name.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, expect

from tests.e2e.conftest import Installation
from tests.support.anvil import ACCOUNTS, Anvil, anvil_available, anvil_node, load_artifact
from tests.support.browser import (
    chromium,
    chromium_available,
    decode_qr,
)
from tests.support.keys import ETH_XPUB
from tests.support.postgres import free_port

# Each module of these tests: skipped without anvil or chromium (failing under CI).
MARKS = [
    pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup"),
    pytest.mark.skipif(not chromium_available(), reason="chromium missing: ./dev setup"),
]

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = ROOT / "daemon" / "checkout" / "messages"
CONFIRMATIONS = 3  # more than one, so the page shows "seen" between sent and paid
WAIT_MS = 30_000  # for the page to follow the chain (the watcher polls every second)
EIP681 = re.compile(r"ethereum:(0x[0-9a-fA-F]{40})@31337\?value=(\d+)")
WEI = 10**18


def config(
    db: Path,
    port: int,
    eth: Anvil,
    token: str,
    *,
    api: str = "",
    addresses: str = "eager",
    usdc_eur: str = "0.9",
) -> str:
    """``paywatch run``'s config: ETH and the test token as USDC on anvil, fixed EUR rates
    (``usdc_eur`` per USDC); ``api``: more keys of ``api:``."""
    more = f", {api}" if api else ""
    return f"""
database_url: sqlite:///{db}
api: {{listen: "127.0.0.1:{port}"{more}}}
orders:
  {{expires_in: 15m, late_window: 24h, underpaid_tolerance_percent: 0, addresses: {addresses}}}
rates: {{sources: [], fixed: {{"ETH/EUR": "2000", "USDC/EUR": "{usdc_eur}"}}, currencies: [EUR]}}
chains:
  eth:
    type: evm
    chain_id: 31337
    xpub: {ETH_XPUB}
    confirmations: {CONFIRMATIONS}
    start_height: 0
    native: {{symbol: ETH, decimals: 18}}
    tokens: {{USDC: {{contract: "{token}", decimals: 6}}}}
    backend: {{kind: rpc, urls: ["{eth.url}"], ws_url: "{eth.ws_url}", poll_interval: 1s}}
"""


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """The page's messages in ``lang``, read from the repo's .po file (not from paywatch)."""
    with (MESSAGES / f"{lang}.po").open("rb") as po:
        return {str(m.id): str(m.string) for m in read_po(po) if m.id}


def wei(amount: str) -> int:
    """A canonical decimal ETH amount as the page shows it, in wei (exact, no floats)."""
    value = Decimal(amount) * WEI
    assert value == int(value), amount
    return int(value)


def uri_parts(uri: str) -> tuple[str, int]:
    """(address, wei) of an EIP-681 native-coin URI on the test chain."""
    found = EIP681.fullmatch(uri)
    assert found is not None, uri
    return found.group(1), int(found.group(2))


@dataclass
class Shop:
    """`paywatch run` on anvil, and the merchant's API client."""

    inst: Installation
    api: httpx.Client
    eth: Anvil
    names: Iterator[int]

    def order(self, amount: str, **extra: Any) -> Any:
        body = {
            "order_id": f"page-{next(self.names)}",
            "chain": "eth",
            "asset": "ETH",
            "amount": amount,
            **extra,
        }
        answer = self.api.post("/v1/orders", json=body)
        assert answer.status_code == 201, answer.text
        made = answer.json()
        assert made["checkout_url"].startswith(f"{self.inst.base_url}/pay/"), made
        return made

    def view(self, order: Any) -> Any:
        return self.api.get(f"/v1/orders/{order['id']}").json()

    def pay(self, address: str, value: int) -> str:
        """Send ``value`` wei from an anvil dev account (automine: one confirmation)."""
        return self.eth.send(address, value, sender=ACCOUNTS[2])


@pytest.fixture(scope="module")
def eth() -> Iterator[Anvil]:
    with anvil_node() as node:
        yield node


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, eth: Anvil) -> Iterator[Shop]:
    workdir = tmp_path_factory.mktemp("checkout")
    inst = Installation(workdir, free_port())
    token = eth.deploy(load_artifact("TestToken"))
    inst.config.write_text(config(workdir / "paywatch.db", inst.port, eth, token))
    try:
        with inst.running() as api:
            yield Shop(inst, api, eth, itertools.count(1))
    finally:
        inst.stop_all()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context()
    yield made
    made.close()


def open_checkout(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    answer = page.goto(url)
    assert answer is not None
    assert answer.status == 200, answer.text()
    return page


def expect_status(page: Page, status: str) -> None:
    expect(page.locator("html")).to_have_attribute("data-status", status, timeout=WAIT_MS)


def csp_refusals(context: BrowserContext) -> list[str]:
    """What the browser's CSP refuses on the context's pages from now on (a live list)."""
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            refused.append(message.text)

    context.on("console", on_console)
    return refused


def heading(page: Page) -> Locator:
    """The state's heading inside ``#status`` (which also holds ``#detail``)."""
    return page.locator("#status h1")


def qr_on_screen(page: Page) -> list[str]:
    return decode_qr(page.locator("#qr").screenshot())
