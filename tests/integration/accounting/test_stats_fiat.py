"""Statistics count an order with several options by what each option received."""

from __future__ import annotations

from datetime import timedelta

from daemon.accounting.stats import payment_stats
from daemon.domain.payments import Transfer, TransferKey
from daemon.services.order_changes import Observation
from daemon.services.orders import NewOrder
from tests.integration.conftest import ContainerFactory
from tests.support.clock import ManualClock

RATES = "rates: {sources: [], currencies: [EUR], fixed: {ETH/EUR: '2000', USDC/EUR: '0.8'}}"


def test_paid_volume_of_a_multi_option_order_is_per_asset(
    make_container: ContainerFactory,
) -> None:
    clock = ManualClock()
    c = make_container(clock=clock, extra=RATES)
    options = (("eth", "ETH"), ("eth", "USDC"))
    new = NewOrder(order_id="S-1", price=("100.00", "EUR"), accept=options)
    made = c.db.write(lambda conn: c.orders.create(conn, new, clock())).view
    eth, usdc = made["options"]
    assert (eth["amount_base"], usdc["amount_base"]) == (5 * 10**16, 125_000_000)
    address = eth["address"]
    assert address is not None
    script = bytes.fromhex(address[2:])
    clock.advance(minutes=2)

    # Half the price in ETH (0.025 ETH), half in USDC (62.5), both deep enough.
    def deep(tx: str, index: int, amount: int) -> Transfer:
        return Transfer(TransferKey(tx, index), amount, clock(), confirmations=12)

    paid = [
        Observation("eth", script, "ETH", deep("0xaa", -1, 25 * 10**15), 7, "0x07"),
        Observation("eth", script, "USDC", deep("0xbb", 0, 62_500_000), 7, "0x07"),
    ]
    c.db.write(lambda conn: c.orders.changes.record(conn, paid, clock()))
    order = c.db.read(lambda conn: c.orders.get(conn, made["id"]))
    assert (order["status"], order["exception"]) == ("paid", "none")

    stats = c.db.read(lambda conn: payment_stats(conn, None, clock() + timedelta(minutes=1)))
    volume = {(v["chain"], v["asset"]): (v["amount"], v["orders"]) for v in stats["paid_volume"]}
    assert volume == {("eth", "ETH"): ("0.025", 1), ("eth", "USDC"): ("62.5", 1)}
    assert stats["orders"]["paid"] == 1
    assert stats["median_seconds_to_paid"] == 120
