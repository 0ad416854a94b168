"""Orders priced in fiat: each option quoted at creation with its rate locked, the
addresses taken at once or when the customer picks an option.

The order service calls :meth:`PricedOrders.plan` for a request with a ``price``, and
stores the plan's rows in its own transaction (see daemon/services/orders.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import Connection

from daemon.domain.money import AmountError
from daemon.domain.pricing import amount_due, parse_price
from daemon.rates.errors import UnknownCurrency
from daemon.rates.quotes import Quote
from daemon.services.address_allocation import next_address
from daemon.services.errors import InvalidRequest
from daemon.services.order_options import (
    INSERT_ADDRESS,
    INSERT_OPTION,
    AddressRecord,
    OptionRecord,
)
from daemon.services.registry import ChainInfo, ChainRegistry

MAX_OPTIONS = 32


class Quoter(Protocol):
    """The rate book as orders use it (daemon.rates.book.RateBook)."""

    def check_currency(self, currency: str) -> str: ...

    def quote(self, asset: str, currency: str) -> Quote: ...


@dataclass(frozen=True, slots=True)
class Plan:
    price_minor: int
    currency: str
    options: tuple[OptionRecord, ...]
    chains: dict[str, ChainInfo]  # by name, the chains of the options
    depths: dict[str, int | None]  # confirmations required on each chain

    @property
    def single(self) -> bool:
        return len(self.options) == 1


class PricedOrders:
    def __init__(
        self,
        registry: ChainRegistry,
        addresses: Literal["eager", "lazy"],
        depth: Callable[[ChainInfo, int | str | None], int | None],
    ) -> None:
        self.registry = registry
        self.addresses = addresses
        self.depth = depth
        self.quoter: Callable[[], Quoter | None] = lambda: None

    def plan(
        self,
        price: tuple[str, str],
        wanted: Sequence[tuple[str, str]] | None,
        confirmations: int | str | None,
    ) -> Plan:
        """Check the price and the options (422 on anything wrong), then quote each
        option at the rate now (503 ``rates_unavailable`` when one has no rate)."""
        amount, currency_text = price
        quoter = self.quoter()
        if quoter is None:
            raise UnknownCurrency(currency_text)  # no rates configured: none is quoted
        currency = quoter.check_currency(currency_text)
        if currency != currency_text:
            raise UnknownCurrency(currency_text)
        try:
            price_minor = parse_price(amount, currency)
        except AmountError as exc:
            raise InvalidRequest("invalid_price", f"price.amount: {exc}") from None
        chosen = self._options(wanted)
        chains = {chain.name: chain for chain, _ in chosen}
        depths = {name: self.depth(chain, confirmations) for name, chain in chains.items()}
        quotes = [(chain, symbol, quoter.quote(symbol, currency)) for chain, symbol in chosen]
        options = []
        for chain, symbol, quote in quotes:
            asset = chain.asset(symbol)
            assert asset is not None
            try:
                due = amount_due(price_minor, currency, quote.value, asset.decimals)
            except AmountError as exc:
                raise InvalidRequest("invalid_price", f"price.amount: {exc}") from None
            options.append(
                OptionRecord(
                    chain.name,
                    asset.symbol,
                    asset.decimals,
                    due,
                    quote.value,
                    quote.sources,
                    quote.at,
                    depths[chain.name],
                )
            )
        return Plan(price_minor, currency, tuple(options), chains, depths)

    def _options(self, wanted: Sequence[tuple[str, str]] | None) -> list[tuple[ChainInfo, str]]:
        if wanted is None:  # every configured asset
            return [(chain, asset.symbol) for chain in self.registry for asset in chain.assets]
        if not wanted:
            raise InvalidRequest("invalid_accept", "accept: name at least one {chain, asset}")
        if len(wanted) > MAX_OPTIONS:
            raise InvalidRequest("invalid_accept", f"accept: at most {MAX_OPTIONS} options")
        found: list[tuple[ChainInfo, str]] = []
        for name, symbol in wanted:
            chain = self.registry.get(name)
            if chain is None:
                known = ", ".join(self.registry.names()) or "none configured"
                raise InvalidRequest(
                    "unknown_chain", f"accept: chain {name[:40]!r} is not configured ({known})"
                )
            asset = chain.asset(symbol)
            if asset is None:
                known = ", ".join(a.symbol for a in chain.assets)
                raise InvalidRequest(
                    "unknown_asset",
                    f"accept: asset {symbol[:20]!r} is not configured on {chain.name} ({known})",
                )
            if any(c.name == chain.name and s == asset.symbol for c, s in found):
                raise InvalidRequest(
                    "invalid_accept", f"accept: {asset.symbol} on {chain.name} is listed twice"
                )
            found.append((chain, asset.symbol))
        return found

    # -- storing ------------------------------------------------------------------

    def single_values(self, conn: Connection, plan: Plan) -> dict[str, Any]:
        """The order row's columns of a one-option order (its address taken now)."""
        option = plan.options[0]
        chain = plan.chains[option.chain]
        derived = next_address(conn, chain.deriver)
        return {
            "chain": chain.name,
            "asset": option.asset,
            "decimals": option.decimals,
            "amount_base": option.amount_base,
            "address": derived.address,
            "script": derived.script,
            "keyspace": chain.deriver.keyspace,
            "derivation_index": derived.index,
            "confirmations_required": plan.depths[chain.name],
        }

    def store(self, conn: Connection, order_seq: int, plan: Plan) -> list[AddressRecord]:
        """Write the options (and, eager with several, the addresses) of a new order."""
        INSERT_OPTION.execute_many(conn, [o.row(order_seq, i) for i, o in enumerate(plan.options)])
        if plan.single or self.addresses == "lazy":
            return []
        return self._take(conn, order_seq, list(plan.chains.values()), plan.depths, {})

    def _take(
        self,
        conn: Connection,
        order_seq: int,
        chains: Sequence[ChainInfo],
        depths: dict[str, int | None],
        indexes: dict[str, int],
    ) -> list[AddressRecord]:
        """An address on each of ``chains``: one index per key, shared by the chains on
        it (``indexes``: the keys that already have one for this order)."""
        taken: list[AddressRecord] = []
        for chain in chains:
            keyspace = chain.deriver.keyspace
            if keyspace in indexes:
                derived = chain.deriver.derive(indexes[keyspace])
            else:
                derived = next_address(conn, chain.deriver)
                indexes[keyspace] = derived.index
            taken.append(
                AddressRecord(
                    chain.name,
                    derived.address,
                    derived.script,
                    keyspace,
                    derived.index,
                    depths[chain.name],
                )
            )
        INSERT_ADDRESS.execute_many(conn, [a.row(order_seq) for a in taken])
        return taken

    def pick(
        self,
        conn: Connection,
        order_seq: int,
        options: Sequence[OptionRecord],
        have: Sequence[AddressRecord],
        option: OptionRecord,
    ) -> list[AddressRecord]:
        """Take the address of a picked option (and of every option of the order on a
        chain with the same key, which shares it). ``have``: the order's addresses."""
        if any(a.chain == option.chain for a in have):
            return []
        chain = self.registry.get(option.chain)
        if chain is None:
            raise InvalidRequest("unknown_chain", f"chain {option.chain!r} is no longer configured")
        keyspace = chain.deriver.keyspace
        same_key = [
            c
            for name in dict.fromkeys(o.chain for o in options)
            if (c := self.registry.get(name)) is not None and c.deriver.keyspace == keyspace
        ]
        held = {a.chain for a in have}
        chains = [c for c in same_key if c.name not in held]
        depths = {o.chain: o.confirmations_required for o in options}
        return self._take(conn, order_seq, chains, depths, {})
