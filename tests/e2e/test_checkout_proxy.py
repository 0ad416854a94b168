"""The checkout page behind a real nginx running the sample we ship
(deploy/nginx/paywatch-checkout.conf), under a path prefix: `paywatch run` on anvil with
``api.public_url: http://127.0.0.1:<nginx>/paywatch``, Debian's headless Chromium talking
to nginx only.

- the order's checkout_url is under the prefix, and every request the page makes stays
  on nginx's origin under /paywatch/ (none to paywatch's own port);
- a real payment turns the page seen then paid over Server-Sent Events through nginx,
  unbuffered: the status changes while the events request stays open and no /status
  poll is made; the raw stream through nginx carries the heartbeat and the change;
- a two-coin fiat order with lazy addresses: the coin's form posts through nginx and its
  relative 303 lands back on the page under the prefix, with the address the API gave;
- forwarded headers: with ``trusted_proxies: [127.0.0.1/32]`` the rate limit counts the
  address nginx appends for each client (a client's own X-Forwarded-For hops to the left
  and its own Forwarded header change nothing); with ``trusted_proxies: []`` they are
  ignored and everyone behind nginx shares one allowance.

Screenshots: test-artifacts/checkout/proxy-*.png.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Request, expect

from tests.e2e import checkout_shop
from tests.e2e.checkout_shop import (
    CONFIRMATIONS,
    catalogue,
    csp_refusals,
    expect_status,
    heading,
    open_checkout,
    wei,
)
from tests.e2e.proxied_shop import (
    ProxiedShop,
    assert_all_under_prefix,
    proxied,
    sse_events,
    token_of,
)
from tests.support.anvil import ACCOUNTS, Anvil, anvil_available, load_artifact
from tests.support.browser import RequestLog, chromium_available, screenshot
from tests.support.nginx import nginx_available

pytestmark = [
    pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup"),
    pytest.mark.skipif(not chromium_available(), reason="chromium missing: ./dev setup"),
    pytest.mark.skipif(not nginx_available(), reason="nginx missing: ./dev setup"),
]

eth, browser, context = checkout_shop.eth, checkout_shop.browser, checkout_shop.context

LIMIT = 3  # api.checkout_streams_per_minute for the forwarded-header tests
REFILL_SECONDS = 60 / LIMIT  # one more request allowed per client after this long


@pytest.fixture(scope="module")
def usdc(eth: Anvil) -> str:
    return str(eth.deploy(load_artifact("TestToken")))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, eth: Anvil, usdc: str) -> Iterator[ProxiedShop]:
    with proxied(
        tmp_path_factory.mktemp("proxy"), eth, usdc, "trusted_proxies: [127.0.0.1/32]"
    ) as made:
        yield made


def test_the_page_opens_through_nginx_under_the_prefix(
    shop: ProxiedShop, context: BrowserContext
) -> None:
    order = shop.create(chain="eth", asset="ETH", amount="0.0123")
    assert order["checkout_url"] == f"{shop.public}/pay/{token_of(order)}"
    log = RequestLog.attach(context)
    refused = csp_refusals(context)
    page = open_checkout(context, order["checkout_url"])
    expect_status(page, "waiting")
    assert page.locator("#amount").inner_text().strip() == order["amount"] == "0.0123"
    assert page.locator("#asset").inner_text().strip() == "ETH"
    assert page.locator("#address").inner_text().strip() == order["address"]
    expect(page.locator("#qr")).to_have_attribute("data-uri", order["payment_uri"])
    page.wait_for_load_state("networkidle")
    screenshot(page, "proxy-waiting")
    assert f"{shop.public}/pay/{token_of(order)}/events" in log.urls, log.urls
    assert_all_under_prefix(log, shop)
    assert refused == [], refused


def test_a_payment_turns_the_page_paid_live_through_nginx(
    shop: ProxiedShop, context: BrowserContext
) -> None:
    order = shop.create(chain="eth", asset="ETH", amount="0.0417")
    events = f"{shop.public}/pay/{token_of(order)}/events"
    log = RequestLog.attach(context)
    ended: list[str] = []  # requests that finished or failed (an open stream does neither)

    def on_end(request: Request) -> None:
        ended.append(request.url)

    context.on("requestfinished", on_end)
    context.on("requestfailed", on_end)
    page = open_checkout(context, order["checkout_url"])
    expect_status(page, "waiting")
    page.evaluate("window.__marker = 1")
    address = page.locator("#address").inner_text().strip()
    amount = page.locator("#amount").inner_text().strip()
    before = shop.eth.balance(address)
    shop.eth.send(address, wei(amount), sender=ACCOUNTS[2])

    expect_status(page, "seen")
    screenshot(page, "proxy-seen")
    shop.eth.mine(CONFIRMATIONS - 1)
    expect_status(page, "paid")
    expect(heading(page)).to_have_text(catalogue("en")["status.paid"])
    screenshot(page, "proxy-paid")

    assert page.evaluate("window.__marker") == 1, "the page reloaded instead of updating"
    # The news came over the one event stream, still open through nginx: never ended,
    # never reopened, and no poll of /status (the page's fallback when streams fail).
    assert log.urls.count(events) == 1, log.urls
    assert events not in ended, ended
    assert not [url for url in log.urls if "/status" in url], log.urls
    assert_all_under_prefix(log, shop)
    # The chain's truth: the address got exactly what the page asked for.
    assert shop.eth.balance(address) - before == wei(amount) == order["amount_base"]
    assert shop.view(order)["status"] == "paid"


def test_the_event_stream_passes_nginx_unbuffered(shop: ProxiedShop) -> None:
    """The raw stream through nginx: the first state, the 15 s heartbeat, then a payment's
    change, each read while the response is still open."""
    order = shop.create(chain="eth", asset="ETH", amount="0.003", confirmations=1)
    url = f"{shop.public}/pay/{token_of(order)}/events"
    timeout = httpx.Timeout(10, read=40)  # above the heartbeat's 15 s: only a stall fails
    with httpx.stream("GET", url, timeout=timeout) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert answer.headers["cache-control"] == "no-store"
        stream = sse_events(answer.iter_lines())
        kind, data = next(stream)
        assert kind == "state"
        first = json.loads(data)
        assert first["status"] == "waiting"
        assert next(stream) == ("comment", "ping")  # nothing else happens before it
        shop.eth.send(order["address"], order["amount_base"], sender=ACCOUNTS[2])
        for kind, data in stream:
            if kind == "state" and json.loads(data)["digest"] != first["digest"]:
                break
    assert shop.view(order)["status"] in ("paid", "seen")


def test_choosing_a_coin_posts_through_nginx_and_lands_under_the_prefix(
    shop: ProxiedShop, context: BrowserContext
) -> None:
    order = shop.create(
        price={"amount": "9.20", "currency": "EUR"},
        accept=[{"chain": "eth", "asset": "ETH"}, {"chain": "eth", "asset": "USDC"}],
    )
    options = {f"{o['chain']}:{o['asset']}": o for o in order["options"]}
    assert options["eth:USDC"]["amount"] == "10"  # 9.20 EUR at 0.92 EUR per USDC
    assert all(o["address"] is None for o in order["options"]), order  # lazy: none yet
    token = token_of(order)
    log = RequestLog.attach(context)
    page = open_checkout(context, order["checkout_url"])
    expect(page.locator("#options a[data-option]")).to_have_count(2)
    page.locator('#options a[data-option="eth:USDC"]').click()
    page.wait_for_url(f"{shop.public}/pay/{token}?option=eth%3AUSDC&lang=en")
    button = page.locator("form button[type=submit]")
    expect(button).to_be_visible()
    screenshot(page, "proxy-choose")
    with page.expect_response(f"{shop.public}/pay/{token}/pick?lang=en") as posted:
        button.click()
    assert posted.value.status == 303
    assert posted.value.headers["location"] == f"../{token}?option=eth:USDC&lang=en"
    page.wait_for_url(f"{shop.public}/pay/{token}?option=eth:USDC&lang=en")
    [chosen] = [o for o in shop.view(order)["options"] if o["asset"] == "USDC"]
    assert chosen["address"], chosen
    expect(page.locator("#address")).to_have_text(chosen["address"])
    expect(page.locator("#amount")).to_have_text("10")
    expect(page.locator("#asset")).to_have_text("USDC")
    expect(page.locator("#qr")).to_have_attribute("data-uri", chosen["payment_uri"])
    screenshot(page, "proxy-chosen")
    page.locator('a[hreflang="de"]').click()  # the language links are relative too
    page.wait_for_url(f"{shop.public}/pay/{token}?lang=de&option=eth%3AUSDC")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#address")).to_have_text(chosen["address"])
    assert f"{shop.public}/pay/{token}/pick?lang=en" in log.urls, log.urls
    assert_all_under_prefix(log, shop)


# -- forwarded headers: who the rate limit counts ---------------------------------------


def polls(shop: ProxiedShop, token: str, headers: list[dict[str, str]]) -> list[int]:
    """The status codes of ``/status`` polls through nginx, one per header set, in order."""
    url = f"{shop.public}/pay/{token}/status"
    codes = []
    with httpx.Client(timeout=10) as client:
        for extra in headers:
            answer = client.get(url, headers=extra)
            if answer.status_code == 429:
                assert answer.json()["error"]["code"] == "rate_limited", answer.text
            else:
                assert answer.json()["status"] == "waiting", answer.text
            codes.append(answer.status_code)
    return codes


@pytest.fixture
def limited(
    request: pytest.FixtureRequest, tmp_path: Path, eth: Anvil, usdc: str
) -> Iterator[ProxiedShop]:
    trusted: str = request.param
    api = f"trusted_proxies: {trusted}, checkout_streams_per_minute: {LIMIT}"
    with proxied(tmp_path, eth, usdc, api) as made:
        yield made


@pytest.mark.parametrize("limited", ["[127.0.0.1/32]"], indirect=True)
def test_a_trusted_nginx_makes_each_client_count_alone(limited: ProxiedShop) -> None:
    token = token_of(limited.create(chain="eth", asset="ETH", amount="0.001"))
    a, b = "203.0.113.7", "198.51.100.9"
    began = time.monotonic()
    # Each client's own address, as nginx appends it: its own allowance of LIMIT.
    assert polls(limited, token, [{"X-Forwarded-For": a}] * 4) == [200, 200, 200, 429]
    assert polls(limited, token, [{"X-Forwarded-For": b}] * 4) == [200, 200, 200, 429]
    # What a client writes to the left of its address, or in a Forwarded header (which
    # the sample clears), changes nothing: still a's (spent) allowance.
    claimed = [{"X-Forwarded-For": f"10.0.0.{n}, {a}"} for n in range(3)]
    forwarded = [{"X-Forwarded-For": a, "Forwarded": f"for=192.0.2.{n}"} for n in range(3)]
    tricks = claimed + forwarded
    assert polls(limited, token, tricks) == [429] * 6
    # No header at all: nginx's peer, 127.0.0.1 (trusted), is all there is: the proxy's
    # own allowance, untouched so far.
    assert polls(limited, token, [{}] * 4) == [200, 200, 200, 429]
    assert time.monotonic() - began < REFILL_SECONDS / 2, "too slow: allowances refilled"


@pytest.mark.parametrize("limited", ["[]"], indirect=True)
def test_an_untrusted_nginx_makes_everyone_share_one_allowance(limited: ProxiedShop) -> None:
    token = token_of(limited.create(chain="eth", asset="ETH", amount="0.001"))
    began = time.monotonic()
    clients = [{"X-Forwarded-For": f"203.0.113.{n}"} for n in range(1, 5)]
    clients += [{"Forwarded": "for=198.51.100.1"}, {}]
    assert polls(limited, token, clients) == [200, 200, 200, 429, 429, 429]
    assert time.monotonic() - began < REFILL_SECONDS / 2, "too slow: allowances refilled"
