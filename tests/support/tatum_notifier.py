"""The Tatum stand-in's chain watching: poll a gateway's node, turn payments into notifications.

One :class:`ChainPoller` per gateway polls its node (anvil or a Bitcoin Core-like node) about
every 100 ms from the height it had when the gateway was added: new blocks on both kinds,
new mempool transactions on the bitcoin kind. Every payment to an address the stand-in
watches becomes a notification body in Tatum's default format, handed to ``notify``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import aiohttp

log = logging.getLogger(__name__)

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
DECIMALS_CALL = "0x313ce567"  # decimals()
Kind = Literal["evm", "bitcoin"]


@dataclass(frozen=True)
class Gateway:
    name: str
    node_url: str
    kind: Kind
    auth: tuple[str, str] | None
    chain_code: str  # Tatum's subscription chain: "ETH", "MATIC", "BTC", "LTC"
    testnet: bool
    tatum_chain: str  # the notification's "chain": "ethereum-mainnet", "litecoin-core-testnet"

    def node_headers(self) -> dict[str, str]:
        """Headers for a JSON-RPC POST to the node (basic auth when it has credentials)."""
        headers = {"Content-Type": "application/json"}
        if self.auth is not None:
            headers["Authorization"] = aiohttp.encode_basic_auth(*self.auth)
        return headers


Watches = Callable[[Gateway, str], bool]  # (gateway, receiving address) -> subscribed?
Notify = Callable[[Gateway, str, dict[str, Any]], None]  # (gateway, watched address, body)


class RpcError(Exception):
    pass


def units(value: int, decimals: int) -> str:
    """``value`` base units as a plain decimal string: no exponent, no trailing zeros."""
    digits = str(value).rjust(decimals + 1, "0")
    whole, fraction = digits[: len(digits) - decimals], digits[len(digits) - decimals :]
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def output_address(output: dict[str, Any]) -> str | None:
    """A verbose output's address: ``address`` (Bitcoin Core 22+) or ``addresses`` (older,
    Litecoin Core 0.21)."""
    script = output.get("scriptPubKey", {})
    if "address" in script:
        return str(script["address"])
    addresses = script.get("addresses") or []
    return str(addresses[0]) if len(addresses) == 1 else None


def body(
    address: str,
    amount: str,
    counter: str | None,
    asset: str,
    block: int | None,
    txid: str,
    kind: str,
    chain: str,
) -> dict[str, Any]:
    """A notification in Tatum's default format; a mempool hit has no blockNumber."""
    out: dict[str, Any] = {"address": address, "amount": amount, "counterAddress": counter}
    out["asset"] = asset
    if block is not None:
        out["blockNumber"] = block
    out.update(txId=txid, type=kind, tokenId=None, chain=chain, subscriptionType="ADDRESS_EVENT")
    if block is None:
        out["mempool"] = True
    return out


class ChainPoller:
    def __init__(
        self,
        gateway: Gateway,
        session: aiohttp.ClientSession,
        watches: Watches,
        notify: Notify,
        *,
        interval: float = 0.1,
    ) -> None:
        self.gateway = gateway
        self._session = session
        self._watches = watches
        self._notify = notify
        self._interval = interval
        self._ids = itertools.count(1)
        self._headers = gateway.node_headers()
        self._height = 0
        self._mempool_seen: set[str] = set()
        self._decimals: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start from the node's current height (and mempool): only later payments count."""
        self._height = await self._head()
        if self.gateway.kind == "bitcoin":
            self._mempool_seen = set(await self.rpc("getrawmempool"))
        self._task = asyncio.create_task(self._run(), name=f"tatum-poll-{self.gateway.name}")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def rpc(self, method: str, *params: object) -> Any:
        version = "2.0" if self.gateway.kind == "evm" else "1.0"
        request = {"jsonrpc": version, "id": next(self._ids), "method": method, "params": params}
        data = json.dumps(request).encode()
        async with self._session.post(self.gateway.node_url, data=data, headers=self._headers) as r:
            raw = await r.read()
        answer = json.loads(raw, parse_float=Decimal)  # exact coin amounts
        if answer.get("error"):
            raise RpcError(f"{method}: {answer['error']}")
        return answer["result"]

    async def _head(self) -> int:
        if self.gateway.kind == "evm":
            return int(await self.rpc("eth_blockNumber"), 16)
        return int(await self.rpc("getblockcount"))

    async def _run(self) -> None:
        failing = False
        while True:
            try:
                await self._poll()
                failing = False
            except Exception as exc:  # a node hiccup (or the node stopped first): poll again
                if not failing:  # once per streak of failures
                    log.warning("tatum stand-in: polling %s failed: %r", self.gateway.name, exc)
                failing = True
            await asyncio.sleep(self._interval)

    async def _poll(self) -> None:
        head = await self._head()
        while self._height < head:
            number = self._height + 1
            if self.gateway.kind == "evm":
                await self._evm_block(number)
            else:
                block = await self.rpc("getblock", await self.rpc("getblockhash", number), 2)
                for tx in block["tx"]:
                    await self._bitcoin_tx(tx, number)
            self._height = number
        if self.gateway.kind == "bitcoin":
            await self._mempool()

    # -- EVM ------------------------------------------------------------------------------------
    async def _evm_block(self, number: int) -> None:
        gw = self.gateway
        block = await self.rpc("eth_getBlockByNumber", hex(number), True)
        for tx in block["transactions"]:
            to, value = (tx.get("to") or "").lower(), int(tx["value"], 16)
            if to and value > 0 and self._watches(gw, to):
                sender = tx["from"].lower()
                hit = body(
                    to,
                    units(value, 18),
                    sender,
                    gw.chain_code,
                    number,
                    tx["hash"],
                    "native",
                    gw.tatum_chain,
                )
                self._notify(gw, to, hit)
        query = {"fromBlock": hex(number), "toBlock": hex(number), "topics": [TRANSFER_TOPIC]}
        for entry in await self.rpc("eth_getLogs", query):
            topics = entry["topics"]
            if len(topics) != 3:  # ERC-721 Transfer indexes the token id too
                continue
            sender, receiver = "0x" + topics[1][-40:].lower(), "0x" + topics[2][-40:].lower()
            if not self._watches(gw, receiver):
                continue
            contract = entry["address"].lower()
            amount = units(int(entry["data"], 16), await self._token_decimals(contract))
            hit = body(
                sender,
                amount,
                receiver,
                contract,
                number,
                entry["transactionHash"],
                "token",
                gw.tatum_chain,
            )
            self._notify(gw, receiver, hit)

    async def _token_decimals(self, contract: str) -> int:
        if contract not in self._decimals:
            call = {"to": contract, "data": DECIMALS_CALL}
            self._decimals[contract] = int(await self.rpc("eth_call", call, "latest"), 16)
        return self._decimals[contract]

    # -- Bitcoin family -------------------------------------------------------------------------
    async def _mempool(self) -> None:
        pool = set(await self.rpc("getrawmempool"))
        for txid in sorted(pool - self._mempool_seen):
            self._mempool_seen.add(txid)
            try:
                tx = await self.rpc("getrawtransaction", txid, True)
            except RpcError:  # left the mempool meanwhile
                continue
            await self._bitcoin_tx(tx, None)
        self._mempool_seen &= pool

    async def _bitcoin_tx(self, tx: dict[str, Any], block: int | None) -> None:
        gw = self.gateway
        totals: dict[str, Decimal] = {}
        for out in tx["vout"]:
            address = output_address(out)
            if address is not None and self._watches(gw, address):
                totals[address] = totals.get(address, Decimal(0)) + Decimal(out["value"])
        if not totals:
            return
        counter = await self._first_input_address(tx)
        for address, total in totals.items():
            amount = units(int(total * 100_000_000), 8)
            hit = body(
                address, amount, counter, gw.chain_code, block, tx["txid"], "native", gw.tatum_chain
            )
            self._notify(gw, address, hit)

    async def _first_input_address(self, tx: dict[str, Any]) -> str | None:
        first = tx["vin"][0] if tx["vin"] else {}
        if "txid" not in first:  # coinbase
            return None
        try:
            funding = await self.rpc("getrawtransaction", first["txid"], True)
        except RpcError:  # no txindex on the node
            return None
        return output_address(funding["vout"][first["vout"]])
