"""A real Litecoin Core regtest node for tests (Bitcoin Core's RPC), on free loopback ports.

Debian's ``litecoind`` (``./dev setup`` installs it as root). :func:`litecoind_node` is a
context manager; the :class:`Litecoind` it yields has a wallet and synchronous helpers to
mine, send, bump fees and reorganise, and can be stopped and restarted on the same
datadir. The temp datadir is removed afterwards and the process never outlives the test.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from chains.bitcoin.networks import get_network
from chains.bitcoin.node_rpc import BitcoinRpc
from chains.bitcoin.source import BitcoinSource

LITECOIND = "/usr/bin/litecoind"
USER, PASSWORD = "paywatch", "regtest-password"


def litecoind_binary() -> str | None:
    return LITECOIND if Path(LITECOIND).exists() else shutil.which("litecoind")


def litecoind_available() -> bool:
    """Whether the litecoind tests can run; under CI a missing litecoind fails them."""
    return litecoind_binary() is not None or bool(os.environ.get("CI"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RpcFailed(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"RPC error {code}: {message}")
        self.code = code


class Litecoind:
    """One regtest node with a default wallet; restartable on the same datadir and port."""

    def __init__(self, datadir: Path, *, cookie: bool = False) -> None:
        binary = litecoind_binary()
        if binary is None:
            raise RuntimeError("litecoind is not installed: run ./dev setup as root")
        self.binary = binary
        self.datadir = datadir
        self.rpc_port = free_port()
        self.url = f"http://127.0.0.1:{self.rpc_port}"
        self.user, self.password = USER, PASSWORD
        self.cookie_file = datadir / "regtest" / ".cookie" if cookie else None
        self.process: subprocess.Popen[bytes] | None = None
        self._http = httpx.Client(timeout=60.0)
        self._ids = itertools.count(1)
        (datadir / "litecoin.conf").write_text(
            "regtest=1\nserver=1\n[regtest]\n"
            f"listen=0\nrpcbind=127.0.0.1\nrpcallowip=127.0.0.1\nrpcport={self.rpc_port}\n"
            f"port={free_port()}\n"
            + ("" if cookie else f"rpcuser={USER}\nrpcpassword={PASSWORD}\n")
            + "txindex=1\nfallbackfee=0.0002\nwalletrbf=1\nmempoolreplacement=1\n"
            "vbparams=mweb:-2:0\nprinttoconsole=0\ndiscover=0\ndnsseed=0\n"
        )

    # -- process ----------------------------------------------------------------------------
    def start(self) -> None:
        log = (self.datadir / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, f"-datadir={self.datadir}"], stdout=log, stderr=log
        )
        log.close()
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"litecoind exited: {self._log_tail()}")
            try:
                self.rpc("getblockcount")
                break
            except (httpx.HTTPError, RpcFailed, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"litecoind did not answer: {self._log_tail()}") from None
                time.sleep(0.05)
        wallets = self.rpc("listwallets")
        if "" not in wallets:
            try:
                self.rpc("loadwallet", "")
            except RpcFailed:
                self.rpc("createwallet", "")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(httpx.HTTPError, RpcFailed):
            self.rpc("stop")
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _log_tail(self) -> str:
        path = self.datadir / "stdout.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def close(self) -> None:
        self.stop()
        self._http.close()

    # -- RPC --------------------------------------------------------------------------------
    def rpc(self, method: str, *params: object) -> Any:
        body = {"jsonrpc": "1.0", "id": next(self._ids), "method": method, "params": params}
        auth = (self.user, self.password)
        if self.cookie_file is not None:
            user, _, password = self.cookie_file.read_text().partition(":")
            auth = (user, password)
        resp = self._http.post(self.url, json=body, auth=auth)
        if resp.status_code == 401:
            raise httpx.HTTPError("401 Unauthorized")
        answer = resp.json()
        if answer.get("error"):
            raise RpcFailed(answer["error"]["code"], answer["error"]["message"])
        return answer["result"]

    # -- helpers ----------------------------------------------------------------------------
    def new_address(self, kind: str = "bech32") -> str:
        return str(self.rpc("getnewaddress", "", kind))

    def mine(self, blocks: int = 1, address: str | None = None) -> list[str]:
        return list(self.rpc("generatetoaddress", blocks, address or self.new_address()))

    def fund(self, blocks: int = 101) -> None:
        """Mine enough blocks that the wallet has mature coins to spend."""
        self.mine(blocks)

    def send(self, address: str, amount: Decimal | str) -> str:
        return str(self.rpc("sendtoaddress", address, str(amount)))

    def send_many(self, amounts: Mapping[str, Decimal | str]) -> str:
        return str(self.rpc("sendmany", "", {a: str(v) for a, v in amounts.items()}))

    def bump_fee(self, txid: str) -> str:
        return str(self.rpc("bumpfee", txid)["txid"])

    def redirect(self, txid: str, address: str) -> str:
        """Replace an unconfirmed wallet payment (RBF) with one paying ``address`` instead."""
        tx = self.rpc("gettransaction", txid)
        decoded = self.rpc("decoderawtransaction", tx["hex"])
        inputs = [{"txid": i["txid"], "vout": i["vout"]} for i in decoded["vin"]]
        total = sum(Decimal(str(o["value"])) for o in decoded["vout"])
        fee = -Decimal(str(tx["fee"]))
        amount = total - fee * 3  # a higher fee than the original, everything to ``address``
        raw = self.rpc("createrawtransaction", inputs, {address: str(amount)}, 0, True)
        signed = self.rpc("signrawtransactionwithwallet", raw)
        return str(self.rpc("sendrawtransaction", signed["hex"]))

    def block_hash(self, height: int) -> str:
        return str(self.rpc("getblockhash", height))

    def height(self) -> int:
        return int(self.rpc("getblockcount"))

    def invalidate(self, block_hash: str) -> None:
        self.rpc("invalidateblock", block_hash)

    def reconsider(self, block_hash: str) -> None:
        self.rpc("reconsiderblock", block_hash)

    def mempool(self) -> list[str]:
        return list(self.rpc("getrawmempool"))


@contextlib.contextmanager
def litecoind_node(*, cookie: bool = False) -> Iterator[Litecoind]:
    """A started regtest node in a fresh temp datadir; stopped (or killed) and removed after.

    ``cookie``: no rpcuser/rpcpassword; clients authenticate with the node's cookie file.
    """
    datadir = Path(tempfile.mkdtemp(prefix="paywatch-ltc-"))
    node = Litecoind(datadir, cookie=cookie)
    try:
        node.start()
        yield node
    finally:
        node.close()
        shutil.rmtree(datadir, ignore_errors=True)


@contextlib.asynccontextmanager
async def source_for(node: Litecoind, **options: Any) -> AsyncIterator[BitcoinSource]:
    """A BitcoinSource (Litecoin regtest, asset LTC) over ``node``, closed afterwards."""
    if node.cookie_file is not None:
        rpc = BitcoinRpc(node.url, cookie_file=str(node.cookie_file))
    else:
        rpc = BitcoinRpc(node.url, user=node.user, password=node.password)
    source = BitcoinSource(
        [rpc], network=get_network("litecoin", "regtest"), asset="LTC", **options
    )
    try:
        yield source
    finally:
        await source.aclose()
