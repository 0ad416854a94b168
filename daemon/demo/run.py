"""Run the demo: start the dev chains, the store and the daemon, run the tour under a
deadline, then stop every child process and remove every temp dir, on every path
(success, failure, deadline, Ctrl-C)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click
import httpx

from chains.waiting import wait_for_any
from daemon.config.loading import ConfigError, parse_config
from daemon.demo.nodes import (
    FUNDED_ACCOUNT,
    NodeError,
    find_anvil,
    find_litecoind,
    start_anvil,
    start_litecoind,
)
from daemon.demo.settings import EvmChain, LitecoinChain, config_text, new_webhook_secret
from daemon.demo.store import Store
from daemon.demo.token import deploy_token
from daemon.demo.tour import Board, Chains, Tour
from daemon.demo.view import LiveView
from daemon.errors import DemoError
from daemon.runtime.container import build
from daemon.runtime.server import serve
from daemon.services.apikeys import create_key
from daemon.storage.migrations import upgrade

DEADLINE_SECONDS = 90.0
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class DemoFailed(DemoError):
    """The demo did not finish; the reason is already printed."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Demo:
    """Everything the demo starts; each part is registered on ``stack`` to be stopped."""

    def __init__(
        self, stack: contextlib.AsyncExitStack, view: LiveView, workdir: Path | None, port: int
    ) -> None:
        self.stack = stack
        self.view = view
        self.say = view.log
        self.workdir = workdir
        self.port = port
        self.tour: Tour | None = None
        self.board: Board | None = None
        self.api_url = self.api_key = ""
        self.chains: Chains | None = None
        self.store: Store | None = None

    async def run(self) -> None:
        tmp = Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix="paywatch-demo-")))
        base = self.workdir or tmp
        if (base / "paywatch.db").exists():
            raise DemoFailed(f"{base} already holds a demo database: give an empty --dir")
        self.chains = chains = await self.start_chains(tmp)
        self.store = store = Store(new_webhook_secret(), self.say)
        await store.serve()
        self.stack.push_async_callback(store.stop)
        self.say(f"store: listening at {store.url}, verifying each webhook's signature")
        await self.start_daemon(base, chains, store)
        api = httpx.AsyncClient(
            base_url=self.api_url, headers={"Authorization": f"Bearer {self.api_key}"}, timeout=10
        )
        self.stack.push_async_callback(api.aclose)
        self.board = board = Board(api, self.view)
        self.stack.push_async_callback(cancel, asyncio.create_task(board.run()))
        self.tour = Tour(api, chains, store, board, self.view)
        await self.tour.run()

    async def start_chains(self, tmp: Path) -> Chains:
        anvil_binary = find_anvil()
        if anvil_binary is None:
            raise DemoFailed(
                "anvil not found: run ./dev setup (npm ci installs it) or put anvil on PATH"
            )
        anvil = await start_anvil(anvil_binary, tmp / "anvil")
        self.stack.push_async_callback(anvil.stop)
        token = await deploy_token(anvil)
        self.say(f"chain: anvil (EVM, chain id {anvil.chain_id}) at {anvil.url}; USDC at {token}")
        litecoind = None
        binary = find_litecoind()
        if binary is None:
            self.say(
                "chain: litecoind is not installed: no LTC order (./dev setup as root adds it)"
            )
        else:
            litecoind = await start_litecoind(binary, tmp / "litecoind")
            self.stack.push_async_callback(litecoind.stop)
            self.say(f"chain: litecoind (Litecoin regtest) at {litecoind.url}, wallet funded")
        return Chains(anvil, token, litecoind)

    async def start_daemon(self, base: Path, chains: Chains, store: Store) -> None:
        anvil, node = chains.anvil, chains.litecoind
        evm = EvmChain(anvil.url, anvil.ws_url, anvil.chain_id, chains.token)
        litecoin = None
        if node is not None:
            height = await node.height()
            litecoin = LitecoinChain(node.url, node.user, node.password, height)
        text = config_text(
            base / "paywatch.db",
            port=self.port,
            store_url=store.url,
            secret=store.secret,
            evm=evm,
            litecoin=litecoin,
        )
        if self.workdir is not None:
            (self.workdir / "config.yaml").write_text(text)
        container = build(parse_config(text, env={}, source="the demo's config"))
        self.stack.callback(container.close)
        await asyncio.to_thread(upgrade, container.db.engine)
        _, self.api_key = container.db.write(lambda c: create_key(c, "demo", container.clock()))
        ready: asyncio.Future[tuple[str, int]] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()
        daemon = asyncio.create_task(
            serve(
                container,
                migrate=False,
                on_ready=lambda host, port: ready.set_result((host, port)),
                install_signal_handlers=False,
                shutdown=stop,
            ),
            name="paywatch",
        )

        async def stop_daemon() -> None:
            stop.set()
            await asyncio.gather(daemon, return_exceptions=True)

        self.stack.push_async_callback(stop_daemon)
        starting: list[asyncio.Future[Any]] = [ready, daemon]
        await asyncio.wait(starting, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            daemon.result()  # raises why it did not start
            raise DemoFailed("the daemon stopped before it was ready")
        host, port = ready.result()
        self.api_url = f"http://{host}:{port}"
        watched = "eth" + (" and ltc" if node is not None else "")
        self.say(f"paywatch: API at {self.api_url}, on SQLite in {base}, watching {watched}\n")

    def keep_running_help(self) -> list[str]:
        chains, json_type = self.chains, "-H 'Content-Type: application/json'"
        lines = ["", "Everything keeps running until Ctrl-C."]
        lines.append(f"  paywatch API  {self.api_url}  (Authorization: Bearer {self.api_key})")
        if self.store is not None:
            lines.append(f"  store        {self.store.url}")
        if chains is None:
            return lines
        lines.append(f"  anvil        {chains.anvil.url}  ({FUNDED_ACCOUNT} is funded)")
        if chains.litecoind is not None:
            node = chains.litecoind
            lines.append(f"  litecoind    {node.url}  (user {node.user}, password {node.password})")
        order = '{"order_id": "mine", "chain": "eth", "asset": "ETH", "amount": "1"}'
        pay = (
            '{"jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction", "params": [{"from": "'
            + FUNDED_ACCOUNT
            + '", "to": "ADDRESS", "value": "0xde0b6b3a7640000"}]}'
        )
        lines += [
            "Make an order, then pay it 1 ETH from anvil's funded account:",
            f"  curl -H 'Authorization: Bearer {self.api_key}' {json_type} -d '{order}'"
            f" {self.api_url}/v1/orders",
            f"  curl {json_type} -d '{pay}' {chains.anvil.url}",
        ]
        return lines


async def cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def until_stopped(
    work: Coroutine[Any, Any, None], stop: asyncio.Event, deadline: float | None
) -> str:
    """Run ``work``: ``"done"``, or ``"stopped"`` (a signal) or ``"deadline"`` (cancelled)."""
    task = asyncio.create_task(work)
    await wait_for_any(stop, task, timeout=deadline)
    if task.done():
        task.result()
        return "done"
    await cancel(task)
    return "stopped" if stop.is_set() else "deadline"


async def run_demo(
    workdir: Path | None = None,
    *,
    keep_running: bool = False,
    port: int = 0,
    deadline: float = DEADLINE_SECONDS,
) -> None:
    """The whole demo; raises :class:`DemoFailed` (with the exit code) unless it finished."""
    view = LiveView.for_stdout()
    started = time.monotonic()
    stop = asyncio.Event()
    caught: list[int] = []
    loop = asyncio.get_running_loop()

    def on_signal(sig: int) -> None:
        caught.append(sig)
        stop.set()

    for sig in SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        async with contextlib.AsyncExitStack() as stack:
            demo = Demo(stack, view, workdir, port)
            try:
                outcome = await until_stopped(demo.run(), stop, deadline)
            except (NodeError, DemoFailed, ConfigError, httpx.HTTPError) as exc:
                view.close()
                click.echo(f"\nThe demo failed: {exc}", err=True)
                raise DemoFailed(str(exc)) from None
            if outcome == "deadline":
                view.close()
                missing = demo.tour.waiting_for() if demo.tour else ["the start"]
                click.echo(
                    f"\nThe demo did not finish within {deadline:.0f} s; still waiting for:\n"
                    + "\n".join(f"  - {line}" for line in missing),
                    err=True,
                )
                raise DemoFailed("deadline")
            if outcome == "stopped":
                view.close()
                click.echo("\nInterrupted: stopping everything.")
                raise DemoFailed("interrupted", exit_code=128 + (caught or [signal.SIGINT])[0])
            assert demo.tour is not None
            if keep_running:
                for line in [*demo.tour.summary(), *demo.keep_running_help()]:
                    view.log(line)
                waiting = await demo.tour.open_order()
                view.log("An open order (25.00 EUR in any coin), to pay from its checkout page:")
                view.log(f"  {waiting['checkout_url']}")
                await stop.wait()
                view.close()
                click.echo("\nStopping everything.")
            else:
                view.close()
                click.echo("\n".join(demo.tour.summary()))
                click.echo(f"Demo finished in {time.monotonic() - started:.1f} s.")
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)
