"""A chain configured with lower-case symbols (``native: {symbol: eth}``, ``tokens: {usdc:
…}``) is paid like any other: orders and transfers carry one canonical symbol, upper
case, so an exact ETH and an exact token payment complete their orders."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from daemon.storage.tables import transfers
from tests.integration.evm.conftest import Contracts
from tests.integration.evm.watching import events_of, order, state, watcher
from tests.support.anvil import Anvil, call_data
from tests.support.keys import ETH_XPUB
from tests.support.single import address_of
from tests.support.watching import temp_container

ETHER = 10**18
USDC = 10**6


def lower_case_config(database_url: str, url: str, token: str) -> str:
    return f"""
database_url: {database_url}
chains:
  eth:
    type: evm
    chain_id: 31337
    xpub: {ETH_XPUB}
    confirmations: 1
    native: {{symbol: eth, decimals: 18, aliases: [weth]}}
    tokens: {{usdc: {{contract: "{token}", decimals: 6}}}}
    backend: {{url: "{url}", poll_interval: 1s}}
"""


def token_balance(anvil: Anvil, token: str, holder: str) -> int:
    data = call_data("balanceOf(address)", holder)
    return int(anvil.rpc("eth_call", {"to": token, "data": data}, "latest"), 16)


def test_lower_case_symbols_in_config_still_pay_orders(
    anvil: Anvil, contracts: Contracts, loop: asyncio.AbstractEventLoop
) -> None:
    build = lambda url: lower_case_config(url, anvil.url, contracts.token)  # noqa: E731
    with temp_container(build) as c:
        eth = watcher(c, "eth", anvil.height())
        loop.run_until_complete(eth.sync_once())
        native = order(c, "eth", "eth", "1.5", "native")  # the request's case does not matter
        token = order(c, "eth", "USDC", "12.5", "token")
        alias = order(c, "eth", "Weth", "0.25", "alias")
        assert (native["asset"], token["asset"], alias["asset"]) == ("ETH", "USDC", "ETH")
        anvil.send(address_of(native), 3 * ETHER // 2)
        anvil.send(address_of(alias), ETHER // 4)
        transfer = call_data("transfer(address,uint256)", token["address"], 12_500_000)
        anvil.send(contracts.token, 0, data=transfer)
        anvil.mine(2)
        loop.run_until_complete(eth.sync_once())

        # What the node says each address got is what each order counts.
        assert anvil.balance(address_of(native)) == 3 * ETHER // 2
        assert anvil.balance(address_of(alias)) == ETHER // 4
        assert token_balance(anvil, contracts.token, address_of(token)) == 12_500_000
        assert state(c, native["id"]) == ("paid", "none", 3 * ETHER // 2)
        assert state(c, alias["id"]) == ("paid", "none", ETHER // 4)
        assert state(c, token["id"]) == ("paid", "none", 12_500_000)
        for o in (native, token, alias):
            assert events_of(c, o["id"]) == [
                "order.created",
                "order.payment_detected",
                "order.payment_confirmed",
                "order.paid",
            ]
        stored = c.db.read(lambda conn: sorted(conn.execute(select(transfers.c.asset)).scalars()))
        assert stored == ["ETH", "ETH", "USDC"]
        loop.run_until_complete(eth.source.aclose())
