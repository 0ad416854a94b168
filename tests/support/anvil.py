"""A real anvil node for tests: started on a free loopback port, killed afterwards.

anvil comes from the npm package ``@foundry-rs/anvil-linux-amd64`` pinned in
package.json (``./dev setup`` runs ``npm ci``). :func:`anvil_node` is a context manager; the
:class:`Anvil` it yields has synchronous helpers to mine, send, deploy and call
contracts, and can be stopped and restarted on the same port with its state.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from chains.evm.extraction import header_of
from chains.watching import BlockHeader

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "evm"
# The default anvil accounts (the "test test ... junk" mnemonic), all funded.
ACCOUNTS = (
    "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
)


def anvil_binary() -> str | None:
    for local in (
        ROOT / "node_modules" / ".bin" / "anvil",
        ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil",
    ):
        if local.exists():
            return str(local)
    return shutil.which("anvil")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Artifact:
    abi: list[dict[str, Any]]
    bytecode: str


def load_artifact(name: str) -> Artifact:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    return Artifact(abi=data["abi"], bytecode=data["bytecode"])


class Anvil:
    """One anvil process (restartable on the same port and state file)."""

    def __init__(self, args: Sequence[str], workdir: Path) -> None:
        binary = anvil_binary()
        if binary is None:
            raise RuntimeError("anvil not found: run ./dev setup (npm ci)")
        self.binary = binary
        self.port = free_port()
        self.workdir = workdir
        self.state_file = workdir / "state.json"
        self.args = list(args)
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._http = httpx.Client(timeout=30.0)
        self._ids = 0

    def start(self) -> None:
        log = (self.workdir / "anvil.log").open("ab")
        cmd = [
            self.binary,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--cache-path",
            str(self.workdir / "cache"),
            "--state",
            str(self.state_file),
            "--preserve-historical-states",
            *self.args,
        ]
        self.process = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=self.workdir)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.workdir / "anvil.log").read_text()[-2000:]
                raise RuntimeError(f"anvil exited at start: {tail}")
            with contextlib.suppress(httpx.HTTPError):
                self.rpc("eth_chainId")
                return
            time.sleep(0.05)
        raise RuntimeError("anvil did not answer within 30 s")

    def stop(self) -> None:
        """Stop gracefully (anvil writes its state file so a restart resumes)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        self._http.close()

    # --- JSON-RPC ---------------------------------------------------------------

    def rpc(self, method: str, *params: object) -> Any:
        self._ids += 1
        body = {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": list(params)}
        answer = self._http.post(self.url, json=body).json()
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def height(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def header(self, height: int | None = None) -> BlockHeader:
        """The block at ``height`` (the latest by default), as the EVM source reads it."""
        tag = "latest" if height is None else hex(height)
        return header_of(self.rpc("eth_getBlockByNumber", tag, False))

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))

    def send(
        self,
        to: str,
        value: int,
        *,
        sender: str = ACCOUNTS[0],
        data: str = "0x",
        gas: int | None = None,
        wait: bool = True,
    ) -> str:
        """Send from a funded account; ``wait``: until mined (automine; off for --no-mining)."""
        tx = {"from": sender, "to": to, "value": hex(value), "data": data}
        if gas is not None:
            tx["gas"] = hex(gas)  # skips estimation, so a failing call is still sent
        tx_hash = str(self.rpc("eth_sendTransaction", tx))
        if wait:
            self.receipt(tx_hash)
        return tx_hash

    def receipt(self, tx_hash: str, *, wait: float = 10.0) -> dict[str, Any]:
        """The receipt, waiting for it (automine answers before the block is stored)."""
        deadline = time.monotonic() + wait
        while True:
            result: dict[str, Any] | None = self.rpc("eth_getTransactionReceipt", tx_hash)
            if result is not None or time.monotonic() > deadline:
                if result is None:
                    raise RuntimeError(f"no receipt for {tx_hash}")
                return result
            time.sleep(0.01)

    def deploy(self, artifact: Artifact, ctor_args: str = "", *, sender: str = ACCOUNTS[0]) -> str:
        """Deploy and mine; returns the contract address (lowercase 0x hex)."""
        tx = {"from": sender, "data": artifact.bytecode + ctor_args, "gas": hex(3_000_000)}
        tx_hash = self.rpc("eth_sendTransaction", tx)
        self.mine()
        receipt = self.receipt(tx_hash)
        if receipt["status"] != "0x1":
            raise RuntimeError(f"deploy failed: {receipt}")
        return str(receipt["contractAddress"])

    def balance(self, address: str) -> int:
        return int(self.rpc("eth_getBalance", address, "latest"), 16)


@contextlib.contextmanager
def anvil_node(*args: str, state_from: Path | None = None) -> Iterator[Anvil]:
    """An anvil on a free loopback port with its cache and state in a temp dir.

    ``state_from``: a state file another anvil wrote on stop, to start from its chain.
    """
    workdir = Path(tempfile.mkdtemp(prefix="paywatch-anvil-"))
    node = Anvil(args, workdir)
    if state_from is not None:
        shutil.copyfile(state_from, node.state_file)
    try:
        node.start()
        yield node
    finally:
        node.close()
        shutil.rmtree(workdir, ignore_errors=True)


def anvil_available() -> bool:
    """Whether the anvil tests can run; under CI a missing anvil fails them instead."""
    return anvil_binary() is not None or bool(os.environ.get("CI"))


def call_data(signature: str, *args: object) -> str:
    """ABI-encoded call data for ``signature`` like ``"transfer(address,uint256)"``."""
    from eth_abi.abi import encode

    from chains.evm.keccak import keccak256

    types = signature[signature.index("(") + 1 : -1]
    arg_types = _split_types(types)
    selector = keccak256(signature.encode())[:4]
    return "0x" + (selector + encode(arg_types, list(args))).hex()


def _split_types(types: str) -> list[str]:
    out: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(types):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(types[start:i])
            start = i + 1
    if types:
        out.append(types[start:])
    return out
