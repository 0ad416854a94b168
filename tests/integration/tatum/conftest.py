"""Tatum test fixtures: the stand-in (with its API key), real nodes behind its gateways
(anvil with chain id 1, a Litecoin regtest node), and an inbox for notifications."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.support.anvil import Anvil, anvil_available, anvil_node
from tests.support.litecoind import Litecoind, litecoind_available, litecoind_node
from tests.support.tatum_standin import TatumStandin, tatum_standin

API_KEY = "t-66a0c0ffee0000000000000000-standin"


def evm_gateway(standin: TatumStandin, anvil: Anvil) -> str:
    return standin.add_gateway(
        "ethereum-mainnet",
        anvil.url,
        kind="evm",
        chain_code="ETH",
        testnet=False,
        tatum_chain="ethereum-mainnet",
    )


def ltc_gateway(standin: TatumStandin, node: Litecoind) -> str:
    return standin.add_gateway(
        "litecoin-core-testnet",
        node.url,
        kind="bitcoin",
        auth=(node.user, node.password),
        chain_code="LTC",
        testnet=True,
        tatum_chain="litecoin-core-testnet",
    )


@dataclass(frozen=True)
class Hook:
    path: str
    headers: dict[str, str]  # lowercase names
    body: bytes


class Inbox:
    """A store's notification URL on loopback: records every POST, answers as scripted."""

    def __init__(self) -> None:
        self.received: list[Hook] = []
        self.answers: list[int] = []  # statuses for the next requests; then 200
        self._lock = threading.Lock()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with inbox._lock:
                    inbox.received.append(Hook(self.path, headers, body))
                    status = inbox.answers.pop(0) if inbox.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/tatum") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def at(self, path: str) -> list[Hook]:
        with self._lock:
            return [hook for hook in self.received if hook.path == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    yield box
    box.close()


@pytest.fixture
def standin() -> Iterator[TatumStandin]:
    with tatum_standin(API_KEY) as started:
        yield started


@pytest.fixture
def api(standin: TatumStandin) -> Iterator[httpx.Client]:
    """An HTTP client for the stand-in with the right API key."""
    with httpx.Client(base_url=standin.api_url, headers={"x-api-key": API_KEY}) as client:
        yield client


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    if not anvil_available():
        pytest.skip("anvil missing: ./dev setup")
    with anvil_node("--chain-id", "1") as node:
        yield node


@pytest.fixture(scope="package")
def litecoind() -> Iterator[Litecoind]:
    if not litecoind_available():
        pytest.skip("litecoind missing: run ./dev setup as root")
    with litecoind_node() as node:
        node.fund()
        yield node
