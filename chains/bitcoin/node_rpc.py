"""One Bitcoin Core (or Litecoin Core) RPC endpoint: authentication and the calls paywatch makes.

Connections are not kept alive between requests: Bitcoin Core (0.21, and Litecoin Core)
waits for idle HTTP connections to time out (30 s) before it can shut down.

Authentication is a user and password (``rpcuser``/``rpcpassword`` or ``rpcauth``) or the
node's cookie file, which the node rewrites on every start: the file is read again when it
changes, so a restarted node is picked up without restarting paywatch.

Refusals that mean "not on this chain" (an unknown block hash, a height above the tip)
become :class:`~chains.watching.BlockNotFound`; any other refusal is the endpoint failing
(``ChainUnavailable``), since paywatch only makes calls a working node answers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from chains.jsonrpc import JsonRpcClient, RpcError, RpcObserver, redact_url
from chains.watching import BlockHeader, BlockNotFound, ChainUnavailable

# Bitcoin Core's RPC error codes (src/rpc/protocol.h).
RPC_INVALID_ADDRESS_OR_KEY = -5  # unknown block hash / transaction
RPC_INVALID_PARAMETER = -8  # block height out of range
_NOT_FOUND = {RPC_INVALID_ADDRESS_OR_KEY, RPC_INVALID_PARAMETER}


class BitcoinRpc:
    """Calls on one node, authenticated by user/password or cookie file."""

    def __init__(
        self,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        cookie_file: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        max_batch: int = 100,
        client: httpx.AsyncClient | None = None,
        observer: RpcObserver | None = None,
    ) -> None:
        self.url = redact_url(url)
        self.observer = observer  # hears of every request (see chains.jsonrpc)
        self._raw_url = url
        self._fixed_auth = (user, password or "") if user is not None else None
        self._cookie = Path(cookie_file) if cookie_file else None
        self._cookie_stamp: tuple[float, int] | None = None
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._max_batch = max_batch
        # No idle keep-alive connections: Bitcoin Core (0.21 and Litecoin Core at least)
        # waits for open HTTP connections to time out before it finishes shutting down.
        self._http = client or httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self._owns_http = client is None
        self._rpc: JsonRpcClient | None = None

    def _client(self) -> JsonRpcClient:
        if self._cookie is not None:
            try:
                stat = os.stat(self._cookie)
            except OSError as exc:
                raise ChainUnavailable(
                    f"{self.url}: cannot read the cookie file {self._cookie}: {exc.strerror}"
                ) from None
            stamp = (stat.st_mtime, stat.st_size)
            if self._rpc is None or stamp != self._cookie_stamp:
                self._rpc = self._make(self._read_cookie())
                self._cookie_stamp = stamp
        elif self._rpc is None:
            self._rpc = self._make(self._fixed_auth)
        return self._rpc

    def _read_cookie(self) -> tuple[str, str]:
        assert self._cookie is not None
        try:
            text = self._cookie.read_text().strip()
        except OSError as exc:
            raise ChainUnavailable(
                f"{self.url}: cannot read the cookie file {self._cookie}: {exc.strerror}"
            ) from None
        user, sep, password = text.partition(":")
        if not sep:
            raise ChainUnavailable(f"{self.url}: the cookie file {self._cookie} is not user:pass")
        return user, password

    def _make(self, auth: tuple[str, str] | None) -> JsonRpcClient:
        return JsonRpcClient(
            self._raw_url,
            auth=auth,
            headers=self._headers,
            timeout=self._timeout,
            version="1.0",
            max_batch=self._max_batch,
            client=self._http,
            observer=self.observer,
        )

    @property
    def requests_sent(self) -> int:
        return self._rpc.requests_sent if self._rpc is not None else 0

    async def call(self, method: str, *params: object) -> Any:
        try:
            return await self._client().call(method, params)
        except RpcError as exc:
            raise _refusal(self.url, method, exc) from None

    async def batch(self, calls: Sequence[tuple[str, Sequence[object]]]) -> list[Any | RpcError]:
        return await self._client().batch(calls)

    async def batch_strict(self, method: str, params: Sequence[Sequence[object]]) -> list[Any]:
        """``method`` once per parameter list; any refusal raises (see :func:`_refusal`)."""
        answers = await self.batch([(method, p) for p in params])
        for answer in answers:
            if isinstance(answer, RpcError):
                raise _refusal(self.url, method, answer)
        return answers

    async def block_hashes(self, heights: Sequence[int]) -> list[str]:
        return [str(h) for h in await self.batch_strict("getblockhash", [[h] for h in heights])]

    async def headers(self, hashes: Sequence[str]) -> list[BlockHeader]:
        answers = await self.batch_strict("getblockheader", [[h, True] for h in hashes])
        return [header_of(answer) for answer in answers]

    async def best_header(self) -> tuple[BlockHeader, dict[str, Any]]:
        """The tip's header and ``getblockchaininfo``."""
        info = await self.call("getblockchaininfo")
        if not isinstance(info, dict) or "bestblockhash" not in info:
            raise ChainUnavailable(f"{self.url}: getblockchaininfo: unexpected answer")
        (header,) = await self.headers([str(info["bestblockhash"])])
        return header, info

    async def transaction(self, txid: str, block_hash: str | None = None) -> dict[str, Any] | None:
        """``getrawtransaction`` (verbose), or None when the node has no such transaction
        (outside the mempool it needs ``-txindex``, or the block it is in)."""
        params: tuple[object, ...] = (txid, True)
        if block_hash is not None:
            params += (block_hash,)
        try:
            found = await self._client().call("getrawtransaction", params)
        except RpcError as exc:
            if exc.code in _NOT_FOUND:
                return None
            raise _refusal(self.url, "getrawtransaction", exc) from None
        return found if isinstance(found, dict) else None

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()


def header_of(answer: Any) -> BlockHeader:
    """A ``getblockheader`` (verbose) answer as a BlockHeader."""
    try:
        return BlockHeader(
            height=int(answer["height"]),
            hash=str(answer["hash"]),
            parent_hash=str(answer.get("previousblockhash") or "00" * 32),
            timestamp=int(answer["time"]),
        )
    except (KeyError, TypeError, ValueError):
        raise ChainUnavailable(f"getblockheader: unexpected answer {str(answer)[:200]}") from None


def _refusal(url: str, method: str, exc: RpcError) -> ChainUnavailable:
    if exc.code in _NOT_FOUND:
        return BlockNotFound(f"{url}: {method}: {exc.message}")
    return ChainUnavailable(f"{url}: {method} refused: {exc.message} (code {exc.code})")
