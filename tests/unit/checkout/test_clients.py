"""The client's address behind proxies, and the per-client allowance."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from daemon.checkout.clients import Allowance, ClientAddresses, forwarded_for


def request(peer: str, headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "client": (peer, 40000), "headers": raw})


@pytest.mark.parametrize(
    ("peer", "headers", "client"),
    [
        ("127.0.0.1", {}, "127.0.0.1"),
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.1"}, "198.51.100.1"),
        # The right-most untrusted hop: what the client wrote to the left is not believed.
        ("127.0.0.1", {"X-Forwarded-For": "1.2.3.4, 198.51.100.1"}, "198.51.100.1"),
        # A chain of trusted proxies is walked through.
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.1, 10.0.0.5"}, "198.51.100.1"),
        # Only proxies and nothing else: the peer.
        ("127.0.0.1", {"X-Forwarded-For": "10.0.0.5"}, "127.0.0.1"),
        # The proxies write X-Forwarded-For: a Forwarded header is the client's own.
        (
            "127.0.0.1",
            {"Forwarded": "for=192.0.2.61", "X-Forwarded-For": "192.0.2.62"},
            "192.0.2.62",
        ),
        ("127.0.0.1", {"Forwarded": "for=192.0.2.61"}, "127.0.0.1"),
        # From an untrusted peer the headers are ignored.
        ("203.0.113.7", {"X-Forwarded-For": "198.51.100.1"}, "203.0.113.7"),
    ],
)
def test_client_address(peer: str, headers: dict[str, str], client: str) -> None:
    addresses = ClientAddresses(["127.0.0.1/32", "10.0.0.0/8"])
    assert addresses.of(request(peer, headers)) == client


@pytest.mark.parametrize(
    ("peer", "headers", "client"),
    [
        (
            "127.0.0.1",
            {"Forwarded": 'for=192.0.2.60;proto=https, for="[2001:db8::1]:80"'},
            "2001:db8::1",
        ),
        ("127.0.0.1", {"Forwarded": "for=192.0.2.60:8080"}, "192.0.2.60"),
        # The proxies write Forwarded: an X-Forwarded-For header is the client's own.
        (
            "127.0.0.1",
            {"Forwarded": "for=192.0.2.61", "X-Forwarded-For": "192.0.2.62"},
            "192.0.2.61",
        ),
        ("127.0.0.1", {"X-Forwarded-For": "192.0.2.62"}, "127.0.0.1"),
        ("203.0.113.7", {"Forwarded": "for=198.51.100.1"}, "203.0.113.7"),
    ],
)
def test_client_address_from_forwarded(peer: str, headers: dict[str, str], client: str) -> None:
    addresses = ClientAddresses(["127.0.0.1/32", "10.0.0.0/8"], "forwarded")
    assert addresses.of(request(peer, headers)) == client


def test_with_no_trusted_proxy_every_header_is_ignored() -> None:
    plain = ClientAddresses([])
    assert plain.of(request("127.0.0.1", {"X-Forwarded-For": "198.51.100.1"})) == "127.0.0.1"


def test_forwarded_for_reads_the_rfc_7239_forms() -> None:
    header = 'for=192.0.2.43, for="[2001:db8:cafe::17]:4711", for=unknown;by=10.0.0.1'
    assert forwarded_for(header) == ["192.0.2.43", "2001:db8:cafe::17", "unknown"]
    assert forwarded_for(None) == []


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_allowance_refills_evenly_and_keys_are_bounded() -> None:
    clock = Clock()
    allowance = Allowance(60, keys=3, clock=clock)
    assert [allowance.take("a") for _ in range(61)].count(True) == 60
    assert allowance.retry_after("a") == 1
    clock.now += 1.0  # one a second
    assert allowance.take("a")
    assert not allowance.take("a")
    for key in ("b", "c", "d"):
        assert allowance.take(key)
    assert allowance.take("a")  # forgotten (least recently used): a full bucket again
    assert len(allowance._buckets) == 3
