"""BIP-21 payment URIs (``bitcoin:`` / ``litecoin:``), amounts from integer base units."""

from __future__ import annotations

from urllib.parse import quote

from chains.base import KeyFormatError
from chains.bitcoin.addresses import decode_address
from chains.bitcoin.networks import Network

COIN = 100_000_000  # base units (satoshi / litoshi) per coin


def format_amount(base_units: int) -> str:
    """``150000000`` -> ``"1.5"``; 8 decimals, trailing zeros (and a bare point) stripped."""
    if isinstance(base_units, bool) or not isinstance(base_units, int):
        raise KeyFormatError(
            f"amount must be an integer number of base units, not {type(base_units).__name__}"
        )
    if base_units < 0:
        raise KeyFormatError("amount must not be negative")
    whole, fraction = divmod(base_units, COIN)
    decimals = f"{fraction:08d}".rstrip("0")
    return f"{whole}.{decimals}" if decimals else str(whole)


def bip21_uri(
    scheme: str,
    address: str,
    amount: int | None = None,
    *,
    label: str | None = None,
    message: str | None = None,
) -> str:
    """``<scheme>:<address>?amount=<decimal>&label=…&message=…`` (no address validation).

    ``amount`` is an integer number of satoshis (litoshis). Use :func:`payment_uri` to
    also check that the address belongs to the network.
    """
    if not scheme.isascii() or not scheme.isalpha():
        raise KeyFormatError(f"invalid URI scheme {scheme!r}")
    params = []
    if amount is not None:
        params.append(f"amount={format_amount(amount)}")
    if label:
        params.append(f"label={quote(label, safe='')}")
    if message:
        params.append(f"message={quote(message, safe='')}")
    query = f"?{'&'.join(params)}" if params else ""
    return f"{scheme}:{address.strip()}{query}"


def payment_uri(
    network: Network,
    address: str,
    amount: int | None = None,
    *,
    label: str | None = None,
    message: str | None = None,
) -> str:
    """:func:`bip21_uri` with the network's scheme, after validating ``address`` for it."""
    decode_address(address, network)
    return bip21_uri(network.uri_scheme, address, amount, label=label, message=message)
