"""A JSON-RPC proxy in front of a node, switched between ways of failing (endpoint tests).

:class:`RpcProxy` listens on a free 127.0.0.1 port (threaded, one thread per request)
and forwards each POST to the upstream node, or fails as :meth:`RpcProxy.set` says:

* ``ok``: forward;
* ``refused``: the port is closed (connections are refused); it listens again on the
  same port when set back;
* ``502``: HTTP 502 with a plain-text body, as a load balancer whose node is down;
* ``frozen``: the head stands still: ``eth_blockNumber`` and
  ``eth_getBlockByNumber("latest")`` answer with the block that was the head when the
  mode was set; everything else is forwarded (a node that stopped following the chain);
* ``lagging``: the head is ``lag`` blocks behind the node's;
* ``slow``: nothing is answered for ``delay`` seconds (or until the mode changes).

Every JSON-RPC call that reaches it is counted by method (a head asked for with
``eth_getBlockByNumber("latest")`` as ``HEAD``): :meth:`RpcProxy.take_calls`.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import httpx

Mode = Literal["ok", "refused", "502", "frozen", "lagging", "slow"]
HEAD = 'eth_getBlockByNumber("latest")'


class RpcProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode: Mode = "ok"
        self.lag = 0
        self.delay = 30.0
        self.frozen_height: int | None = None
        self.requests = 0
        self.calls: Counter[str] = Counter()
        self._count_lock = threading.Lock()
        self._changed = threading.Event()  # cuts a slow answer short when the mode changes
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._http = httpx.Client(timeout=30.0)
        self.port: int = 0
        self._listen(0)
        assert self._server is not None
        self.port = int(self._server.server_address[1])
        self.url: str = f"http://127.0.0.1:{self.port}"

    # --- switching ---------------------------------------------------------------

    def set(self, mode: Mode, *, lag: int = 3, delay: float = 30.0) -> None:
        with self._lock:
            if mode == "frozen":
                self.frozen_height = int(self._upstream("eth_blockNumber", []), 16)
            self.lag, self.delay = lag, delay
            if mode == "refused" and self._server is not None:
                self._close_server()
            elif mode != "refused" and self._server is None:
                self._listen(self.port)
            self.mode = mode
            self._changed.set()
            self._changed = threading.Event()

    def take_calls(self) -> Counter[str]:
        """The calls counted since the last take (by method), and zero the count."""
        with self._count_lock:
            taken, self.calls = self.calls, Counter()
        return taken

    def close(self) -> None:
        with self._lock:
            self._changed.set()
            self._close_server()
        self._http.close()

    # --- serving -----------------------------------------------------------------

    def _listen(self, port: int) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, payload = proxy._answer(body)
                self.send_response(status)
                ctype = "application/json" if status == 200 else "text/plain"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the client gave up (a timeout)
                    self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def _close_server(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _answer(self, body: bytes) -> tuple[int, bytes]:
        self.requests += 1
        mode, changed = self.mode, self._changed
        if mode == "slow":
            changed.wait(self.delay)
        if mode == "502":
            return 502, b"Bad Gateway"
        request = json.loads(body)
        if isinstance(request, list):
            answer: object = [self._one(r, mode) for r in request]
        else:
            answer = self._one(request, mode)
        return 200, json.dumps(answer).encode()

    def _one(self, request: dict[str, Any], mode: Mode) -> dict[str, Any]:
        method, params = request.get("method"), list(request.get("params") or [])
        with self._count_lock:
            latest = method == "eth_getBlockByNumber" and params[:1] == ["latest"]
            self.calls[HEAD if latest else str(method)] += 1
        head = self._head(mode)
        if head is not None and method == "eth_blockNumber":
            return {"jsonrpc": "2.0", "id": request.get("id"), "result": hex(head)}
        if head is not None and method == "eth_getBlockByNumber" and params[:1] == ["latest"]:
            params[0] = hex(head)
        try:
            result = self._upstream(str(method), params)
        except _RpcRefused as exc:
            return {"jsonrpc": "2.0", "id": request.get("id"), "error": exc.error}
        return {"jsonrpc": "2.0", "id": request.get("id"), "result": result}

    def _head(self, mode: Mode) -> int | None:
        if mode == "frozen":
            return self.frozen_height
        if mode == "lagging":
            return max(int(self._upstream("eth_blockNumber", []), 16) - self.lag, 0)
        return None

    def _upstream(self, method: str, params: list[Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        answer = self._http.post(self.upstream, json=body).json()
        if "error" in answer:
            raise _RpcRefused(answer["error"])
        return answer["result"]


class _RpcRefused(Exception):
    def __init__(self, error: Any) -> None:
        super().__init__(str(error))
        self.error = error
