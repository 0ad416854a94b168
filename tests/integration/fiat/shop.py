"""paywatch served in-process (API, watchers, rate job) on an anvil chain (ETH and the test
ERC-20 as USDC, 6 decimals) and a litecoind regtest chain (LTC), with orders priced in
fiat; the customer's side (paying an option from the nodes' funded wallets) and the
ground truth read back from the nodes, never from paywatch.

Two sets of fixed rates: EUR rates that make every amount due round up, and USD rates
that divide the test prices exactly (so a payment split in halves is exactly the price).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import httpx
from sqlalchemy import select

from daemon.config.loading import parse_config
from daemon.runtime.container import build
from daemon.storage.migrations import upgrade
from daemon.storage.tables import chain_cursors
from tests.support.anvil import ACCOUNTS, Anvil, call_data, load_artifact
from tests.support.configs import anvil_chain_yaml
from tests.support.keys import BTC_REGTEST_VPUB
from tests.support.litecoind import Litecoind
from tests.support.server import RunningApi, running_api
from tests.torture.chain_truth import bitcoin_truth, evm_truth

DECIMALS = {"ETH": 18, "USDC": 6, "LTC": 8}
EUR_RATES = {"ETH/EUR": "2345.67", "USDC/EUR": "0.9213", "LTC/EUR": "71.37"}
USD_RATES = {"ETH/USD": "2000", "USDC/USD": "0.8", "LTC/USD": "80"}
FIXED = {**EUR_RATES, **USD_RATES}
ALL_OPTIONS = [
    {"chain": "eth", "asset": "ETH"},
    {"chain": "eth", "asset": "USDC"},
    {"chain": "ltc", "asset": "LTC"},
]


def fixed_rates_yaml(rates: dict[str, str] = FIXED) -> str:
    pairs = ", ".join(f'"{pair}": "{value}"' for pair, value in rates.items())
    return f"rates: {{sources: [], fixed: {{{pairs}}}, currencies: [EUR, USD]}}\n"


def shop_yaml(
    database_url: str,
    anvil: Anvil,
    token: str,
    ltc: Litecoind,
    *,
    rates: str,
    addresses: str = "eager",
    tolerance: str = "0",
) -> str:
    """Both chains from their nodes' tips, 1 confirmation, polled every second."""
    return f"""
database_url: {database_url}
api: {{listen: "127.0.0.1:0"}}
metrics: {{enabled: false}}
orders:
  expires_in: 1h
  late_window: 24h
  underpaid_tolerance_percent: {tolerance}
  addresses: {addresses}
{rates}
{anvil_chain_yaml(anvil.url, start_height=anvil.height(), token=token)}  ltc:
    type: litecoin
    network: regtest
    xpub: {BTC_REGTEST_VPUB}
    address_type: p2wpkh
    confirmations: 1
    start_height: {ltc.height()}
    backend:
      {{kind: rpc, url: "{ltc.url}", user: {ltc.user}, password: {ltc.password}, poll_interval: 1s}}
"""


def deploy_token(anvil: Anvil) -> str:
    """The test ERC-20 (6 decimals), 10^15 base units minted to the paying account."""
    token = anvil.deploy(load_artifact("TestToken"))
    anvil.send(token, 0, data=call_data("mint(address,uint256)", ACCOUNTS[0], 10**15))
    return token


def eventually(probe: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Shop:
    api: RunningApi
    client: httpx.Client
    anvil: Anvil
    token: str
    ltc: Litecoind
    eth_start: int
    ltc_start: int

    # -- the store's side ---------------------------------------------------------------

    def create(self, **body: Any) -> dict[str, Any]:
        answer = self.client.post("/v1/orders", json=body)
        assert answer.status_code == 201, answer.text
        order: dict[str, Any] = answer.json()
        return order

    def get(self, order: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.get(f"/v1/orders/{order['id']}")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def pick(self, order: dict[str, Any], chain: str, asset: str) -> httpx.Response:
        return self.client.post(
            f"/v1/orders/{order['id']}/pick", json={"chain": chain, "asset": asset}
        )

    # -- the customer's side ------------------------------------------------------------

    def pay(self, option: dict[str, Any], amount_base: int) -> None:
        """Send ``amount_base`` of the option's asset to its address (not yet mined on
        litecoind; anvil mines each transaction at once)."""
        address = option["address"]
        assert address, f"no address to pay: {option}"
        if option["asset"] == "ETH":
            self.anvil.send(address, amount_base)
        elif option["asset"] == "USDC":
            data = call_data("transfer(address,uint256)", address, amount_base)
            receipt = self.anvil.receipt(self.anvil.send(self.token, 0, data=data))
            assert receipt["status"] == "0x1"
        else:
            self.ltc.send(address, Decimal(amount_base) / 10**8)

    def settle(self) -> None:
        """Mine a block on litecoind (anvil mined each payment), then wait until both
        watchers have processed their node's tip (its height and hash: after a reorg
        the tip may be a new block at the same height)."""
        self.ltc.mine()
        eth_tip = self.anvil.rpc("eth_getBlockByNumber", "latest", False)
        tips = {
            "eth": (int(eth_tip["number"], 16), eth_tip["hash"].lower().removeprefix("0x")),
            "ltc": (self.ltc.height(), self.ltc.block_hash(self.ltc.height()).lower()),
        }

        def caught_up() -> bool:
            query = select(chain_cursors.c.chain, chain_cursors.c.height, chain_cursors.c.hash)
            rows = self.api.container.db.read(lambda c: c.execute(query).all())
            cursors = {r.chain: (r.height, str(r.hash).lower().removeprefix("0x")) for r in rows}
            return all(cursors.get(chain) == tip for chain, tip in tips.items())

        eventually(caught_up, f"the watchers to reach {tips}")

    # -- ground truth -------------------------------------------------------------------

    def received(self, order: dict[str, Any]) -> dict[tuple[str, str], int]:
        """What each of the order's options got, in base units, by walking the nodes'
        chains from the daemon's start (confirmed, in blocks only)."""
        options = [o for o in order["options"] if o["address"]]
        evm = [o["address"] for o in options if o["chain"] == "eth"]
        scripts = {
            o["address"]: self.ltc.rpc("validateaddress", o["address"])["scriptPubKey"]
            for o in options
            if o["chain"] == "ltc"
        }
        got: dict[tuple[str, str], int] = {}
        for o in options:
            if o["chain"] == "eth":
                got[("eth", o["asset"])] = 0
        if evm and self.anvil.height() > self.eth_start:  # blocks since the daemon started
            truth = evm_truth(self.anvil, self.eth_start + 1, evm, {"USDC": self.token}, "ETH")
            for o in options:
                if o["chain"] == "eth":
                    got[("eth", o["asset"])] = truth.confirmed(o["address"], o["asset"], 1)
        if scripts:
            truth = bitcoin_truth(self.ltc, self.ltc_start + 1, scripts.values(), "LTC")
            for o in options:
                if o["chain"] == "ltc":
                    got[("ltc", "LTC")] = truth.confirmed(scripts[o["address"]], "LTC", 1)
        return got


def option(order: dict[str, Any], asset: str) -> dict[str, Any]:
    """The order's option in ``asset`` (one per asset in these tests)."""
    found: list[dict[str, Any]] = [o for o in order["options"] if o["asset"] == asset]
    assert len(found) == 1, order["options"]
    return found[0]


def value_of(order: dict[str, Any], got: dict[tuple[str, str], int]) -> Fraction:
    """The price-currency value of what the nodes say the options got: each option's
    base units as a share of its amount due, times the price (exact)."""
    price = Fraction(Decimal(order["price"]["amount"]))
    total = Fraction(0)
    for option in order["options"]:
        paid = got.get((option["chain"], option["asset"]), 0)
        total += Fraction(paid, option["amount_base"]) * price
    return total


def cents_down(value: Fraction, minor: int = 2) -> Decimal:
    """``value`` rounded down to the currency's minor unit (EUR, USD: cents)."""
    return Decimal(value.numerator * 10**minor // value.denominator).scaleb(-minor)


Money = tuple[Decimal, str] | None


def money(amount: dict[str, str] | None) -> Money:
    """``{amount, currency}`` as the API writes a price or a value, compared as a number
    (49.9 and 49.90 are the same amount)."""
    return None if amount is None else (Decimal(amount["amount"]), amount["currency"])


def due_base(price: str, rate: str, asset: str) -> int:
    """price / rate rounded UP to the asset's base unit (Fractions, from the strings)."""
    exact: Fraction = Fraction(Decimal(price)) / Fraction(Decimal(rate)) * 10 ** DECIMALS[asset]
    return math.ceil(exact)


def expected(
    order: dict[str, Any], got: dict[tuple[str, str], int], tolerance_percent: int = 0
) -> dict[str, Any]:
    """Status, exception and received_value of a fiat order from the nodes' truth, every
    payment confirmed and the order not expired; the tolerance applies to the price."""
    value = value_of(order, got)
    price = Fraction(Decimal(order["price"]["amount"]))
    if value == 0:
        status, exception = "pending", "none"
    elif value < price * (1 - Fraction(tolerance_percent, 100)):
        status, exception = "pending", "underpaid"
    else:
        # One option: any base unit over its amount is overpaid. Several: overpaid by at
        # least a minor unit of the price (parts in two coins, each rounded up to its
        # base unit, come to a fraction of a cent over the price).
        several = order["chain"] is None
        over = Fraction(cents_down(value)) > price if several else value > price
        status, exception = "paid", "overpaid" if over else "none"
    currency = order["price"]["currency"]
    return {
        "status": status,
        "exception": exception,
        "received_value": (cents_down(value), currency),
    }


def judged(order: dict[str, Any]) -> dict[str, Any]:
    """What paywatch says of the order's money: status, exception, received_value."""
    return {
        "status": order["status"],
        "exception": order["exception"],
        "received_value": money(order["received_value"]),
    }


def real_clock() -> datetime:
    return datetime.now(UTC)


@contextmanager
def open_shop(
    database_url: str,
    anvil: Anvil,
    ltc: Litecoind,
    *,
    rates: str,
    addresses: str = "eager",
    tolerance: str = "0",
) -> Iterator[Shop]:
    """The daemon on a fresh database, on a real clock (block times are real)."""
    token = deploy_token(anvil)
    eth_start, ltc_start = anvil.height(), ltc.height()
    text = shop_yaml(
        database_url, anvil, token, ltc, rates=rates, addresses=addresses, tolerance=tolerance
    )
    container = build(parse_config(text), clock=real_clock)
    upgrade(container.db.engine)
    try:
        with (
            running_api(container) as api,
            httpx.Client(base_url=api.base_url, headers=api.auth, timeout=30) as client,
        ):
            yield Shop(api, client, anvil, token, ltc, eth_start, ltc_start)
    finally:
        container.close()
