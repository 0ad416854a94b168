"""The two chains of the fiat torture, as the customer and the adversary see them:
anvil (ETH, and the test ERC-20 as USDC) and litecoind (LTC). Paying an option,
mining on both, reorgs on either (anvil_reorg re-mining the same signed transactions,
some dropped; ``invalidateblock`` sending blocks back to the mempool), and the truth:
each option's credits read by walking the nodes' best chains, never from paywatch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tests.support.litecoind import Litecoind
from tests.torture.chain_truth import Credit, Truth, bitcoin_truth, evm_truth
from tests.torture.evm_node import EvmNode
from tests.torture.verdict import parse_time

SATS = Decimal(10) ** 8
Options = Callable[[], list[dict[str, Any]]]  # every option of every order, as last seen


class TwoChains:
    def __init__(self, evm: EvmNode, ltc: Litecoind, options: Options) -> None:
        self.evm, self.ltc, self.options = evm, ltc, options
        self.eth_start, self.ltc_start = evm.tip(), ltc.height()
        self.ltc_payments: list[str] = []  # txids, newest last
        self.gone: set[str] = set()  # LTC payments that vanished (replaced, evicted)
        self.reorged: set[str] = set()  # LTC transactions whose block was invalidated
        self.scripts: dict[str, str] = {}
        # The earliest block time each payment was seen mined at, before a reorg moved it.
        self.first_mined: dict[str, int] = {}
        self.known: tuple[Truth, Truth] = (Truth(-1), Truth(-1))

    # -- paying and mining --------------------------------------------------------------
    def send(self, option: dict[str, Any], base: int) -> str:
        """Send ``base`` units of the option's asset to its address (mined later)."""
        if option["asset"] == "ETH":
            return self.evm.pay_native(option["address"], base)
        if option["asset"] == "USDC":
            return self.evm.pay_token(option["address"], base)
        txid = self.ltc.send(option["address"], Decimal(base) / SATS)
        self.ltc_payments.append(txid)
        return txid

    def mine(self, blocks: int, chain: str = "") -> None:
        if chain in ("", "eth"):
            self.evm.mine(blocks)
        if chain in ("", "ltc"):
            self.ltc.mine(blocks)

    def ltc_lead(self) -> int:
        """How far litecoind's tip time runs ahead of the clock (fast-mined blocks must
        each pass the median of the last 11)."""
        tip = self.ltc.rpc("getblockheader", self.ltc.block_hash(self.ltc.height()))
        return max(0, int(tip["time"]) - int(time.time()))

    # -- reorgs -------------------------------------------------------------------------
    def invalidate(self, depth: int) -> None:
        """Invalidate litecoind's last ``depth`` blocks (their transactions go back to
        the mempool, but for spends of a coinbase now immature: those vanish)."""
        tip = self.ltc.height()
        for height in range(tip - depth + 1, tip + 1):
            self.reorged |= set(self.ltc.rpc("getblock", self.ltc.block_hash(height), 1)["tx"])
        self.ltc.invalidate(self.ltc.block_hash(tip - depth + 1))
        self.note_vanished()

    def note_vanished(self) -> None:
        pool = set(self.ltc.mempool())
        for txid in self.ltc_payments:
            if txid in pool:
                continue
            if int(self.ltc.rpc("gettransaction", txid)["confirmations"]) <= 0:
                self.gone.add(txid)

    def reorg(self, chain: str, depth: int, drop_chance: float = 0.25) -> None:
        """EVM: the top ``depth`` blocks replaced, our transactions re-mined there (each
        dropped with ``drop_chance``); Litecoin: invalidated, then ``depth + 1`` new ones."""
        self.remember_block_times()
        if chain == "eth":
            self.evm.reorg(depth, drop_chance=drop_chance)
            return
        depth = min(depth, self.ltc.height() - self.ltc_start)
        if depth > 0:
            self.invalidate(depth)
            self.ltc.mine(depth + 1)

    def drop_ltc(self, txid: str, depth: int) -> None:
        """The top ``depth`` blocks invalidated and ``txid`` (back in the mempool)
        double-spent to an address of the node's own: that payment is gone for good."""
        self.remember_block_times()
        self.invalidate(depth)
        if txid in set(self.ltc.mempool()):
            self.ltc.redirect(txid, self.ltc.new_address())
            self.gone.add(txid)
            self.note_vanished()  # with it, any payment that spent its change
        self.ltc.mine(1)

    @property
    def vanished(self) -> set[str]:
        return self.evm.vanished | self.gone

    @property
    def moved(self) -> set[str]:
        return self.evm.moved | self.reorged

    # -- truth --------------------------------------------------------------------------
    def script(self, address: str) -> str:
        if address not in self.scripts:
            self.scripts[address] = str(self.ltc.rpc("validateaddress", address)["scriptPubKey"])
        return self.scripts[address]

    def read(self) -> None:
        """Walk both nodes' best chains for what the options' addresses got."""
        options = self.options()
        evm = {o["address"] for o in options if o["address"] and o["chain"] == "eth"}
        ltc = {self.script(o["address"]) for o in options if o["address"] and o["chain"] == "ltc"}
        eth = evm_truth(self.evm.node, self.eth_start, evm, {"USDC": self.evm.token}, "ETH")
        self.known = (eth, bitcoin_truth(self.ltc, self.ltc_start, ltc, "LTC"))

    def remember_block_times(self) -> None:
        """Before a reorg: the block time of every credit to the orders' addresses."""
        self.read()
        for truth in self.known:
            for credits in truth.credits.values():
                for c in credits:
                    if c.time is not None:
                        first = min(self.first_mined.get(c.tx_hash, c.time), c.time)
                        self.first_mined[c.tx_hash] = first

    def moved_across_expiry(self, views: dict[str, dict[str, Any]]) -> set[str]:
        """Orders paid by a transaction that a reorg moved from a block stamped before
        their expiry to one stamped after (or back): paywatch dates a payment by the
        block it saw first, so either verdict is right."""
        found = set()
        for order_id, view in views.items():
            expiry = parse_time(view["expires_at"]).timestamp()
            for option in view["options"]:
                if not option["address"]:
                    continue
                for c in self.credits(option["chain"], option["asset"], option["address"]):
                    first = self.first_mined.get(c.tx_hash, c.time)
                    if c.time is None or first is None:
                        continue
                    if min(first, c.time) <= expiry < max(first, c.time):
                        found.add(order_id)
        return found

    def credits(self, chain: str, asset: str, address: str) -> list[Credit]:
        eth, ltc = self.known
        if chain == "eth":
            return eth.of(address.lower(), asset)
        return ltc.of(self.script(address), asset)

    def depth(self, chain: str, credit: Credit) -> int:
        tip = (self.known[0] if chain == "eth" else self.known[1]).tip
        return 0 if credit.height is None else tip - credit.height + 1
