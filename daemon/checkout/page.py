"""The checkout page as HTML: one response, everything inline, nothing from elsewhere.

Its style and script are inline with a fresh nonce per response, the QR code is inline
SVG, and the Content-Security-Policy allows nothing else: no other host, no eval, no
inline script or style without the nonce, no framing, forms only to paywatch itself.
Links are relative (``{token}/events``), so the page works under any path prefix a
reverse proxy puts it behind.
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime
from decimal import Decimal

import segno
from babel.numbers import format_currency
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from daemon.checkout.languages import Catalogues, Messages
from daemon.checkout.state import OPEN_PAGE, CheckoutState, PayOption
from daemon.domain.money import format_amount
from daemon.domain.pricing import format_price

NOJS_REFRESH_SECONDS = 10  # without JavaScript the page reloads itself this often
LEAVE_AFTER_SECONDS = 5  # a paid page goes back to the store after this (without JS)


def security_headers(nonce: str) -> dict[str, str]:
    policy = (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",  # the token is in the URL
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Vary": "Accept-Language",
    }


@functools.lru_cache(maxsize=2048)
def _qr_svg(uri: str) -> str:
    return str(
        segno.make(uri, error="m", micro=False).svg_inline(scale=4, light="#fff", omitsize=True)
    )


def qr_markup(uri: str, label: str) -> Markup:
    """The payment URI's QR code as inline SVG, named for screen readers."""
    svg = _qr_svg(uri).replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    return Markup(svg)  # noqa: S704 - segno's own markup, the label escaped


class Pages:
    def __init__(self, catalogues: Catalogues, chain_names: dict[str, str]) -> None:
        self.catalogues = catalogues
        self.chain_names = chain_names
        self.languages = [
            (lang, catalogues.get(lang)("language.name")) for lang in catalogues.languages
        ]
        env = Environment(
            loader=PackageLoader("daemon.checkout", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.page = env.get_template("page.html")
        self.missing = env.get_template("missing.html")

    def render(
        self,
        state: CheckoutState,
        t: Messages,
        *,
        token: str,
        option: str | None,
        now: datetime,
        nonce: str,
    ) -> str:
        asking = state.status in OPEN_PAGE
        chosen = state.option(option)
        left = max(int((state.expires_at - now).total_seconds()), 0)
        return self.page.render(
            t=t,
            state=state,
            token=token,
            nonce=nonce,
            asking=asking,
            chosen=chosen,
            live=state.status not in ("cancelled",),
            nojs_refresh=NOJS_REFRESH_SECONDS,
            leave_after=LEAVE_AFTER_SECONDS
            if state.status == "paid" and state.redirect_url
            else None,
            now_ms=int(now.timestamp() * 1000),
            expires_ms=int(state.expires_at.timestamp() * 1000),
            left=f"{left // 60:02d}:{left % 60:02d}",
            price=self._price(state, t),
            received=self._received(state, t),
            send_amount=_amount(chosen),
            rate=self._rate(state, chosen, t),
            qr=self._qr(chosen, t),
            chain_names=self.chain_names,
            languages=self.languages,
        )

    def render_missing(self, t: Messages, nonce: str) -> str:
        return self.missing.render(t=t, nonce=nonce)

    @staticmethod
    def _price(state: CheckoutState, t: Messages) -> str | None:
        if state.price_minor is None or state.price_currency is None:
            return None
        return _fiat(state.price_minor, state.price_currency, t)

    @staticmethod
    def _received(state: CheckoutState, t: Messages) -> str | None:
        if state.status != "underpaid":
            return None
        if state.price_currency is not None and len(state.options) > 1:
            return _fiat(state.received_base, state.price_currency, t)  # in minor units
        one = state.options[0]
        return f"{format_amount(state.received_base, one.decimals)} {one.asset}"

    @staticmethod
    def _rate(state: CheckoutState, chosen: PayOption | None, t: Messages) -> str | None:
        if chosen is None or chosen.rate is None or state.price_currency is None:
            return None
        return str(format_currency(chosen.rate, state.price_currency, locale=t.lang))

    @staticmethod
    def _qr(chosen: PayOption | None, t: Messages) -> Markup | None:
        if chosen is None or chosen.uri is None:
            return None
        label = t("qr.label", amount=_amount(chosen), asset=chosen.asset)
        return qr_markup(chosen.uri, label)


def _fiat(minor: int, currency: str, t: Messages) -> str:
    """Minor units of a currency as the page's language writes money ("30,00 €")."""
    return str(format_currency(Decimal(format_price(minor, currency)), currency, locale=t.lang))


def _amount(chosen: PayOption | None) -> str:
    return "" if chosen is None else format_amount(chosen.send_base, chosen.decimals)


def new_nonce() -> str:
    return secrets.token_urlsafe(18)
