"""Single-key ranged output descriptors: ``pkh``, ``sh(wpkh)``, ``wpkh`` and ``tr`` (key path).

Accepted key expressions: ``[fingerprint/path]xpub…/0/*`` with optional origin, ``h``, ``H``
or ``'`` for hardened origin steps, any number of non-hardened steps after the key and a
final ``/*``. One BIP-389 multipath step (``/<0;1>/*``) is allowed; paywatch uses its
first (receive) branch. Anything else is refused with a message naming the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chains.base import KeyFormatError
from chains.bitcoin.descriptor_checksum import add_checksum, strip_checksum
from chains.bitcoin.networks import Network
from chains.bitcoin.script_types import ScriptType
from chains.hd.base58 import b58decode
from chains.hd.bip32 import HARDENED, PRIVATE_KEY_MESSAGE, ExtendedPublicKey

_FUNCTIONS = {
    ScriptType.P2PKH: ("pkh(", ")"),
    ScriptType.P2SH_P2WPKH: ("sh(wpkh(", "))"),
    ScriptType.P2WPKH: ("wpkh(", ")"),
    ScriptType.P2TR: ("tr(", ")"),
}
_UNSUPPORTED = {
    "multi": "multisig descriptors (multi) are not supported; use a single-key wallet",
    "sortedmulti": "multisig descriptors (sortedmulti) are not supported; use a single-key wallet",
    "wsh": "wsh() script descriptors are not supported; use pkh, sh(wpkh), wpkh or tr",
    "pk": "pk() (bare public key outputs) is not supported; use pkh, sh(wpkh), wpkh or tr",
    "combo": "combo() is not supported; pick one of pkh, sh(wpkh), wpkh or tr",
    "raw": "raw() describes a fixed script, not a key to derive addresses from",
    "addr": "addr() describes a fixed address, not a key to derive addresses from",
    "rawtr": "rawtr() is not supported; use tr(KEY)",
    "musig": "musig() is not supported; use a single-key wallet",
}
_KEY_PATTERN = r"(?:\[(?P<origin>[^\]]*)\])?(?P<key>[^/\[\]]*)(?P<path>(?:/[^/]*)*)"


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A parsed ranged single-key descriptor, reduced to what paywatch derives."""

    script_type: ScriptType
    key: ExtendedPublicKey
    origin_fingerprint: bytes | None
    origin_path: tuple[int, ...]
    path: tuple[int, ...]  # non-hardened steps from ``key`` to the node whose children we use

    def receive_node(self) -> ExtendedPublicKey:
        """The node whose children ``/i`` are the receive addresses."""
        return self.key.derive_path(self.path)

    def to_string(self, key_version: bytes | None = None, checksum: bool = True) -> str:
        """Canonical text: ``h`` for hardened, lower-case fingerprint, receive branch only."""
        origin = ""
        if self.origin_fingerprint is not None:
            steps = "".join(f"/{_format_step(step)}" for step in self.origin_path)
            origin = f"[{self.origin_fingerprint.hex()}{steps}]"
        path = "".join(f"/{step}" for step in self.path)
        head, tail = _FUNCTIONS[self.script_type]
        body = f"{head}{origin}{self.key.serialize(key_version)}{path}/*{tail}"
        return add_checksum(body) if checksum else body


def parse_descriptor(text: str, network: Network | None = None) -> Descriptor:
    """Parse ``text``; with ``network``, the key's version bytes must belong to it."""
    body = strip_checksum(text.strip())
    script_type, key_expression = _split_function(body)
    descriptor = _parse_key_expression(script_type, key_expression)
    if network is not None:
        network.key_version(descriptor.key.version)
    return descriptor


def descriptor_from_xpub(
    xpub: str, network: Network, address_type: ScriptType | str | None = None
) -> Descriptor:
    """The descriptor equivalent of SLIP-132 shorthand: ``zpub…`` -> ``wpkh(xpub…/0/*)``.

    ``address_type`` overrides the script type the version bytes imply (for wallets that
    export a plain xpub for a segwit account).
    """
    key = ExtendedPublicKey.parse(xpub)
    implied = network.key_version(key.version).script_type
    if address_type is not None:
        implied = (
            address_type
            if isinstance(address_type, ScriptType)
            else ScriptType.from_name(address_type)
        )
    return Descriptor(implied, key, None, (), (0,))


def _split_function(body: str) -> tuple[ScriptType, str]:
    match = re.fullmatch(r"([a-z_]+)\((.*)\)", body, re.DOTALL)
    if match is None:
        if re.fullmatch(r"[A-Za-z_]+\(.*", body, re.DOTALL):
            raise KeyFormatError("descriptor has unbalanced parentheses")
        raise KeyFormatError(
            "not a descriptor: expected pkh(KEY), sh(wpkh(KEY)), wpkh(KEY) or tr(KEY)"
        )
    name, inner = match.group(1), match.group(2)
    if name == "sh":
        inner_match = re.fullmatch(r"([a-z_]+)\((.*)\)", inner, re.DOTALL)
        if inner_match is None or inner_match.group(1) != "wpkh":
            inner_name = inner_match.group(1) if inner_match else inner
            if inner_name in ("multi", "sortedmulti", "wsh"):
                raise KeyFormatError(_UNSUPPORTED[inner_name])
            raise KeyFormatError("only sh(wpkh(KEY)) is supported inside sh()")
        return ScriptType.P2SH_P2WPKH, inner_match.group(2)
    if name in _UNSUPPORTED:
        raise KeyFormatError(_UNSUPPORTED[name])
    script_type = {"pkh": ScriptType.P2PKH, "wpkh": ScriptType.P2WPKH, "tr": ScriptType.P2TR}.get(
        name
    )
    if script_type is None:
        raise KeyFormatError(f"unknown descriptor function {name}()")
    if script_type is ScriptType.P2TR and ("," in inner or "{" in inner):
        raise KeyFormatError("tr() with a script tree is not supported; only key-path tr(KEY) is")
    if "(" in inner:
        raise KeyFormatError(f"{name}() takes a key, not a nested script")
    return script_type, inner


def _parse_key_expression(script_type: ScriptType, expression: str) -> Descriptor:
    match = re.fullmatch(_KEY_PATTERN, expression)
    if match is None or not match.group("key"):
        raise KeyFormatError("descriptor key expression is malformed")
    fingerprint, origin_path = _parse_origin(match.group("origin"))
    key_text = match.group("key")
    _refuse_non_extended(key_text)
    key = ExtendedPublicKey.parse(key_text)
    steps = match.group("path").split("/")[1:]
    if any("*" in step for step in steps[:-1]):
        raise KeyFormatError("the wildcard * may only be the last step")
    if not steps or steps[-1] != "*":
        last = steps[-1] if steps else ""
        if last in ("*h", "*H", "*'"):
            raise KeyFormatError(
                "hardened wildcard (/*h) needs the private key; use non-hardened /*"
            )
        raise KeyFormatError("descriptor must be ranged: the key path has to end with /*")
    path: list[int] = []
    multipath_seen = False
    for step in steps[:-1]:
        if step.startswith("<"):
            if multipath_seen:
                raise KeyFormatError("only one multipath step <a;b> is allowed")
            multipath_seen = True
            path.append(_parse_multipath(step))
        else:
            path.append(_parse_public_step(step))
    return Descriptor(script_type, key, fingerprint, origin_path, tuple(path))


def _parse_origin(origin: str | None) -> tuple[bytes | None, tuple[int, ...]]:
    if origin is None:
        return None, ()
    fingerprint_text, *steps = origin.split("/")
    if not re.fullmatch(r"[0-9a-fA-F]{8}", fingerprint_text):
        raise KeyFormatError("key origin must start with an 8-hex-digit fingerprint")
    path = []
    for step in steps:
        match = re.fullmatch(r"([0-9]+)([hH']?)", step)
        if match is None:
            raise KeyFormatError(f"invalid step {step!r} in the key origin")
        index = _parse_index(match.group(1))
        path.append(index + HARDENED if match.group(2) else index)
    return bytes.fromhex(fingerprint_text), tuple(path)


def _parse_public_step(step: str) -> int:
    match = re.fullmatch(r"([0-9]+)([hH']?)", step)
    if match is None:
        raise KeyFormatError(f"invalid derivation step {step!r} after the key")
    if match.group(2):
        raise KeyFormatError(
            f"hardened step {step!r} after the extended key cannot be derived from a public "
            "key; export the xpub at that level instead"
        )
    return _parse_index(match.group(1))


def _parse_multipath(step: str) -> int:
    match = re.fullmatch(r"<([0-9]+(?:;[0-9]+)+)>", step)
    if match is None:
        raise KeyFormatError(
            f"invalid multipath step {step!r}; expected non-hardened <a;b>, e.g. <0;1>"
        )
    return _parse_index(match.group(1).split(";")[0])


def _parse_index(digits: str) -> int:
    index = int(digits)
    if index >= HARDENED:
        raise KeyFormatError(f"derivation index {digits} is out of range (must be < 2^31)")
    return index


def _refuse_non_extended(key_text: str) -> None:
    if re.fullmatch(r"(0[23][0-9a-fA-F]{64}|04[0-9a-fA-F]{128}|[0-9a-fA-F]{64})", key_text):
        raise KeyFormatError(
            "this is a single public key; paywatch needs an extended public key (xpub…/0/*) "
            "to derive a fresh address per payment"
        )
    if len(key_text) in (51, 52):
        try:
            raw = b58decode(key_text)
        except KeyFormatError:
            return
        if len(raw) in (37, 38) and raw[0] in (0x80, 0xEF, 0xB0):
            raise KeyFormatError(PRIVATE_KEY_MESSAGE)


def _format_step(step: int) -> str:
    return f"{step - HARDENED}h" if step >= HARDENED else str(step)
