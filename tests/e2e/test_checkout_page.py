"""The checkout page (`GET /pay/{token}`) in Debian's real headless Chromium, served by
`paywatch run` watching a real anvil: what the page asks for is what the API's order asks
for and what the chain then holds, the QR code read back from a screenshot is the order's
payment URI, a real payment turns the page seen then paid in place (Server-Sent Events,
no reload), to the store's page if the order names one; expiry, a short payment with its
own QR code for the rest, German and Arabic (right to left), no request to another host,
axe-core finds nothing serious light or dark, and it works without JavaScript.

Each state's screenshot is left in test-artifacts/checkout/ for a person to look at.
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

from tests.e2e.conftest import Installation, wait_for
from tests.support.anvil import ACCOUNTS, Anvil, anvil_available, anvil_node, load_artifact
from tests.support.browser import (
    RequestLog,
    axe_violations,
    chromium,
    chromium_available,
    decode_qr,
    describe,
    scan_context,
    screenshot,
    static_site,
)
from tests.support.keys import ETH_XPUB
from tests.support.postgres import free_port

pytestmark = [
    pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup"),
    pytest.mark.skipif(not chromium_available(), reason="chromium missing: ./dev setup"),
]

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = ROOT / "daemon" / "checkout" / "messages"
CONFIRMATIONS = 3  # more than one, so the page shows "seen" between sent and paid
WAIT_MS = 30_000  # for the page to follow the chain (the watcher polls every second)
EIP681 = re.compile(r"ethereum:(0x[0-9a-fA-F]{40})@31337\?value=(\d+)")
WEI = 10**18


def config(db: Path, port: int, eth: Anvil, token: str) -> str:
    return f"""
database_url: sqlite:///{db}
api: {{listen: "127.0.0.1:{port}"}}
orders: {{expires_in: 15m, late_window: 24h, underpaid_tolerance_percent: 0}}
rates: {{sources: [], fixed: {{"ETH/EUR": "2000", "USDC/EUR": "0.9"}}, currencies: [EUR]}}
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


PARSED_STYLE = "Applying inline style violates the following Content Security Policy"


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


def test_waiting_page_asks_for_the_orders_amount_at_its_address(
    shop: Shop, context: BrowserContext
) -> None:
    order = shop.order("0.0123")
    page = open_checkout(context, order["checkout_url"])
    expect_status(page, "waiting")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("html").get_attribute("dir") == "ltr"
    expect(heading(page)).to_have_text(catalogue("en")["status.waiting"])
    assert page.locator("#status").get_attribute("role") == "status"
    assert page.locator("#amount").inner_text().strip() == order["amount"] == "0.0123"
    assert page.locator("#asset").inner_text().strip() == "ETH"
    assert page.locator("#address").inner_text().strip() == order["address"]
    assert page.locator("#copy-address").is_visible()
    assert page.locator("#copy-amount").is_visible()
    uri = order["payment_uri"]
    assert page.locator("#qr").get_attribute("data-uri") == uri
    assert page.locator("#wallet").get_attribute("href") == uri
    # What the chain will be asked to pay: the page's amount, to the order's address.
    address, value = uri_parts(uri)
    assert address.lower() == order["address"].lower()
    assert value == wei(page.locator("#amount").inner_text().strip()) == order["amount_base"]
    assert qr_on_screen(page) == [uri]
    assert decode_qr(screenshot(page, "waiting")) == [uri]
    countdown = page.locator("#countdown")
    first = countdown.inner_text().strip()
    assert re.fullmatch(r"\d{2}:\d{2}", first), first
    minutes, seconds = map(int, first.split(":"))
    assert 10 * 60 < minutes * 60 + seconds <= 15 * 60, first  # 15 minutes from the order
    expect(countdown).not_to_have_text(first, timeout=5_000)  # it ticks
    assert page.locator("#back").count() == 0  # no redirect_url, nothing to go back to


def test_a_payment_turns_the_page_seen_then_paid_in_place(
    shop: Shop, context: BrowserContext
) -> None:
    order = shop.order("0.0417")
    log = RequestLog.attach(context)
    refused = csp_refusals(context)
    page = open_checkout(context, order["checkout_url"])
    expect_status(page, "waiting")
    page.evaluate("window.__marker = 1")
    amount = page.locator("#amount").inner_text().strip()
    assert amount == order["amount"]
    address = page.locator("#address").inner_text().strip()
    before = shop.eth.balance(address)
    shop.pay(address, wei(amount))

    expect_status(page, "seen")
    detail = catalogue("en")["status.seen.detail"].format(count=1, required=CONFIRMATIONS)
    expect(page.locator("#detail")).to_have_text(detail, timeout=WAIT_MS)
    expect(heading(page)).to_have_text(catalogue("en")["status.seen"])
    screenshot(page, "seen")
    shop.eth.mine(CONFIRMATIONS - 1)
    expect_status(page, "paid")
    expect(heading(page)).to_have_text(catalogue("en")["status.paid"])
    screenshot(page, "paid")

    assert page.evaluate("window.__marker") == 1, "the page reloaded instead of updating"
    assert any(url.endswith("/events") for url in log.urls), log.urls  # live, over SSE
    assert shop.view(order)["status"] == "paid"
    # The chain's truth: the address got exactly what the page asked for.
    assert shop.eth.balance(address) - before == wei(amount) == order["amount_base"]
    log.assert_only(shop.inst.base_url)
    # Nothing the page needs was refused (its script, its SSE and fetches, its images).
    # The style its live update trips over is left to the next test.
    assert [text for text in refused if not text.startswith(PARSED_STYLE)] == [], refused


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="page.js parses each fetched page with DOMParser; the parsed document inherits "
    "the page's CSP and its <style> carries the new response's nonce, so every live update "
    "logs a refused inline style (and would send a CSP report); drop this mark once fixed",
)
def test_live_updates_break_no_csp_rule(shop: Shop, context: BrowserContext) -> None:
    order = shop.order("0.0011", confirmations=1)
    refused = csp_refusals(context)
    page = open_checkout(context, order["checkout_url"])
    expect_status(page, "waiting")
    shop.pay(order["address"], order["amount_base"])
    expect_status(page, "paid")
    assert refused == []


def test_paid_page_takes_the_customer_back_to_the_store(
    shop: Shop, context: BrowserContext
) -> None:
    thanks = "<!doctype html><html lang='en'><title>Thanks</title><h1>Thank you</h1></html>"
    with static_site({"/thanks": thanks}) as store:
        back = store.url("/thanks?order=42")
        order = shop.order("0.002", redirect_url=back, confirmations=1)
        assert order["redirect_url"] == back
        page = open_checkout(context, order["checkout_url"])
        expect_status(page, "waiting")
        shop.pay(order["address"], order["amount_base"])
        page.wait_for_url(back, timeout=WAIT_MS)
        assert page.title() == "Thanks"
        assert "/thanks?order=42" in store.hits
    assert shop.view(order)["status"] == "paid"


def test_expired_page_says_so_and_stops_asking(shop: Shop, context: BrowserContext) -> None:
    order = shop.order("0.001", expires_in="3s")
    page = open_checkout(context, order["checkout_url"])
    expect_status(page, "expired")
    expect(heading(page)).to_have_text(catalogue("en")["status.expired"])
    expect(page.locator("#wallet")).to_be_hidden()
    screenshot(page, "expired")
    assert shop.view(order)["status"] == "expired"


def test_short_payment_shows_what_is_still_due_with_its_own_qr_code(
    shop: Shop, context: BrowserContext
) -> None:
    order = shop.order("0.02")
    page = open_checkout(context, order["checkout_url"])
    expect_status(page, "waiting")
    address = order["address"]
    due = order["amount_base"]
    part = due // 4
    before = shop.eth.balance(address)
    shop.pay(address, part)
    expect_status(page, "underpaid")
    expect(heading(page)).to_have_text(catalogue("en")["status.underpaid"])
    rest = due - part
    assert rest == wei("0.015")
    expect(page.locator("#due")).to_contain_text("0.015")
    expect(page.locator("#amount")).to_have_text("0.015")
    uri = page.locator("#qr").get_attribute("data-uri")
    assert uri is not None
    assert uri_parts(uri) == (uri_parts(order["payment_uri"])[0], rest)
    assert page.locator("#wallet").get_attribute("href") == uri
    assert qr_on_screen(page) == [uri]
    screenshot(page, "underpaid")
    # The rest, as the page now asks for it, completes the order.
    shop.pay(address, uri_parts(uri)[1])
    expect_status(page, "seen")
    shop.eth.mine(CONFIRMATIONS - 1)
    expect_status(page, "paid")
    assert shop.eth.balance(address) - before == due


def test_german_and_arabic(shop: Shop, browser: Browser) -> None:
    order = shop.order("0.005")
    context = browser.new_context()
    try:
        german = open_checkout(context, order["checkout_url"] + "?lang=de")
        assert german.locator("html").get_attribute("lang") == "de"
        assert german.locator("html").get_attribute("dir") == "ltr"
        expect(heading(german)).to_have_text(catalogue("de")["status.waiting"])
        assert catalogue("de")["status.waiting"] != catalogue("en")["status.waiting"]
        assert german.locator("#amount").inner_text().strip() == "0.005"
        screenshot(german, "de")
        arabic = open_checkout(context, order["checkout_url"] + "?lang=ar")
        assert arabic.locator("html").get_attribute("lang") == "ar"
        assert arabic.locator("html").get_attribute("dir") == "rtl"
        expect(heading(arabic)).to_have_text(catalogue("ar")["status.waiting"])
        assert arabic.locator("#amount").inner_text().strip() == "0.005"  # never localized
        assert arabic.locator("#address").inner_text().strip() == order["address"]
        assert qr_on_screen(arabic) == [order["payment_uri"]]
        screenshot(arabic, "ar")
    finally:
        context.close()
    accepting = browser.new_context(locale="de-DE")  # Accept-Language: de-DE
    try:
        page = open_checkout(accepting, order["checkout_url"])
        assert page.locator("html").get_attribute("lang") == "de"
        expect(heading(page)).to_have_text(catalogue("de")["status.waiting"])
    finally:
        accepting.close()


def test_axe_finds_nothing_serious_waiting_or_paid_light_or_dark(
    shop: Shop, browser: Browser
) -> None:
    order = shop.order("0.003", confirmations=1)
    pages: dict[str, Page] = {}
    contexts = [scan_context(browser, color_scheme=scheme) for scheme in ("light", "dark")]
    try:
        for scheme, context in zip(("light", "dark"), contexts, strict=True):
            pages[scheme] = open_checkout(context, order["checkout_url"])
            expect_status(pages[scheme], "waiting")
            found = axe_violations(pages[scheme])
            assert found == [], f"waiting, {scheme}:\n{describe(found)}"
        screenshot(pages["dark"], "dark")
        shop.pay(order["address"], order["amount_base"])
        for scheme, page in pages.items():
            expect_status(page, "paid")
            found = axe_violations(page)
            assert found == [], f"paid, {scheme}:\n{describe(found)}"
        screenshot(pages["dark"], "dark-paid")
    finally:
        for context in contexts:
            context.close()


def test_without_javascript_the_page_still_works(shop: Shop, browser: Browser) -> None:
    order = shop.order("0.004", confirmations=1)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = open_checkout(context, order["checkout_url"])
        assert page.locator("html").get_attribute("data-status") == "waiting"
        assert page.locator('meta[http-equiv="refresh" i]').count() == 1
        assert page.locator("#amount").inner_text().strip() == order["amount"]
        assert page.locator("#address").inner_text().strip() == order["address"]
        assert page.locator("#wallet").get_attribute("href") == order["payment_uri"]
        assert decode_qr(screenshot(page, "nojs-waiting")) == [order["payment_uri"]]
        shop.pay(order["address"], order["amount_base"])
        assert wait_for(shop.api, order["id"], "paid")["status"] == "paid"
        page.reload()
        assert page.locator("html").get_attribute("data-status") == "paid"
        assert heading(page).inner_text().strip() == catalogue("en")["status.paid"]
        screenshot(page, "nojs-paid")
    finally:
        context.close()


def test_a_wrong_token_is_a_plain_not_found(shop: Shop, context: BrowserContext) -> None:
    order = shop.order("0.001")
    token = order["checkout_url"].rsplit("/", 1)[1]
    wrong = f"{shop.inst.base_url}/pay/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}"
    page = context.new_page()
    answer = page.goto(wrong)
    assert answer is not None
    assert answer.status == 404
    assert answer.headers["content-type"].startswith("text/html")
    text = page.locator("body").inner_text()
    assert catalogue("en")["notfound.title"] in text
    assert order["order_id"] not in text
    assert order["address"] not in text


def test_a_multi_option_order_offers_each_coin(shop: Shop, context: BrowserContext) -> None:
    answer = shop.api.post(
        "/v1/orders",
        json={
            "order_id": f"page-{next(shop.names)}",
            "price": {"amount": "9.00", "currency": "EUR"},
            "accept": [{"chain": "eth", "asset": "ETH"}, {"chain": "eth", "asset": "USDC"}],
        },
    )
    assert answer.status_code == 201, answer.text
    order = answer.json()
    options = {f"{o['chain']}:{o['asset']}": o for o in order["options"]}
    assert options["eth:USDC"]["amount"] == "10"  # 9.00 EUR at 0.9 EUR per USDC
    page = open_checkout(context, order["checkout_url"])
    links = page.locator("#options a[data-option]")
    expect(links).to_have_count(2)
    assert sorted(links.evaluate_all("els => els.map(e => e.dataset.option)")) == sorted(options)
    screenshot(page, "multi-option")
    for name in ("eth:USDC", "eth:ETH"):
        page.locator(f'#options a[data-option="{name}"]').click()
        option = shop.view(order)["options"]
        [chosen] = [o for o in option if f"{o['chain']}:{o['asset']}" == name]
        expect(page.locator("#amount")).to_have_text(chosen["amount"], timeout=WAIT_MS)
        expect(page.locator("#asset")).to_have_text(chosen["asset"])
        expect(page.locator("#qr")).to_have_attribute("data-uri", chosen["payment_uri"])
        assert page.locator("#address").inner_text().strip() == chosen["address"]
        assert qr_on_screen(page) == [chosen["payment_uri"]]
        screenshot(page, f"multi-option-{chosen['asset']}")


def test_overpaid_page_says_more_was_sent(shop: Shop, context: BrowserContext) -> None:
    order = shop.order("0.001", confirmations=1)
    page = open_checkout(context, order["checkout_url"])
    expect_status(page, "waiting")
    before = shop.eth.balance(order["address"])
    shop.pay(order["address"], order["amount_base"] + wei("0.0005"))
    expect_status(page, "overpaid")
    expect(heading(page)).to_have_text(catalogue("en")["status.overpaid"])
    expect(page.locator("#wallet")).to_be_hidden()  # nothing more to send
    screenshot(page, "overpaid")
    view = shop.view(order)
    assert (view["status"], view["exception"]) == ("paid", "overpaid")
    assert shop.eth.balance(order["address"]) - before == wei("0.0015")


def test_on_a_phone_nothing_scrolls_sideways(shop: Shop, browser: Browser) -> None:
    order = shop.order("0.0123")
    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        page = open_checkout(phone, order["checkout_url"])
        expect_status(page, "waiting")
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"{wide}px wider than the phone's screen"
        assert page.locator("#address").is_visible()
        assert decode_qr(screenshot(page, "phone")) == [order["payment_uri"]]
    finally:
        phone.close()


def test_keyboard_reaches_the_copy_buttons_and_the_wallet_link(
    shop: Shop, browser: Browser
) -> None:
    order = shop.order("0.0123")
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    try:
        page = open_checkout(context, order["checkout_url"])
        expect_status(page, "waiting")
        reached: list[str] = []
        for _ in range(20):
            page.keyboard.press("Tab")
            reached.append(str(page.evaluate("document.activeElement.id")))
            if reached[-1] == "copy-address":
                page.keyboard.press("Enter")
                expect(page.locator("#copy-address")).to_have_text(catalogue("en")["copy.done"])
                assert page.evaluate("navigator.clipboard.readText()") == order["address"]
            if reached[-1] == "wallet":
                break
        assert [i for i in reached if i] == ["copy-amount", "copy-address", "wallet"], reached
    finally:
        context.close()
