"""The order as the API returns it and webhooks carry it (its shape, and the schema
/openapi.json publishes: daemon.services.order_shape)."""

from __future__ import annotations

from collections.abc import Iterable

from daemon.domain.money import format_amount
from daemon.domain.pricing import format_price
from daemon.services.order_options import OptionRecord
from daemon.services.order_records import OrderRecord, TransferRecord, iso
from daemon.services.order_shape import Money, Option, Order, Payment, PaymentState
from daemon.services.registry import ChainRegistry


class OrderViews:
    URI_CACHE_SIZE = 50_000

    def __init__(self, registry: ChainRegistry, public_url: str) -> None:
        self.registry = registry
        self.checkout_base = f"{public_url}/pay/"
        # An order's URI never changes, and each change to an order renders it again
        # (EIP-55 checksums cost a Keccak hash): remember the recent ones.
        self._uris: dict[tuple[int, str, str], str | None] = {}

    def served_at(self, base_url: str) -> None:
        """Checkout URLs under ``base_url`` (the address the API bound, when
        ``api.public_url`` is not set: a listen port of 0 is known only then)."""
        self.checkout_base = f"{base_url}/pay/"

    def _uri(
        self, seq: int, chain_name: str, symbol: str, address: str | None, amount_base: int
    ) -> str | None:
        if address is None:
            return None
        key = (seq, chain_name, symbol)
        known = self._uris.get(key, "")
        if known != "":
            return known
        chain = self.registry.get(chain_name)
        asset = chain.asset(symbol) if chain else None
        if chain is None or asset is None:
            return None  # the chain was removed from the config since
        uri = chain.payment_uri(address, asset, amount_base)
        if len(self._uris) >= self.URI_CACHE_SIZE:
            self._uris.clear()
        self._uris[key] = uri
        return uri

    def payment_uri(self, order: OrderRecord) -> str | None:
        if order.chain is None or order.asset is None or order.amount_base is None:
            return None
        return self._uri(order.seq, order.chain, order.asset, order.address, order.amount_base)

    def _decimals_of(self, order: OrderRecord, record: TransferRecord) -> int | None:
        """The decimals of the payment's asset when it counts for the order, else None."""
        if order.single:
            return order.decimals if record.asset == order.asset else None
        for option in order.options:
            if (option.chain, option.asset) == (record.chain, record.asset):
                return option.decimals
        return None

    def payment(self, order: OrderRecord, record: TransferRecord) -> Payment:
        t = record.transfer
        decimals = self._decimals_of(order, record)
        counting = order.counting
        state: PaymentState
        if t.removed:
            state = "removed"
        elif counting.confirmed(record) if counting else order.terms.is_confirmed(t):
            state = "confirmed"
        else:
            state = "detected"
        return {
            "chain": record.chain,
            "tx_hash": t.key.tx_hash,
            "index": t.key.index,
            "log_index": t.log_index,
            "asset": record.asset,
            "amount": None if decimals is None else format_amount(t.amount, decimals),
            "amount_base": t.amount,
            "counted": decimals is not None,
            "status": state,
            "confirmations": t.confirmations,
            "block_height": record.block_height,
            "block_hash": record.block_hash,
            "seen_at": iso(t.seen_at),
        }

    def _option(self, order: OrderRecord, option: OptionRecord, currency: str) -> Option:
        if order.single:
            address = order.address
        else:
            found = [a.address for a in order.addresses if a.chain == option.chain]
            address = found[0] if found else None
        return {
            "chain": option.chain,
            "asset": option.asset,
            "amount": format_amount(option.amount_base, option.decimals),
            "amount_base": option.amount_base,
            "address": address,
            "payment_uri": self._uri(
                order.seq, option.chain, option.asset, address, option.amount_base
            ),
            "rate": {
                "value": format(option.rate, "f"),
                "currency": currency,
                "sources": list(option.sources),
                "at": iso(option.rate_at),
            },
        }

    def _options(self, order: OrderRecord) -> list[Option]:
        if order.price_currency is not None:
            return [self._option(order, o, order.price_currency) for o in order.options]
        assert order.chain is not None
        assert order.asset is not None
        assert order.decimals is not None
        assert order.amount_base is not None
        return [
            {
                "chain": order.chain,
                "asset": order.asset,
                "amount": format_amount(order.amount_base, order.decimals),
                "amount_base": order.amount_base,
                "address": order.address,
                "payment_uri": self.payment_uri(order),
                "rate": None,
            }
        ]

    @staticmethod
    def _money(minor: int, currency: str) -> Money:
        return {"amount": format_price(minor, currency), "currency": currency}

    def _received_value(self, order: OrderRecord) -> Money | None:
        if order.price_currency is None or order.price_minor is None:
            return None
        if not order.single:  # kept in minor units already
            return self._money(order.received_base, order.price_currency)
        assert order.amount_base is not None
        # Each base unit received is its share of the price (see daemon.domain.pricing).
        minor = order.received_base * order.price_minor // order.amount_base
        return self._money(minor, order.price_currency)

    def order(self, order: OrderRecord, records: Iterable[TransferRecord]) -> Order:
        d = order.decimals
        single = order.single and d is not None
        price = order.price_minor
        return {
            "id": order.id,
            "order_id": order.order_id,
            "chain": order.chain,
            "asset": order.asset,
            "amount": format_amount(order.amount_base, d)
            if d is not None and order.amount_base is not None
            else None,
            "amount_base": order.amount_base,
            "address": order.address,
            "derivation_index": order.derivation_index,
            "payment_uri": self.payment_uri(order),
            "price": None
            if price is None or order.price_currency is None
            else self._money(price, order.price_currency),
            "options": self._options(order),
            "received_value": self._received_value(order),
            "status": order.status,
            "exception": order.exception,
            "created_at": iso(order.created_at),
            "updated_at": iso(order.updated_at),
            "expires_at": iso(order.expires_at),
            "late_until": iso(order.late_until),
            "confirmations_required": "finalized"
            if order.confirmations_required is None
            else order.confirmations_required,
            "received": format_amount(order.received_base, d) if single and d is not None else None,
            "received_base": order.received_base if single else None,
            "received_confirmed": format_amount(order.received_confirmed_base, d)
            if single and d is not None
            else None,
            "received_confirmed_base": order.received_confirmed_base if single else None,
            "payments": [self.payment(order, r) for r in records],
            "checkout_url": self.checkout_base + order.checkout_token,
            "redirect_url": order.redirect_url,
            "callback_url": order.callback_url,
            "metadata": order.metadata,
        }
