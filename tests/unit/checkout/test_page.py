"""The checkout page as rendered: every state in every language, its size, right to
left, and a template that holds no words of its own."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.resources import files

import pytest

from daemon.checkout.languages import Catalogues
from daemon.checkout.page import Pages
from daemon.checkout.state import CheckoutState, PageStatus, PayOption, Progress

CATALOGUES = Catalogues.load()
PAGES = Pages(CATALOGUES, {"eth": "eth", "ltc": "ltc"})
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
STATUSES: list[PageStatus] = [
    "waiting", "seen", "paid", "expired", "underpaid", "overpaid", "cancelled", "invalid"
]  # fmt: skip
ADDRESS = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
ETH = PayOption(
    "eth", "ETH", 18, 10**16, 10**16, ADDRESS,
    f"ethereum:{ADDRESS}@1?value=1e16", Decimal("3000.00"),
)  # fmt: skip
USDC = PayOption("eth", "USDC", 6, 30_000_000, 30_000_000, ADDRESS, "ethereum:usdc", None)


def state(status: PageStatus, options: tuple[PayOption, ...] = (ETH,)) -> CheckoutState:
    return CheckoutState(
        order_id="A-1",
        status=status,
        options=options,
        expires_at=NOW + timedelta(minutes=14, seconds=5),
        redirect_url="https://shop.example/done",
        price_minor=3000,
        price_currency="EUR",
        received_base=1500 if status == "underpaid" else 0,
        progress=Progress(1, 3) if status == "seen" else None,
        digest="d1g35t",
    )


def render(s: CheckoutState, lang: str = "en", option: str | None = None) -> str:
    return PAGES.render(
        s, CATALOGUES.get(lang), token="T" * 43, option=option, now=NOW, nonce="n0nce"
    )


@pytest.mark.parametrize("lang", CATALOGUES.languages)
@pytest.mark.parametrize("status", STATUSES)
def test_every_state_renders_in_every_language(status: PageStatus, lang: str) -> None:
    html = render(state(status, (ETH, USDC)), lang)
    messages = CATALOGUES.get(lang)
    assert f'<html lang="{lang}" dir="{messages.direction}" data-status="{status}"' in html
    assert f"<h1>{messages('status.' + status)}</h1>" in html
    assert len(html.encode()) < 60 * 1024
    asking = status in ("waiting", "underpaid")
    assert ('id="qr"' in html) is asking  # an address only while money is asked for
    assert ('id="countdown"' in html) is asking
    assert ('id="back"' in html) is (status in ("paid", "overpaid"))


def test_the_waiting_page_shows_what_to_send() -> None:
    html = render(state("waiting"))
    assert '<span id="amount">0.01</span> <span id="asset">ETH</span>' in html
    assert f'<code id="address" dir="ltr">{ADDRESS}</code>' in html
    assert 'data-uri="ethereum:0x9858EfFD232B4033E47d90003D41EC34EcaEda94@1?value=1e16"' in html
    assert '<span id="countdown" role="timer"' in html
    assert ">14:05</span>" in html
    assert "€30.00" in html  # the price, as the language writes it
    assert "1 ETH = €3,000.00" in html


def test_the_price_is_written_the_way_the_language_writes_it() -> None:
    assert "30,00\xa0€" in render(state("waiting"), "de")
    assert "1 ETH = 3.000,00\xa0€" in render(state("waiting"), "de")


def test_underpaid_asks_for_the_rest() -> None:
    rest = dataclasses.replace(ETH, send_base=4 * 10**15)
    html = render(state("underpaid", (rest,)))
    assert '<span id="due"><span id="amount">0.004</span>' in html
    assert "0.0000000000000015 ETH" in html  # what came (base units of the one option)


def test_seen_counts_confirmations() -> None:
    assert "Confirmations: 1 of 3" in render(state("seen"))


def test_a_multi_option_page_offers_each_coin_and_shows_the_chosen_one() -> None:
    html = render(state("waiting", (ETH, USDC)), option="eth:USDC")
    assert 'data-option="eth:ETH" href="?option=eth%3AETH&amp;lang=en"' in html
    assert (
        'data-option="eth:USDC" href="?option=eth%3AUSDC&amp;lang=en" aria-current="true"' in html
    )
    assert '<span id="asset">USDC</span>' in html


def test_the_paid_page_goes_back_to_the_store_without_script_too() -> None:
    html = render(state("paid"))
    assert '<meta http-equiv="refresh" content="5;url=https://shop.example/done">' in html
    assert 'id="back" class="primary" href="https://shop.example/done"' in html


def test_markup_in_data_is_escaped() -> None:
    evil = dataclasses.replace(state("waiting"), order_id="<script>x</script>")
    html = render(evil)
    assert "<script>x" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert '<p class="reference">Order <bdi>&lt;script&gt;x&lt;/script&gt;</bdi></p>' in html


def test_the_order_reference_is_isolated_in_a_right_to_left_sentence() -> None:
    html = render(state("waiting"), "ar")
    assert "<bdi>A-1</bdi>" in html


def test_the_template_holds_no_words_of_its_own() -> None:
    """Every text the page shows comes from a catalogue: strip the template's tags and
    expressions and no letter is left."""
    folder = files("daemon.checkout").joinpath("templates")
    for name in ("page.html", "missing.html"):
        text = folder.joinpath(name).read_text()
        text = re.sub(r"<style.*?</style>|<script.*?</script>", "", text, flags=re.S)
        text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}|<[^>]*>", "", text, flags=re.S)
        assert not re.search(r"[^\W\d_]", text), (name, text.strip())


def test_an_option_without_a_payment_uri_shows_no_qr_code() -> None:
    """The order's chain was removed from the config since: address and amount still
    show, no QR code or wallet link of nothing."""
    gone = dataclasses.replace(ETH, uri=None)
    html = render(state("waiting", (gone,)))
    assert f'<code id="address" dir="ltr">{ADDRESS}</code>' in html
    assert 'id="qr"' not in html
    assert 'id="wallet"' not in html
    assert "None" not in html


def test_seen_with_nothing_left_to_confirm_shows_no_raw_placeholder() -> None:
    html = render(dataclasses.replace(state("seen"), progress=None))
    assert "{count}" not in html
    assert '<p id="detail"></p>' in html
