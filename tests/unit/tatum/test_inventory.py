"""Judging Tatum's subscription list against the open orders (what --prune would delete)."""

from __future__ import annotations

from chains.tatum.api import Subscription
from chains.tatum.networks import TatumNetwork
from daemon.tatum.inventory import FOREIGN, NEEDED, UNNEEDED, judge
from daemon.tatum.subscription_rows import Wanted

URL = "https://pay.example/v1/tatum/notifications"
NETWORKS = {
    "eth": TatumNetwork("ETH", False, "ethereum-mainnet"),
    "ltc": TatumNetwork("LTC", True, None),
}
OPEN_ETH = Wanted("eth", b"\x11" * 20, "0x" + "11" * 20)
OPEN_ETH_2 = Wanted("eth", b"\x22" * 20, "0x" + "22" * 20)
OPEN_LTC = Wanted("ltc", b"\x00\x14" + b"\x33" * 20, "rltc1qexample")


def sub(sub_id: str, chain: str, address: str, url: str = URL) -> Subscription:
    return Subscription(sub_id, "ADDRESS_EVENT", chain, address, url)


def test_each_subscription_is_needed_unneeded_or_foreign() -> None:
    remote = [
        sub("a", "ETH", ("0x" + "11" * 20).upper().replace("0X", "0x")),  # any case matches
        sub("b", "ETH", "0x" + "11" * 20),  # a second one for the same address
        sub("c", "ETH", "0x" + "99" * 20),  # no open order
        sub("d", "ETH", "0x" + "22" * 20, url="https://other.example/hook"),
        sub("e", "LTC", "rltc1qexample"),
        sub("f", "BTC", "rltc1qexample"),  # another chain code
    ]
    inventory = judge(remote, [OPEN_ETH, OPEN_ETH_2, OPEN_LTC], NETWORKS, URL)
    states = {item.subscription.id: item.state for item in inventory.listed}
    assert states == {
        "a": NEEDED,
        "b": UNNEEDED,
        "c": UNNEEDED,
        "d": FOREIGN,
        "e": NEEDED,
        "f": UNNEEDED,
    }
    assert [w.address for w in inventory.without] == [OPEN_ETH_2.address]
    assert {item.chain for item in inventory.listed if item.state == NEEDED} == {"eth", "ltc"}


def test_without_a_notify_url_nothing_is_paywatchs() -> None:
    inventory = judge([sub("a", "ETH", OPEN_ETH.address)], [OPEN_ETH], NETWORKS, None)
    assert [item.state for item in inventory.listed] == [FOREIGN]
    assert inventory.count(UNNEEDED) == 0
