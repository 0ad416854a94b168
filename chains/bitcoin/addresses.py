"""Address encoding for the four script types and ``decode_address`` for merchant input."""

from __future__ import annotations

from chains.base import KeyFormatError
from chains.bitcoin.networks import Network, all_networks
from chains.bitcoin.script_types import p2pkh_script, p2sh_script, witness_script
from chains.bitcoin.segwit import decode_segwit_address, encode_segwit_address
from chains.hd.base58 import b58check_decode, b58check_encode


def p2pkh_address(key_hash: bytes, network: Network) -> str:
    return b58check_encode(bytes((network.p2pkh_version,)) + key_hash)


def p2sh_address(script_hash: bytes, network: Network) -> str:
    return b58check_encode(bytes((network.p2sh_version,)) + script_hash)


def segwit_address(version: int, program: bytes, network: Network) -> str:
    return encode_segwit_address(network.hrp, version, program)


def script_to_address(script: bytes, network: Network) -> str:
    """The address of a standard scriptPubKey (P2PKH, P2SH or native segwit)."""
    if len(script) == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        return p2pkh_address(script[3:23], network)
    if len(script) == 23 and script[:2] == b"\xa9\x14" and script[22] == 0x87:
        return p2sh_address(script[2:22], network)
    if 4 <= len(script) <= 42 and script[1] == len(script) - 2:
        opcode = script[0]
        if opcode == 0 or 0x51 <= opcode <= 0x60:
            return segwit_address(0 if opcode == 0 else opcode - 0x50, script[2:], network)
    raise KeyFormatError("script is not a standard P2PKH, P2SH or segwit output")


def decode_address(address: str, network: Network) -> bytes:
    """The scriptPubKey paid by ``address``; refuses addresses of any other network."""
    text = address.strip()
    if not text:
        raise KeyFormatError("address is empty")
    lowered = text.lower()
    if lowered.startswith(network.hrp + "1"):
        version, program = decode_segwit_address(network.hrp, text)
        return witness_script(version, program)
    for other in all_networks():
        if other.hrp != network.hrp and lowered.startswith(other.hrp + "1"):
            raise KeyFormatError(
                f"this is a {_owners_label(other.hrp, 'hrp')} address but the chain's "
                f"network is {network.label}"
            )
    try:
        payload = b58check_decode(text, what="address")
    except KeyFormatError as exc:
        raise KeyFormatError(f"not a valid {network.label} address: {exc}") from None
    if len(payload) != 21:
        raise KeyFormatError(f"not a valid {network.label} address (wrong length)")
    version, body = payload[0], payload[1:]
    if version == network.p2pkh_version:
        return p2pkh_script(body)
    if version == network.p2sh_version:
        return p2sh_script(body)
    if network.coin == "litecoin" and version in (0x05, 0xC4):
        raise KeyFormatError(
            "this is a legacy-prefix P2SH address (3… or 2…), which is also a Bitcoin "
            f"address; ask for the {network.label} form (M… on mainnet, Q… on test networks)"
        )
    owners = _owners_label(version, "version")
    if owners:
        raise KeyFormatError(
            f"this is a {owners} address but the chain's network is {network.label}"
        )
    raise KeyFormatError(f"not a valid {network.label} address (unknown version byte)")


def _owners_label(key: int | str, kind: str) -> str:
    """Names the networks using an HRP or base58 version byte, for error messages."""
    owners = [
        other
        for other in all_networks()
        if (other.hrp == key if kind == "hrp" else key in (other.p2pkh_version, other.p2sh_version))
    ]
    if not owners:
        return ""
    coins = sorted({other.coin for other in owners})
    names = sorted(
        {other.name for other in owners}, key=("mainnet", "testnet", "signet", "regtest").index
    )
    return f"{'/'.join(coins)} {'/'.join(names)}"
