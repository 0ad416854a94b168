"""The checkout page for every customer, in Debian's real headless Chromium against
`paywatch run` on anvil: German and Arabic (right to left) by ?lang= and Accept-Language,
axe-core finds nothing serious waiting or paid, light or dark, it works without
JavaScript, fits a phone's screen, and the keyboard alone reaches what a customer needs.

Each state's screenshot is left in test-artifacts/checkout/ for a person to look at.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.e2e import checkout_shop
from tests.e2e.checkout_shop import (
    Shop,
    catalogue,
    expect_status,
    heading,
    open_checkout,
    qr_on_screen,
)
from tests.e2e.conftest import wait_for
from tests.support.browser import (
    axe_violations,
    decode_qr,
    describe,
    scan_context,
    screenshot,
)

pytestmark = checkout_shop.MARKS

# The shared fixtures, by the names the tests ask for.
eth, shop, browser, context = (
    checkout_shop.eth,
    checkout_shop.shop,
    checkout_shop.browser,
    checkout_shop.context,
)


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
