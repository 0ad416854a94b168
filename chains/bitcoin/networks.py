"""Per-(coin, network) parameters for Bitcoin and Litecoin, including SLIP-132 key versions."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from chains.base import KeyFormatError
from chains.bitcoin.script_types import ScriptType

COINS = ("bitcoin", "litecoin")
NETWORK_NAMES = ("mainnet", "testnet", "signet", "regtest")

_XPUB = bytes.fromhex("0488b21e")
_TPUB = bytes.fromhex("043587cf")

# (version hex, prefix, script type) — SLIP-132 public versions.
_BITCOIN_MAIN = (
    ("0488b21e", "xpub", ScriptType.P2PKH),
    ("049d7cb2", "ypub", ScriptType.P2SH_P2WPKH),
    ("04b24746", "zpub", ScriptType.P2WPKH),
)
_BITCOIN_TEST = (
    ("043587cf", "tpub", ScriptType.P2PKH),
    ("044a5262", "upub", ScriptType.P2SH_P2WPKH),
    ("045f1cf6", "vpub", ScriptType.P2WPKH),
)
_LITECOIN_MAIN = (
    ("019da462", "Ltub", ScriptType.P2PKH),
    ("01b26ef6", "Mtub", ScriptType.P2SH_P2WPKH),
    *_BITCOIN_MAIN,
)
_LITECOIN_TEST = (("0436f6e1", "ttub", ScriptType.P2PKH), *_BITCOIN_TEST)
# Multi-signature SLIP-132 versions: recognised only to refuse them clearly.
_MULTISIG = (("0295b43f", "Ypub"), ("02aa7ed3", "Zpub"), ("024289ef", "Upub"), ("02575483", "Vpub"))


@dataclass(frozen=True, slots=True)
class KeyVersion:
    """Extended public key version bytes accepted on a network, with the implied script."""

    version: bytes
    prefix: str
    script_type: ScriptType


@dataclass(frozen=True, slots=True)
class Network:
    coin: str  # "bitcoin" | "litecoin"
    name: str  # "mainnet" | "testnet" | "signet" | "regtest"
    hrp: str  # bech32 human-readable part
    p2pkh_version: int
    p2sh_version: int
    bip44_coin_type: int
    uri_scheme: str  # BIP-21
    key_versions: tuple[KeyVersion, ...]
    descriptor_key_version: bytes  # xpub or tpub: how keys are written in descriptors

    @property
    def is_mainnet(self) -> bool:
        return self.name == "mainnet"

    @property
    def label(self) -> str:
        return f"{self.coin} {self.name}"

    @property
    def block_interval(self) -> int:
        """The target seconds between blocks (for telling a stalled node from a slow chain)."""
        return 600 if self.coin == "bitcoin" else 150

    def key_version(self, version: bytes) -> KeyVersion:
        """The accepted version entry, or a KeyFormatError saying whose key this is."""
        for entry in self.key_versions:
            if entry.version == version:
                return entry
        raise KeyFormatError(_foreign_version_message(version, self))


def get_network(coin: str, name: str) -> Network:
    """Parameters of ``coin`` on network ``name``, e.g. ``get_network("litecoin", "regtest")``."""
    if coin not in COINS:
        raise KeyFormatError(f"unknown coin {coin!r}; expected one of: {', '.join(COINS)}")
    if name not in NETWORK_NAMES:
        raise KeyFormatError(
            f"unknown network {name!r}; expected one of: {', '.join(NETWORK_NAMES)}"
        )
    if coin == "litecoin" and name == "signet":
        raise KeyFormatError("litecoin has no signet; use litecoin testnet or regtest")
    return _network(coin, name)


def all_networks() -> tuple[Network, ...]:
    return tuple(
        get_network(coin, name)
        for coin in COINS
        for name in NETWORK_NAMES
        if not (coin == "litecoin" and name == "signet")
    )


@functools.cache
def _network(coin: str, name: str) -> Network:
    main = name == "mainnet"
    versions: tuple[tuple[str, str, ScriptType], ...]
    if coin == "bitcoin":
        hrp = {"mainnet": "bc", "testnet": "tb", "signet": "tb", "regtest": "bcrt"}[name]
        versions = _BITCOIN_MAIN if main else _BITCOIN_TEST
        p2pkh, p2sh = (0x00, 0x05) if main else (0x6F, 0xC4)
        coin_type = 0 if main else 1
    else:
        hrp = {"mainnet": "ltc", "testnet": "tltc", "regtest": "rltc"}[name]
        versions = _LITECOIN_MAIN if main else _LITECOIN_TEST
        p2pkh, p2sh = (0x30, 0x32) if main else (0x6F, 0x3A)
        coin_type = 2 if main else 1
    return Network(
        coin=coin,
        name=name,
        hrp=hrp,
        p2pkh_version=p2pkh,
        p2sh_version=p2sh,
        bip44_coin_type=coin_type,
        uri_scheme=coin,
        key_versions=tuple(
            KeyVersion(bytes.fromhex(hex_), prefix, script) for hex_, prefix, script in versions
        ),
        descriptor_key_version=_XPUB if main else _TPUB,
    )


def _foreign_version_message(version: bytes, network: Network) -> str:
    for hex_, prefix in _MULTISIG:
        if version.hex() == hex_:
            return f"this is a multisig key ({prefix}…); paywatch supports single-key wallets only"
    owners = [other for other in all_networks() if _accepts(other, version)]
    if not owners:
        return f"unknown extended key version 0x{version.hex()}; expected one of: " + ", ".join(
            entry.prefix for entry in network.key_versions
        )
    prefix = next(e.prefix for e in owners[0].key_versions if e.version == version)
    kind = "mainnet" if owners[0].is_mainnet else "testnet"
    coins = {other.coin for other in owners}
    if len(coins) == 1:
        kind = f"{owners[0].coin} {kind}"
    return f"this is a {kind} key ({prefix}…) but the chain's network is {network.label}"


def _accepts(network: Network, version: bytes) -> bool:
    return any(entry.version == version for entry in network.key_versions)
