"""What the checkout page shows of an order: its page status, what to send where, how
far the payment is, and a digest that changes whenever any of that does.

The page status is the order's status and exception as a customer needs them:

- ``waiting``: nothing received yet (pending);
- ``underpaid``: part received, the rest still due, and still time to send it;
- ``seen``: the full amount seen in time, waiting for confirmations (processing);
- ``paid`` / ``overpaid``: paid (overpaid: more than the amount due);
- ``expired``, ``cancelled``, ``invalid``: nothing more to send.

What to send is the option's amount, or while underpaid what is still due: the amount
due less what was received (an order with several options: the price's unpaid share,
in each option's asset at its locked rate, rounded up to the base unit, so paying it
in any one of them completes the order).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from daemon.domain.pricing import rest_due
from daemon.domain.states import OrderException, OrderStatus
from daemon.services.order_records import OrderRecord, TransferRecord
from daemon.services.registry import ChainRegistry

PageStatus = Literal[
    "waiting", "seen", "paid", "expired", "underpaid", "overpaid", "cancelled", "invalid"
]
OPEN_PAGE = frozenset({"waiting", "underpaid"})  # the page asks for money


def page_status(status: OrderStatus, exception: OrderException) -> PageStatus:
    if status is OrderStatus.PAID:
        return "overpaid" if exception is OrderException.OVERPAID else "paid"
    if status is OrderStatus.PROCESSING:
        return "seen"
    if status is OrderStatus.PENDING:
        return "underpaid" if exception is OrderException.UNDERPAID else "waiting"
    if status is OrderStatus.EXPIRED:
        return "expired"
    if status is OrderStatus.CANCELLED:
        return "cancelled"
    return "invalid"


@dataclass(frozen=True, slots=True)
class PayOption:
    chain: str
    asset: str
    decimals: int
    amount_base: int  # the option's amount due
    send_base: int  # what to send now (the rest, while underpaid)
    address: str | None  # None until picked (orders.addresses: lazy)
    uri: str | None  # of send_base to address
    rate: Decimal | None

    @property
    def key(self) -> str:
        return f"{self.chain}:{self.asset}"


@dataclass(frozen=True, slots=True)
class Progress:
    """The least confirmed of the counted payments still waiting for confirmations;
    ``required`` None: the chain's finalized tag."""

    count: int
    required: int | None


@dataclass(frozen=True, slots=True)
class CheckoutState:
    order_id: str  # the store's reference
    status: PageStatus
    options: tuple[PayOption, ...]
    expires_at: datetime
    redirect_url: str | None
    price_minor: int | None
    price_currency: str | None
    received_base: int  # one option: base units; several: minor units of the price
    progress: Progress | None
    digest: str

    def option(self, key: str | None) -> PayOption | None:
        """The option a customer chose (``chain:ASSET``); by default the only one, or
        the first that has an address."""
        if key is not None:
            chain, _, asset = key.partition(":")
            for option in self.options:
                if (option.chain, option.asset) == (chain, asset.upper()):
                    return option
        if len(self.options) == 1:
            return self.options[0]
        return next((o for o in self.options if o.address is not None), None)


def digest(
    status: str,
    exception: str,
    received: int,
    received_confirmed: int,
    transfers: int,
    confirmations: int,
    removed: int,
    addresses: int,
) -> str:
    """Changes whenever anything the page shows does (also read by the event streams
    from the tables directly: :mod:`daemon.checkout.streams`)."""
    text = f"{status}|{exception}|{received}|{received_confirmed}|{transfers}|{confirmations}"
    text += f"|{removed}|{addresses}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def checkout_state(
    registry: ChainRegistry, order: OrderRecord, records: Sequence[TransferRecord]
) -> CheckoutState:
    status = page_status(order.status, order.exception)
    return CheckoutState(
        order_id=order.order_id,
        status=status,
        options=tuple(_options(registry, order, records, underpaid=status == "underpaid")),
        expires_at=order.expires_at,
        redirect_url=order.redirect_url,
        price_minor=order.price_minor,
        price_currency=order.price_currency,
        received_base=order.received_base,
        progress=_progress(order, records) if status == "seen" else None,
        digest=digest(
            str(order.status),
            str(order.exception),
            order.received_base,
            order.received_confirmed_base,
            len(records),
            sum(r.transfer.confirmations for r in records),
            sum(r.transfer.removed for r in records),
            len(order.addresses),
        ),
    )


def _options(
    registry: ChainRegistry, order: OrderRecord, records: Sequence[TransferRecord], underpaid: bool
) -> list[PayOption]:
    counting = order.counting
    chosen: list[tuple[str, str, int, int, Decimal | None, int]] = []
    if counting is None:  # one option: the order's own
        assert order.chain is not None
        assert order.asset is not None
        assert order.decimals is not None
        assert order.amount_base is not None
        send = order.amount_base - order.received_base if underpaid else order.amount_base
        rate = order.options[0].rate if order.options else None  # priced in fiat: locked
        chosen.append((order.chain, order.asset, order.decimals, order.amount_base, rate, send))
        address = {order.chain: order.address}
    else:
        live = [r for r in records if counting.counts(r) and not r.transfer.removed]
        got = sum(counting.counted(r).amount for r in live) if underpaid else 0
        left = max(counting.unit - got, 0)  # in the common unit of the options' dues
        for o in order.options:
            send = rest_due(left, o.amount_base, counting.unit)
            chosen.append((o.chain, o.asset, o.decimals, o.amount_base, o.rate, send))
        address = {a.chain: a.address for a in order.addresses}
    found: list[PayOption] = []
    for chain_name, symbol, decimals, amount, rate, send in chosen:
        to = address.get(chain_name)
        chain = registry.get(chain_name)
        asset = chain.asset(symbol) if chain is not None else None
        uri = None
        if to is not None and chain is not None and asset is not None:
            uri = chain.payment_uri(to, asset, send)
        found.append(PayOption(chain_name, symbol, decimals, amount, send, to, uri, rate))
    return found


def _progress(order: OrderRecord, records: Sequence[TransferRecord]) -> Progress | None:
    counting = order.counting
    waiting: list[Progress] = []
    for record in records:
        t = record.transfer
        if t.removed or t.finalized:
            continue
        if counting is None:
            if record.asset != order.asset or order.terms.is_confirmed(t):
                continue
            required = order.confirmations_required
        else:
            if not counting.counts(record) or counting.confirmed(record):
                continue
            required = counting.depth.get(record.chain)
        waiting.append(Progress(t.confirmations, required))
    return min(waiting, key=lambda p: p.count) if waiting else None
