"""The demo's local dev chains: anvil (EVM) and, when installed, a Litecoin Core regtest node.

Each runs as a child process on a free loopback port with its data in a directory the
demo removes afterwards. Children run in their own session, so a Ctrl-C reaches only the
demo, which stops them in order (SIGTERM, then SIGKILL if they linger). On Linux each
child is also told to take SIGTERM when the demo dies, so even a demo killed with
SIGKILL leaves no node running.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from daemon.errors import DemoError

# anvil from the npm package pinned in package.json (``npm ci`` puts it here).
ANVIL_PATHS = (
    Path("node_modules/.bin/anvil"),
    Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"),
)
LITECOIND = Path("/usr/bin/litecoind")  # Debian's litecoind (Litecoin Core, Bitcoin Core's RPC)
REPOSITORY = Path(__file__).resolve().parents[2]  # the checkout, when installed editable
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent thread dies
# anvil's first default account ("test test ... junk" mnemonic), funded on every fresh chain.
FUNDED_ACCOUNT = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
START_SECONDS = 30.0
STOP_SECONDS = 15.0


class NodeError(DemoError):
    """A dev chain could not be started or refused a call."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_anvil(cwd: Path | None = None) -> str | None:
    """anvil on PATH, else from node_modules under ``cwd`` or the checkout paywatch runs from."""
    found = shutil.which("anvil")
    if found:
        return found
    for root in (cwd or Path.cwd(), REPOSITORY):
        for relative in ANVIL_PATHS:
            if _executable(root / relative):
                return str(root / relative)
    return None


def find_litecoind() -> str | None:
    return str(LITECOIND) if _executable(LITECOIND) else shutil.which("litecoind")


class JsonRpc:
    """A JSON-RPC client for one node (HTTP, optional basic auth)."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None) -> None:
        self.url = url
        self._client = httpx.AsyncClient(timeout=30.0, auth=auth)
        self._ids = itertools.count(1)

    async def __call__(self, method: str, *params: object) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        response = await self._client.post(self.url, json=body)
        if response.status_code in (401, 403):
            raise NodeError(f"{method}: the node refused our credentials")
        answer = response.json()
        if answer.get("error"):
            raise NodeError(f"{method}: {answer['error']}")
        return answer["result"]

    async def aclose(self) -> None:
        await self._client.aclose()


def _parent_death_signal() -> Any:
    """A function for ``preexec_fn`` that has the child take SIGTERM when the demo dies
    (Linux); None elsewhere. libc is looked up here, in the parent: between fork and
    exec the child only makes the one call."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return in_child


class Node:
    """A child process that answers JSON-RPC on loopback once it is up."""

    def __init__(self, name: str, argv: list[str], workdir: Path, rpc: JsonRpc) -> None:
        self.name = name
        self.argv = argv
        self.workdir = workdir
        self.rpc = rpc
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.rpc.url

    async def start(self, probe: str) -> None:
        """Start the process and wait until ``probe`` (an RPC method) answers."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "node.log").open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                start_new_session=True,
                preexec_fn=_parent_death_signal(),  # noqa: PLW1509 - one libc call, no locks
            )
        deadline = time.monotonic() + START_SECONDS
        while True:
            if self.process.poll() is not None:
                raise NodeError(f"{self.name} exited at start: {self.log_tail()}")
            try:
                await self.rpc(probe)
                return
            except (httpx.HTTPError, NodeError, ValueError):
                if time.monotonic() > deadline:
                    raise NodeError(f"{self.name} did not answer: {self.log_tail()}") from None
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """SIGTERM, wait, then SIGKILL: the process never outlives the demo."""
        await self.rpc.aclose()
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)

    def log_tail(self) -> str:
        path = self.workdir / "node.log"
        with contextlib.suppress(OSError):
            return path.read_text(errors="replace")[-1500:].strip()
        return ""


class Anvil(Node):
    """anvil with automining: every transaction is mined into its own block at once."""

    chain_id = 31337

    def __init__(self, binary: str, workdir: Path) -> None:
        port = free_port()
        argv = [binary, "--host", "127.0.0.1", "--port", str(port)]
        # Without --cache-path anvil keeps every block's state in ~/.foundry forever.
        argv += ["--cache-path", str(workdir / "cache")]
        super().__init__("anvil", argv, workdir, JsonRpc(f"http://127.0.0.1:{port}"))
        self.ws_url = f"ws://127.0.0.1:{port}"

    async def height(self) -> int:
        return int(await self.rpc("eth_blockNumber"), 16)

    async def transact(self, to: str | None, *, value: int = 0, data: str = "0x") -> str:
        """Send from the funded account, wait for the receipt; the tx hash (or raise)."""
        tx: dict[str, str] = {"from": FUNDED_ACCOUNT, "value": hex(value), "data": data}
        if to is not None:
            tx["to"] = to
        tx_hash = str(await self.rpc("eth_sendTransaction", tx))
        receipt = await self.receipt(tx_hash)
        if receipt["status"] != "0x1":
            raise NodeError(f"transaction {tx_hash} failed: {receipt}")
        return tx_hash

    async def receipt(self, tx_hash: str) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while True:
            receipt: dict[str, Any] | None = await self.rpc("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                return receipt
            if time.monotonic() > deadline:
                raise NodeError(f"no receipt for {tx_hash}")
            await asyncio.sleep(0.02)


class Litecoind(Node):
    """A regtest node (Litecoin Core 0.21: Bitcoin Core's RPC) with a funded wallet."""

    user = "paywatch-demo"

    def __init__(self, binary: str, workdir: Path) -> None:
        port = free_port()
        self.password = secrets.token_hex(16)
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "litecoin.conf").write_text(
            "regtest=1\nserver=1\n[regtest]\n"
            f"listen=0\nrpcbind=127.0.0.1\nrpcallowip=127.0.0.1\nrpcport={port}\n"
            f"port={free_port()}\nrpcuser={self.user}\nrpcpassword={self.password}\n"
            "txindex=1\nfallbackfee=0.0002\nwalletrbf=1\nmempoolreplacement=1\n"
            # MWEB would activate at height 432 and break mining on regtest.
            "vbparams=mweb:-2:0\nprinttoconsole=0\ndiscover=0\ndnsseed=0\n"
        )
        rpc = JsonRpc(f"http://127.0.0.1:{port}", (self.user, self.password))
        super().__init__("litecoind", [binary, f"-datadir={workdir}"], workdir, rpc)

    async def fund(self) -> None:
        """A wallet with mature coins: 101 blocks mined to it."""
        await self.rpc("createwallet", "demo")
        await self.mine(101)

    async def height(self) -> int:
        return int(await self.rpc("getblockcount"))

    async def mine(self, blocks: int = 1) -> None:
        address = await self.rpc("getnewaddress", "", "bech32")
        await self.rpc("generatetoaddress", blocks, address)

    async def send(self, address: str, amount: str) -> str:
        """Pay ``amount`` (a decimal string in LTC) from the wallet; the txid."""
        return str(await self.rpc("sendtoaddress", address, amount))


async def start_anvil(binary: str, workdir: Path) -> Anvil:
    node = Anvil(binary, workdir)
    try:
        await node.start("eth_chainId")
    except BaseException:
        await node.stop()
        raise
    return node


async def start_litecoind(binary: str, workdir: Path) -> Litecoind:
    node = Litecoind(binary, workdir)
    try:
        await node.start("getblockcount")
        await node.fund()
    except BaseException:
        await node.stop()
        raise
    return node
