"""The config `paywatch run` is tortured with: one daemon on SQLite (or the database a
test names), its chains on the test's nodes at 2 confirmations, symbols in lower case on
purpose (the API's ETH and USDC must still match them), and the verifying store."""

from __future__ import annotations

from tests.e2e.conftest import Installation
from tests.integration.webhooks.conftest import webhooks_yaml
from tests.support.keys import BTC_REGTEST_VPUB, ETH_XPUB
from tests.support.litecoind import Litecoind
from tests.torture.evm_node import EvmNode

CONFIRMATIONS = 2


def evm_chain(evm: EvmNode) -> str:
    """``eth`` on the torture's anvil: ETH and its test ERC-20 as USDC, over WebSocket."""
    node = evm.node
    return f"""  eth:
    type: evm
    chain_id: 31337
    xpub: {ETH_XPUB}
    confirmations: {CONFIRMATIONS}
    native: {{symbol: eth, decimals: 18}}
    tokens: {{usdc: {{contract: "{evm.token}", decimals: 6}}}}
    backend: {{kind: rpc, urls: ["{node.url}"], ws_url: "{node.ws_url}", poll_interval: 1s}}
"""


def ltc_chain(node: Litecoind) -> str:
    """``ltc`` on the torture's litecoind regtest, polled every second."""
    return f"""  ltc:
    type: litecoin
    network: regtest
    xpub: {BTC_REGTEST_VPUB}
    address_type: p2wpkh
    confirmations: {CONFIRMATIONS}
    backend: {{kind: rpc, url: "{node.url}", user: {node.user}, password: {node.password},
               poll_interval: 1s}}
"""


def torture_config(
    inst: Installation,
    store_url: str,
    chains: str,
    *,
    database_url: str = "",
    orders: str = "",
    extra: str = "",
) -> str:
    """The whole config: ``chains`` (from :func:`evm_chain`, :func:`ltc_chain`),
    ``orders``: more keys of the orders section, ``extra``: more sections."""
    return f"""
database_url: {database_url or f"sqlite:///{inst.workdir / 'paywatch.db'}"}
api: {{listen: "127.0.0.1:{inst.port}"}}
metrics: {{enabled: false}}
orders: {{expires_in: 6h, late_window: 24h, underpaid_tolerance_percent: 0{orders}}}
{extra}chains:
{chains}{webhooks_yaml(store_url, timeout="5s", poll_interval="1s")}"""
