"""Which addresses webhooks may go to: public unicast only, IPv6 forms of IPv4 included."""

from __future__ import annotations

import ipaddress

import pytest

from daemon.webhooks.addresses import forbidden_reason, literal_target_problem
from daemon.webhooks.targets import endpoint_of


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("192.0.0.192", "metadata"),
        ("192.0.0.8", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "private"),  # reserved for future use
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "private"),
        ("::127.0.0.1", "loopback"),  # IPv4-compatible (deprecated)
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
        ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
        ("2001:db8::1", "private"),  # documentation
    ],
)
def test_forbidden(address: str, reason: str) -> None:
    found = forbidden_reason(ipaddress.ip_address(address))
    assert found is not None
    assert reason in found


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:2800:220:1::1", "::ffff:93.184.216.34"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:8080/h", "127.0.0.1 is a loopback address"),
        ("http://LOCALHOST/h", "localhost is a loopback name"),
        ("http://api.localhost/h", "loopback name"),
        ("http://[::ffff:a00:1]/h", "an IPv6 form of 10.0.0.1"),
        ("http://[fe80::1%25eth0]/h", "link-local"),
        ("https://shop.example/h", None),
        ("https://93.184.216.34/h", None),
    ],
)
def test_literal_targets(url: str, problem: str | None) -> None:
    found = literal_target_problem(url)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_endpoints_are_scheme_host_and_port() -> None:
    assert endpoint_of("https://Shop.Example/h?x=1") == "https://shop.example:443"
    assert endpoint_of("http://shop.example/h") == "http://shop.example:80"
    assert endpoint_of("http://[2606:2800::1]:8080/h") == "http://[2606:2800::1]:8080"
