"""tests/support/browser.py against pages of its own, in Debian's real headless Chromium:
a page loads, its QR code is read back from a screenshot, a request to another host is
caught, and axe-core finds an unlabelled input even behind a strict CSP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import segno
from playwright.sync_api import Browser

from tests.support.browser import (
    RequestLog,
    StaticSite,
    axe_violations,
    chromium,
    chromium_available,
    decode_qr,
    describe,
    origin_of,
    scan_context,
    screenshot,
    static_site,
)

pytestmark = pytest.mark.skipif(not chromium_available(), reason="chromium missing: ./dev setup")

QR_TEXT = "ethereum:0x70997970c51812dc3a010c7d01b50e44ed4c6ce0@31337?value=1.23e16"
STRAY = "http://10.255.255.1/x.png"  # unroutable here: the request fails, which is fine
DOT = "data:image/gif;base64,R0lGODlhAQABAAAAACw="  # a data: URL never leaves the page
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'"


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><main><h1>{title}</h1>{body}</main></body></html>"
    )


PAGES = {
    "/": page(
        "Pay",
        f'<figure id="qr">{segno.make(QR_TEXT, error="m").svg_inline(scale=6)}</figure>'
        f'<img src="{DOT}" alt=""><button type="button" id="copy">Copy address</button>',
    ),
    "/leak.html": page("Leak", f'<img src="{STRAY}" alt="leak">'),
    "/form.html": page("Form", '<form><input type="text" name="email"></form>'),
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site() -> Iterator[StaticSite]:
    with static_site(PAGES, headers={"Content-Security-Policy": CSP}) as served:
        yield served


def test_page_loads_and_its_qr_code_reads_back_from_a_screenshot(
    browser: Browser, site: StaticSite
) -> None:
    context = browser.new_context()
    try:
        log = RequestLog.attach(context)
        tab = context.new_page()
        answer = tab.goto(site.url("/"))
        assert answer is not None
        assert answer.status == 200
        assert tab.title() == "Pay"
        assert tab.locator("#copy").is_visible()
        path = screenshot(tab, "self-test")
        assert path.exists()
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert decode_qr(path) == [QR_TEXT]
        assert decode_qr(tab.locator("#qr").screenshot()) == [QR_TEXT]
        log.assert_only(site.origin)
    finally:
        context.close()


def test_request_log_catches_a_request_to_another_host(browser: Browser, site: StaticSite) -> None:
    context = browser.new_context()
    try:
        log = RequestLog.attach(context)
        tab = context.new_page()
        with tab.expect_request(STRAY):
            tab.goto(site.url("/leak.html"), wait_until="domcontentloaded")
        assert log.off_origin(site.origin) == [STRAY]
        with pytest.raises(AssertionError, match=r"10\.255\.255\.1"):
            log.assert_only(site.origin)
    finally:
        context.close()


def test_origin_of_writes_the_port() -> None:
    assert origin_of("http://127.0.0.1/pay/x") == "http://127.0.0.1:80"
    assert origin_of("https://pay.example/x?y") == "https://pay.example:443"
    assert origin_of("blob:http://127.0.0.1:8080/5c1e") == "http://127.0.0.1:8080"
    assert origin_of("http://127.0.0.1:8080") == origin_of("http://127.0.0.1:8080/pay/t")


def test_axe_finds_the_unlabelled_input_behind_a_strict_csp(
    browser: Browser, site: StaticSite
) -> None:
    context = scan_context(browser)
    try:
        tab = context.new_page()
        tab.goto(site.url("/"))
        clean = axe_violations(tab)
        assert clean == [], describe(clean)
        tab.goto(site.url("/form.html"))
        found = axe_violations(tab)
        assert [v["id"] for v in found] == ["label"], describe(found)
        [label] = found
        assert label["impact"] == "critical"
        assert label["targets"] == ["input"]
        assert axe_violations(tab, impacts=("minor",)) == []
    finally:
        context.close()


def test_axe_without_the_csp_bypass_says_so(browser: Browser, site: StaticSite) -> None:
    context = browser.new_context()
    try:
        tab = context.new_page()
        tab.goto(site.url("/form.html"))
        with pytest.raises(RuntimeError, match="scan_context"):
            axe_violations(tab)
    finally:
        context.close()
