"""The checkout page's routes over real HTTP, on SQLite and PostgreSQL: the page and
its headers, wrong tokens, the order's checkout_url and redirect_url, live events,
limits, forwarded headers, and the lazy pick form."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from daemon.storage.tables import events, orders
from tests.integration.conftest import ContainerFactory
from tests.support.keys import BTC_ZPUB_FIRST
from tests.support.server import RunningApi, running_api

ORDER = {"order_id": "C-1", "chain": "btc", "asset": "BTC", "amount": "0.015"}
RATES = """
rates:
  sources: []
  currencies: [EUR]
  fixed: {BTC/EUR: "60000", ETH/EUR: "3000", USDC/EUR: "0.92"}
"""


@pytest.fixture
def api(make_container: ContainerFactory) -> Iterator[RunningApi]:
    with running_api(make_container()) as running:
        yield running


def create(api: RunningApi, body: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(f"{api.base_url}/v1/orders", json=body, headers=api.auth)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


def path_of(order: dict[str, Any]) -> str:
    return "/pay/" + str(order["checkout_url"]).rsplit("/", 1)[1]


def test_the_page_of_an_order(api: RunningApi) -> None:
    order = create(api, {**ORDER, "redirect_url": "https://shop.example/thanks?o=C-1"})
    assert re.fullmatch(rf"{api.base_url}/pay/[A-Za-z0-9_-]{{43}}", order["checkout_url"])
    assert order["redirect_url"] == "https://shop.example/thanks?o=C-1"
    page = httpx.get(api.base_url + path_of(order))  # no API key
    assert page.status_code == 200
    html = page.text
    assert 'data-status="waiting"' in html
    assert f'<code id="address" dir="ltr">{BTC_ZPUB_FIRST}</code>' in html
    assert '<span id="amount">0.015</span> <span id="asset">BTC</span>' in html
    uri = order["payment_uri"].replace("&", "&amp;")
    assert f'data-uri="{uri}"' in html
    assert f'id="wallet" class="primary" href="{uri}"' in html
    # Every script and style carries this response's nonce; the policy allows only those.
    policy = page.headers["content-security-policy"]
    [nonce] = re.findall(r"'nonce-([\w-]+)'", policy)[:1]
    assert policy.count(f"'nonce-{nonce}'") == 2
    assert "default-src 'none'" in policy
    assert "unsafe" not in policy
    assert html.count("<script") == html.count(f'<script nonce="{nonce}">') == 1
    assert html.count("<style") == html.count(f'<style nonce="{nonce}">') == 1
    assert " style=" not in html
    assert "http://" not in html.replace(order["payment_uri"], "")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    again = httpx.get(api.base_url + path_of(order))
    assert again.headers["content-security-policy"] != policy  # a fresh nonce each time
    assert httpx.head(api.base_url + path_of(order)).status_code == 200


def test_a_wrong_token_is_a_404_that_says_nothing(api: RunningApi) -> None:
    order = create(api, ORDER)
    token = path_of(order).rsplit("/", 1)[1]
    unknown = "A" * 43 if token != "A" * 43 else "B" * 43
    answers = [
        httpx.get(f"{api.base_url}/pay/{bad}")
        for bad in (
            unknown,
            token[:-1] + "!",
            "x",
            token.upper() if token.upper() != token else "C" * 43,
        )
    ]
    for answer in answers:
        assert answer.status_code == 404
        assert 'data-status="missing"' in answer.text
        assert "C-1" not in answer.text
        assert BTC_ZPUB_FIRST not in answer.text
    bodies = {re.sub(r'nonce="[^"]+"', "", a.text) for a in answers}
    assert len(bodies) == 1  # malformed or unknown: the same page
    for suffix in ("/events", "/status"):
        assert httpx.get(f"{api.base_url}/pay/{unknown}{suffix}").status_code == 404


def test_redirect_url_is_checked_and_nothing_is_made(api: RunningApi) -> None:
    for bad in ("javascript:alert(1)", "/relative", "https://user:pw@shop.example/", "x" * 3000):
        answer = httpx.post(
            f"{api.base_url}/v1/orders",
            json={**ORDER, "redirect_url": bad},
            headers=api.auth,
        )
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["error"]["code"] in ("invalid_redirect_url", "invalid_request")
        assert "redirect_url" in answer.json()["error"]["message"]
    count = api.container.db.read(lambda conn: len(conn.execute(select(orders.c.seq)).all()))
    assert count == 0


def test_webhooks_carry_the_checkout_url(api: RunningApi) -> None:
    order = create(api, ORDER)
    [payload] = api.container.db.read(
        lambda conn: conn.execute(select(events.c.payload)).scalars().all()
    )
    assert f'"checkout_url":"{order["checkout_url"]}"' in payload


def read_events(stream: Iterator[str], into: list[tuple[float, str]]) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the test closes the stream under it
        for line in stream:
            if line.startswith("data: "):
                into.append((time.monotonic(), line[6:]))


def test_a_change_is_pushed_to_the_open_stream_at_commit(
    make_container: ContainerFactory,
) -> None:
    """Cancelling the order pushes its new digest to the page's stream. The periodic
    look is set to a minute here, so what arrives came from the commit's wake-up."""
    container = make_container()
    container.checkout_streams.poll = 60.0
    with running_api(container) as api:
        order = create(api, ORDER)
        got: list[tuple[float, str]] = []
        with httpx.stream("GET", api.base_url + path_of(order) + "/events", timeout=30) as s:
            assert s.headers["content-type"].startswith("text/event-stream")
            reader = threading.Thread(target=read_events, args=(s.iter_lines(), got), daemon=True)
            reader.start()
            deadline = time.monotonic() + 10
            while not got and time.monotonic() < deadline:
                time.sleep(0.02)
            assert '"status":"waiting"' in got[0][1]
            time.sleep(0.3)  # the loop's first round (the new stream's look) is done
            sent = time.monotonic()
            cancelled = httpx.post(
                f"{api.base_url}/v1/orders/{order['id']}/cancel", headers=api.auth
            )
            assert cancelled.status_code == 200
            while len(got) < 2 and time.monotonic() < sent + 10:
                time.sleep(0.01)
            assert len(got) == 2, got
            status = httpx.get(api.base_url + path_of(order) + "/status").json()
            assert status["status"] == "cancelled"
            assert got[1][1] == f'{{"digest":"{status["digest"]}"}}'
            assert got[1][0] - sent < 10  # well before the minute's look
        page = httpx.get(api.base_url + path_of(order))
        assert 'data-status="cancelled"' in page.text
        assert f'data-digest="{status["digest"]}"' in page.text


def test_streams_are_bounded_per_order(make_container: ContainerFactory) -> None:
    container = make_container(api="checkout_streams_per_order: 2")
    with running_api(container) as api:
        order = create(api, ORDER)
        url = api.base_url + path_of(order) + "/events"
        with (
            httpx.stream("GET", url, timeout=30) as one,
            httpx.stream("GET", url, timeout=30) as two,
        ):
            assert one.status_code == two.status_code == 200
            third = httpx.get(url, timeout=10)
            assert third.status_code == 429
            assert third.json()["error"]["code"] == "too_many_streams"
            assert third.headers["retry-after"]
        # Closed streams are counted out again.
        deadline = time.monotonic() + 10
        while container.checkout_streams.open_count and time.monotonic() < deadline:
            time.sleep(0.05)
        with httpx.stream("GET", url, timeout=30) as again:
            assert again.status_code == 200


def polls_allowed(api: RunningApi, path: str, headers: dict[str, str], tries: int) -> int:
    return sum(
        httpx.get(api.base_url + path + "/status", headers=headers).status_code == 200
        for _ in range(tries)
    )


def test_polls_and_streams_are_rate_limited_per_client(make_container: ContainerFactory) -> None:
    """A client address gets checkout_streams_per_minute; X-Forwarded-For from an untrusted
    peer changes nothing."""
    container = make_container(api="checkout_streams_per_minute: 3")
    with running_api(container) as api:
        path = path_of(create(api, ORDER))
        assert polls_allowed(api, path, {}, 5) == 3
        refused = httpx.get(api.base_url + path + "/status")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        assert polls_allowed(api, path, {"X-Forwarded-For": "203.0.113.9"}, 2) == 0
        assert httpx.get(api.base_url + path + "/events").status_code == 429
        assert httpx.get(api.base_url + path).status_code == 200  # the page itself is not


def test_forwarded_headers_count_from_trusted_proxies(make_container: ContainerFactory) -> None:
    container = make_container(
        api="checkout_streams_per_minute: 2, trusted_proxies: [127.0.0.1/32]"
    )
    with running_api(container) as api:
        path = path_of(create(api, ORDER))
        one = {"X-Forwarded-For": "198.51.100.1"}
        two = {"X-Forwarded-For": "203.0.113.5, 198.51.100.2"}  # the proxy's hop is last
        assert polls_allowed(api, path, one, 3) == 2
        assert polls_allowed(api, path, two, 3) == 2
        # A client cannot pick a new address by prepending one: the right-most counts.
        spoof = {"X-Forwarded-For": "192.0.2.77, 198.51.100.1"}
        assert polls_allowed(api, path, spoof, 1) == 0
        # Nor by a Forwarded header of its own: the proxy writes X-Forwarded-For.
        own = {"Forwarded": "for=192.0.2.88", "X-Forwarded-For": "198.51.100.2"}
        assert polls_allowed(api, path, own, 1) == 0


def test_a_proxy_that_writes_forwarded(make_container: ContainerFactory) -> None:
    container = make_container(
        api="checkout_streams_per_minute: 2, trusted_proxies: [127.0.0.1/32],"
        " forwarded_header: forwarded"
    )
    with running_api(container) as api:
        path = path_of(create(api, ORDER))
        rfc = {"Forwarded": 'for="[2001:db8::7]:4711";proto=https'}
        assert polls_allowed(api, path, rfc, 3) == 2
        own = {"X-Forwarded-For": "192.0.2.99", "Forwarded": 'for="[2001:db8::7]"'}
        assert polls_allowed(api, path, own, 1) == 0


def test_a_lazy_option_is_picked_by_the_form(make_container: ContainerFactory) -> None:
    """Lazy addresses: the page asks to choose; the form's POST takes the address (no
    GET takes one: link previews must not use up addresses), then back to the page."""
    container = make_container(extra=f"orders: {{addresses: lazy}}\n{RATES}")
    with running_api(container) as api:
        order = create(
            api,
            {
                "order_id": "C-2",
                "price": {"amount": "30.00", "currency": "EUR"},
                "accept": [{"chain": "eth", "asset": "ETH"}, {"chain": "eth", "asset": "USDC"}],
            },
        )
        page = httpx.get(api.base_url + path_of(order), params={"option": "eth:USDC"})
        assert 'data-option="eth:ETH"' in page.text
        assert 'data-option="eth:USDC"' in page.text
        assert 'id="address"' not in page.text
        assert '<input type="hidden" name="option" value="eth:USDC">' in page.text
        unpicked = httpx.get(f"{api.base_url}/v1/orders/{order['id']}", headers=api.auth).json()
        assert unpicked["options"][1]["address"] is None  # the GET took nothing
        picked = httpx.post(
            api.base_url + path_of(order) + "/pick",
            data={"option": "eth:USDC"},
            params={"lang": "de"},
        )
        assert picked.status_code == 303
        assert picked.headers["location"].endswith("?option=eth:USDC&lang=de")
        after = httpx.get(f"{api.base_url}/v1/orders/{order['id']}", headers=api.auth).json()
        address = after["options"][1]["address"]
        assert address is not None
        shown = httpx.get(api.base_url + path_of(order), params={"option": "eth:USDC"}).text
        assert f'<code id="address" dir="ltr">{address}</code>' in shown
        assert f'<span id="amount">{after["options"][1]["amount"]}</span>' in shown


def test_clients_that_leave_at_once_leave_no_stream_behind(
    make_container: ContainerFactory,
) -> None:
    """Clients that ask for the stream and hang up before its first byte: every slot
    comes back (a stream registered outside its generator would stay counted)."""
    container = make_container(api="checkout_streams_per_order: 2")
    with running_api(container) as api:
        order = create(api, ORDER)
        host, port = api.base_url.removeprefix("http://").split(":")
        request = f"GET {path_of(order)}/events HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        for _ in range(30):
            with socket.create_connection((host, int(port))) as sock:
                sock.sendall(request)
        deadline = time.monotonic() + 20
        while container.checkout_streams.open_count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert container.checkout_streams.open_count == 0
        url = api.base_url + path_of(order) + "/events"
        with (
            httpx.stream("GET", url, timeout=30) as one,
            httpx.stream("GET", url, timeout=30) as two,
        ):
            assert one.status_code == two.status_code == 200


def test_open_streams_and_refusals_are_in_the_metrics(make_container: ContainerFactory) -> None:
    container = make_container(api="checkout_streams_per_order: 1")
    assert container.metrics is not None
    with running_api(container) as api:
        order = create(api, ORDER)
        url = api.base_url + path_of(order) + "/events"
        with httpx.stream("GET", url, timeout=30) as one:
            assert one.status_code == 200
            assert httpx.get(url, timeout=10).status_code == 429
            text, _ = asyncio.run(container.metrics.render(None))
    lines = text.decode().splitlines()
    assert "paywatch_checkout_streams 1.0" in lines
    assert 'paywatch_checkout_refusals_total{reason="too_many_streams"} 1.0' in lines
    assert 'paywatch_checkout_refusals_total{reason="rate_limited"} 0.0' in lines


@pytest.mark.parametrize("db_kind", ["postgresql"], indirect=True)
def test_another_instances_commit_reaches_this_instances_stream(
    make_container: ContainerFactory, make_database_url: Any
) -> None:
    """Two instances on one PostgreSQL: a page streaming from one sees the order
    cancelled through the other, woken by NOTIFY (the periodic look set to a minute)."""
    url = make_database_url()
    here, there = make_container(url=url), make_container(url=url)
    here.checkout_streams.poll = 60.0
    with running_api(here) as a, running_api(there) as b:
        order = create(a, ORDER)
        got: list[tuple[float, str]] = []
        with httpx.stream("GET", a.base_url + path_of(order) + "/events", timeout=30) as s:
            reader = threading.Thread(target=read_events, args=(s.iter_lines(), got), daemon=True)
            reader.start()
            deadline = time.monotonic() + 10
            while not got and time.monotonic() < deadline:
                time.sleep(0.02)
            assert got, "no first event"
            time.sleep(0.3)  # the stream's first look is done
            sent = time.monotonic()
            cancelled = httpx.post(f"{b.base_url}/v1/orders/{order['id']}/cancel", headers=b.auth)
            assert cancelled.status_code == 200
            while len(got) < 2 and time.monotonic() < sent + 15:
                time.sleep(0.01)
            assert len(got) == 2, got
        status = httpx.get(a.base_url + path_of(order) + "/status").json()
        assert status["status"] == "cancelled"
        assert got[1][1] == f'{{"digest":"{status["digest"]}"}}'
        # NOTIFY brings it in milliseconds; without it, only this instance's own next
        # commit (its heartbeat, seconds later) or the minute's look would.
        assert got[1][0] - sent < 2.5


def test_shutdown_ends_the_open_streams_at_once(make_container: ContainerFactory) -> None:
    """SIGTERM's path: the open event streams end (the browser reconnects or polls)
    instead of holding the server until its grace runs out."""
    container = make_container()
    got: list[tuple[float, str]] = []
    ended = threading.Event()

    def follow(url: str) -> None:
        with httpx.stream("GET", url, timeout=30) as s:
            read_events(s.iter_lines(), got)
        ended.set()

    with running_api(container) as api:
        url = api.base_url + path_of(create(api, ORDER)) + "/events"
        reader = threading.Thread(target=follow, args=(url,), daemon=True)
        reader.start()
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
        assert got, "the stream did not start"
        began = time.monotonic()
    stopped = time.monotonic() - began
    assert ended.wait(10)
    assert stopped < 1.5  # the API's grace is 2 s: nothing waited for it


def test_an_oversized_pick_form_is_refused_unread(make_container: ContainerFactory) -> None:
    """The coin form's body is read through the API's bounded reader: past 1 KB it is
    413 and nothing is picked (it was read whole, then ignored)."""
    container = make_container(extra=f"orders: {{addresses: lazy}}\n{RATES}")
    with running_api(container) as api:
        order = create(
            api,
            {
                "order_id": "C-3",
                "price": {"amount": "30.00", "currency": "EUR"},
                "accept": [{"chain": "eth", "asset": "ETH"}, {"chain": "eth", "asset": "USDC"}],
            },
        )
        big = httpx.post(
            api.base_url + path_of(order) + "/pick",
            content=b"option=eth:USDC&pad=" + b"x" * 4096,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert big.status_code == 413
        assert big.json()["error"]["code"] == "payload_too_large"
        after = httpx.get(f"{api.base_url}/v1/orders/{order['id']}", headers=api.auth).json()
        assert after["options"][1]["address"] is None


def test_a_one_option_fiat_order_shows_its_price_and_locked_rate(
    make_container: ContainerFactory,
) -> None:
    container = make_container(extra=RATES)
    with running_api(container) as api:
        order = create(
            api,
            {
                "order_id": "C-4",
                "price": {"amount": "30.00", "currency": "EUR"},
                "chain": "btc",
                "asset": "BTC",
            },
        )
        page = httpx.get(api.base_url + path_of(order)).text
        assert f'<span id="amount">{order["amount"]}</span>' in page
        assert "€30.00" in page
        assert "1 BTC = €60,000.00" in page
