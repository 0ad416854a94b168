"""The checkout page (`GET /pay/{token}`) in Debian's real headless Chromium, served by
`paywatch run` watching a real anvil: what the page asks for is what the API's order asks
for and what the chain then holds, the QR code read back from a screenshot is the order's
payment URI, a real payment turns the page seen then paid in place (Server-Sent Events,
no reload) with no request to another host, then to the store's page if the order names
one; expiry, a short payment with its own QR code for the rest, an overpayment, a wrong
token, a two-coin order. Languages, accessibility, no JavaScript and phones:
test_checkout_access.py.

Each state's screenshot is left in test-artifacts/checkout/ for a person to look at.
"""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, expect

from tests.e2e import checkout_shop
from tests.e2e.checkout_shop import (
    CONFIRMATIONS,
    WAIT_MS,
    Shop,
    catalogue,
    csp_refusals,
    expect_status,
    heading,
    open_checkout,
    qr_on_screen,
    uri_parts,
    wei,
)
from tests.support.browser import (
    RequestLog,
    decode_qr,
    screenshot,
    static_site,
)

pytestmark = checkout_shop.MARKS

# The shared fixtures, by the names the tests ask for.
eth, shop, browser, context = (
    checkout_shop.eth,
    checkout_shop.shop,
    checkout_shop.browser,
    checkout_shop.context,
)


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
    assert refused == [], refused


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
