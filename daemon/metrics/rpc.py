"""Requests to the chains' JSON-RPC endpoints: counted, timed and their failures sorted,
per chain and endpoint (``scheme://host:port``, see :mod:`daemon.metrics.endpoints`).

The chain adapters know nothing of Prometheus: each client is given an
:class:`EndpointObserver` (a :class:`chains.jsonrpc.RpcObserver`) when the daemon builds it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from daemon.metrics.endpoints import endpoint_label

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class RpcMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "paywatch_rpc_requests",
            "HTTP requests to chain nodes' JSON-RPC endpoints, by JSON-RPC method "
            "(batch: a JSON-RPC batch); a rate-limited request retried counts again",
            ["chain", "endpoint", "method"],
            registry=registry,
        )
        self.errors = Counter(
            "paywatch_rpc_errors",
            "Failed JSON-RPC requests by kind (timeout, connect, transport, rate_limited, "
            "http_status, invalid_answer) and calls the node refused (refused)",
            ["chain", "endpoint", "kind"],
            registry=registry,
        )
        self.duration = Histogram(
            "paywatch_rpc_request_duration_seconds",
            "Time from sending a JSON-RPC request to its answer (or failure)",
            ["chain", "endpoint"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )

    def observer(self, chain: str, url: str) -> EndpointObserver:
        """What hears of one endpoint's requests (``url`` as configured: it is cleaned)."""
        return EndpointObserver(self, chain, endpoint_label(url))


class EndpointObserver:
    """One endpoint's series, looked up once each (a request costs two or three adds)."""

    __slots__ = ("_chain", "_duration", "_endpoint", "_errors", "_metrics", "_requests")

    def __init__(self, metrics: RpcMetrics, chain: str, endpoint: str) -> None:
        self._metrics = metrics
        self._chain = chain
        self._endpoint = endpoint
        self._duration = metrics.duration.labels(chain, endpoint)
        self._requests: dict[str, Counter] = {}
        self._errors: dict[str, Counter] = {}

    @property
    def endpoint(self) -> str:
        return self._endpoint

    def request(self, method: str, seconds: float, failure: str | None) -> None:
        counter = self._requests.get(method)
        if counter is None:
            counter = self._metrics.requests.labels(self._chain, self._endpoint, method)
            self._requests[method] = counter
        counter.inc()
        self._duration.observe(seconds)
        if failure is not None:
            self._error(failure)

    def refused(self, method: str) -> None:
        self._error("refused")

    def _error(self, kind: str) -> None:
        counter = self._errors.get(kind)
        if counter is None:
            counter = self._metrics.errors.labels(self._chain, self._endpoint, kind)
            self._errors[kind] = counter
        counter.inc()
