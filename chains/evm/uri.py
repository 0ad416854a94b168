"""EIP-681 payment request URIs for native-coin and ERC-20 transfers.

Amounts are integers in base units (wei, or the token's smallest unit), written as plain
decimal integers: never floats, never scientific notation.
"""

from __future__ import annotations

from chains.base import KeyFormatError
from chains.evm.addresses import parse_address, to_checksum_address


def _address_text(address: str | bytes) -> str:
    raw = address if isinstance(address, bytes) else parse_address(address)
    return to_checksum_address(raw)


def _check_int(value: int, name: str, *, allow_zero: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise KeyFormatError(f"{name} must be an integer, not {type(value).__name__}")
    if value < 0 or (value == 0 and not allow_zero):
        raise KeyFormatError(f"{name} must be {'>= 0' if allow_zero else '> 0'}")


def eip681_native_uri(recipient: str | bytes, chain_id: int, value_wei: int) -> str:
    """``ethereum:<recipient>@<chain_id>?value=<wei>``."""
    _check_int(chain_id, "chain_id", allow_zero=False)
    _check_int(value_wei, "value_wei", allow_zero=True)
    return f"ethereum:{_address_text(recipient)}@{chain_id}?value={value_wei}"


def eip681_token_uri(
    token_contract: str | bytes, recipient: str | bytes, chain_id: int, amount: int
) -> str:
    """``ethereum:<token>@<chain_id>/transfer?address=<recipient>&uint256=<base units>``."""
    _check_int(chain_id, "chain_id", allow_zero=False)
    _check_int(amount, "amount", allow_zero=True)
    return (
        f"ethereum:{_address_text(token_contract)}@{chain_id}/transfer"
        f"?address={_address_text(recipient)}&uint256={amount}"
    )
