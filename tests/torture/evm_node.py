"""The EVM side of the torture: an anvil without automining, a token and the batch
payer deployed, payments as raw signed transactions (native ETH, ERC-20 ``transfer``,
``BatchPay.payToken`` to several orders in one transaction), and reorgs that mine
the very same raw transactions again on another branch (``anvil_reorg``), after a
filler transfer so that re-mined ERC-20 payments get other log indices, or drop some.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tests.support.anvil import ACCOUNTS, Anvil, call_data, load_artifact
from tests.torture.evm_signing import DEV_KEYS, Signer

CHAIN_ID = 31337
TOKEN_SUPPLY = 10**15  # per payer, in token units (6 decimals)
FILLER = len(DEV_KEYS) - 1  # the signer whose transfers only shift log indices


@dataclass(frozen=True)
class SentTx:
    hash: str
    raw: str
    sender: str
    nonce: int


@dataclass
class EvmNode:
    node: Anvil
    rng: random.Random
    token: str = ""
    batch: str = ""
    signers: list[Signer] = field(default_factory=list)
    sent: dict[str, SentTx] = field(default_factory=dict)
    dropped: list[SentTx] = field(default_factory=list)
    vanished: set[str] = field(default_factory=set)
    moved: set[str] = field(default_factory=set)

    def setup(self) -> None:
        """Deploy TestToken and BatchPay; fund every signer with tokens and approve."""
        node = self.node
        self.signers = [Signer.dev(i, CHAIN_ID) for i in range(len(DEV_KEYS))]
        self.token = node.deploy(load_artifact("TestToken"))
        self.batch = node.deploy(load_artifact("BatchPay"))
        for signer in self.signers:
            mint = call_data("mint(address,uint256)", signer.address, TOKEN_SUPPLY)
            node.send(self.token, 0, sender=ACCOUNTS[0], data=mint, wait=False)
        node.mine()
        for signer in self.signers:
            approve = call_data("approve(address,uint256)", self.batch, TOKEN_SUPPLY)
            self._send(signer, self.token, 0, approve, 100_000)
        node.mine()

    def _nonce(self, signer: Signer, block: str = "pending") -> int:
        return int(self.node.rpc("eth_getTransactionCount", signer.address, block), 16)

    def _send(
        self, signer: Signer, to: str, value: int, data: str = "0x", gas: int = 21_000
    ) -> str:
        nonce = self._nonce(signer)
        raw = signer.sign(nonce=nonce, to=to, value=value, data=data, gas=gas)
        tx_hash = str(self.node.rpc("eth_sendRawTransaction", raw))
        self.sent[tx_hash] = SentTx(tx_hash, raw, signer.address, nonce)
        return tx_hash

    def _payer(self) -> Signer:
        return self.signers[self.rng.randrange(FILLER)]

    def pay_native(self, address: str, wei: int) -> str:
        return self._send(self._payer(), address, wei)

    def pay_token(self, address: str, units: int) -> str:
        data = call_data("transfer(address,uint256)", address, units)
        return self._send(self._payer(), self.token, 0, data, 100_000)

    def pay_batch(self, addresses: list[str], units: list[int]) -> str:
        data = call_data("payToken(address,address[],uint256[])", self.token, addresses, units)
        return self._send(self._payer(), self.batch, 0, data, 100_000 + 60_000 * len(addresses))

    def mine(self, blocks: int = 1) -> None:
        self.node.mine(blocks)

    def tip(self) -> int:
        return self.node.height()

    def _ours_on_top(self, depth: int) -> tuple[int, int, list[SentTx]]:
        """The tip, ``depth`` capped to keep block 1, and the transactions this node
        sent that are in the top ``depth`` blocks (in block order)."""
        tip = self.tip()
        depth = min(depth, tip - 1)
        ours: list[SentTx] = []
        for height in range(tip - depth + 1, tip + 1):
            block = self.node.rpc("eth_getBlockByNumber", hex(height), False)
            ours += [self.sent[h] for h in block["transactions"] if h in self.sent]
        return tip, depth, ours

    def reorg(self, depth: int, drop_chance: float) -> list[str]:
        """Replace the last ``depth`` blocks: a filler token transfer first, then the
        same raw transactions (each dropped with ``drop_chance``, and with it the
        sender's later ones), spread over the new blocks; one block more on top.
        Returns the hashes dropped."""
        tip, depth, ours = self._ours_on_top(depth)
        filler = self.signers[FILLER]
        nonce = self._nonce(filler, hex(tip - depth))
        data = call_data("transfer(address,uint256)", ACCOUNTS[0], 1)
        plan: list[list[object]] = [
            [filler.sign(nonce=nonce, to=self.token, value=0, data=data, gas=100_000), 0]
        ]
        stopped: set[str] = set()
        offsets: dict[str, int] = {}
        dropped = []
        for tx in sorted(ours, key=lambda t: (t.sender, t.nonce)):
            if tx.sender in stopped or self.rng.random() < drop_chance:
                stopped.add(tx.sender)
                dropped.append(tx)
                continue
            offset = max(offsets.get(tx.sender, 0), self.rng.randrange(depth))
            offsets[tx.sender] = offset
            plan.append([tx.raw, offset])
        self.node.rpc("anvil_reorg", depth, plan)
        self.mine()
        self.moved |= {tx.hash for tx in ours}
        self.dropped += dropped
        self.vanished |= {tx.hash for tx in dropped}
        return [tx.hash for tx in dropped]

    def shorten(self, depth: int) -> None:
        """Roll the last ``depth`` blocks back and mine their transactions again in one
        block: the chain ends ``depth - 1`` blocks lower, its payments less deep. For a
        moment the node has none of them, so each may legitimately be reversed."""
        _, depth, ours = self._ours_on_top(depth)
        self.node.rpc("anvil_rollback", depth)
        for tx in sorted(ours, key=lambda t: (t.sender, t.nonce)):
            self.node.rpc("eth_sendRawTransaction", tx.raw)
        self.mine()
        self.moved |= {tx.hash for tx in ours}
        self.vanished |= {tx.hash for tx in ours}

    def resend_dropped(self) -> str | None:
        """Send a dropped transaction again, the same bytes (if its nonce is still free)."""
        while self.dropped:
            tx = self.dropped.pop(self.rng.randrange(len(self.dropped)))
            signer = next(s for s in self.signers if s.address == tx.sender)
            if self._nonce(signer) == tx.nonce:
                self.node.rpc("eth_sendRawTransaction", tx.raw)
                return tx.hash
        return None

    def deep_reorg(self, tx_hash: str, depth: int) -> None:
        """Replace the last ``depth`` blocks; ``tx_hash`` is mined again one block later
        than before, after a filler transaction; the others in those blocks are gone."""
        tip = self.tip()
        lost = []
        for height in range(tip - depth + 1, tip + 1):
            block = self.node.rpc("eth_getBlockByNumber", hex(height), False)
            lost += [self.sent[h] for h in block["transactions"] if h in self.sent]
        filler = self.signers[FILLER]
        nonce = self._nonce(filler, hex(tip - depth))
        plan: list[list[object]] = [
            [filler.sign(nonce=nonce, to=ACCOUNTS[0], value=1), 0],
            [self.sent[tx_hash].raw, 1],
        ]
        self.node.rpc("anvil_reorg", depth, plan)
        self.mine()
        self.moved |= {tx.hash for tx in lost}
        dropped = [tx for tx in lost if tx.hash != tx_hash]
        self.dropped += dropped
        self.vanished |= {tx.hash for tx in dropped}
