"""What a new order asks for, checked: a crypto amount on one chain, or a fiat price
and the options it may be paid in (quoted by daemon.services.priced_orders)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from daemon.domain.money import AmountError, parse_amount, parse_base_units
from daemon.services.errors import InvalidRequest
from daemon.services.priced_orders import Plan, PricedOrders
from daemon.services.registry import Asset, ChainInfo, ChainRegistry


@dataclass(frozen=True, slots=True)
class NewOrder:
    order_id: str
    chain: str | None = None
    asset: str | None = None
    amount: str | None = None
    amount_base: str | None = None
    expires_in: timedelta | None = None
    confirmations: int | str | None = None
    callback_url: str | None = None
    metadata: dict[str, Any] | None = None
    price: tuple[str, str] | None = None  # (amount, currency): priced in fiat
    accept: tuple[tuple[str, str], ...] | None = None  # (chain, asset) options
    redirect_url: str | None = None  # where the checkout page sends the customer once paid

    def fingerprint(self) -> str:
        """A digest of the request, to tell a replay from a reused Idempotency-Key."""
        body = {k: getattr(self, k) for k in self.__slots__}
        if body["redirect_url"] is None:  # as digested before it existed
            del body["redirect_url"]
        body["expires_in"] = self.expires_in.total_seconds() if self.expires_in else None
        text = json.dumps(body, sort_keys=True, default=str, ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()


class OrderRequests:
    def __init__(self, registry: ChainRegistry, priced: PricedOrders) -> None:
        self.registry = registry
        self.priced = priced

    def plan(self, request: NewOrder) -> Plan | None:
        """The options of an order priced in fiat, quoted now (None: priced in crypto)."""
        if request.price is None:
            if request.accept is not None:
                raise InvalidRequest("invalid_accept", "accept: only with a price")
            return None
        if request.amount is not None or request.amount_base is not None:
            raise InvalidRequest("invalid_amount", "give price or amount (amount_base), not both")
        if request.accept is not None and (request.chain or request.asset):
            raise InvalidRequest("invalid_accept", "give accept or chain and asset, not both")
        if (request.chain is None) != (request.asset is None):
            raise InvalidRequest("invalid_option", "give chain and asset together")
        wanted = request.accept
        if request.chain is not None and request.asset is not None:
            wanted = ((request.chain, request.asset),)
        return self.priced.plan(request.price, wanted, request.confirmations)

    def crypto(self, request: NewOrder) -> tuple[ChainInfo, Asset, int, int | None]:
        if request.chain is None or request.asset is None:
            raise InvalidRequest("invalid_option", "give chain and asset (or a price)")
        chain = self.chain(request.chain)
        asset = chain.asset(request.asset)
        if asset is None:
            known = ", ".join(a.symbol for a in chain.assets)
            raise InvalidRequest(
                "unknown_asset",
                f"asset {request.asset!r} is not configured on {chain.name} ({known})",
            )
        amount = amount_of(request, asset.decimals)
        return chain, asset, amount, confirmations_for(chain, request.confirmations)

    def chain(self, name: str) -> ChainInfo:
        chain = self.registry.get(name)
        if chain is None:
            known = ", ".join(self.registry.names()) or "none configured"
            raise InvalidRequest("unknown_chain", f"chain {name!r} is not configured ({known})")
        return chain


def amount_of(request: NewOrder, decimals: int) -> int:
    """A crypto-priced order's amount in base units."""
    if (request.amount is None) == (request.amount_base is None):
        raise InvalidRequest("invalid_amount", "give exactly one of amount or amount_base")
    try:
        if request.amount is not None:
            return parse_amount(request.amount, decimals)
        assert request.amount_base is not None
        return parse_base_units(request.amount_base)
    except AmountError as exc:
        field = "amount" if request.amount is not None else "amount_base"
        raise InvalidRequest("invalid_amount", f"{field}: {exc}") from None


def confirmations_for(chain: ChainInfo, wanted: int | str | None) -> int | None:
    """The depth an order asks for on ``chain`` (None: the finalized tag)."""
    if wanted is None:
        return chain.default_confirmations
    if wanted == "finalized":
        if not chain.finalizes:
            raise InvalidRequest(
                "invalid_confirmations",
                f'confirmations: "finalized" is for chains whose node reports finalized '
                f"blocks; {chain.name} takes a depth",
            )
        return None
    if isinstance(wanted, int) and not isinstance(wanted, bool) and 0 <= wanted <= 10000:
        return wanted
    raise InvalidRequest(
        "invalid_confirmations", 'confirmations: a depth from 0 to 10000, or "finalized"'
    )
