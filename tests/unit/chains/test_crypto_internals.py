"""The private coincurve and pycryptodome names paywatch's fast paths use are still there.

Address derivation (chains/hd/point_adder.py, chains/hd/generator_table.py) calls
libsecp256k1 through coincurve's private cffi module, and Keccak-256 for EVM addresses
(chains/evm/keccak.py) drives pycryptodome's C core directly; the public APIs cost the
derivation target (bench/web3_side_by_side.py measures both). pyproject.toml pins both
libraries to the releases these names were checked in; a release that moves one fails
here by name, before anything else breaks or slows down.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import version

COINCURVE_FUNCTIONS = (
    "secp256k1_ec_pubkey_combine",
    "secp256k1_ec_pubkey_create",
    "secp256k1_ec_pubkey_parse",
    "secp256k1_ec_pubkey_serialize",
    "SECP256K1_EC_COMPRESSED",
    "SECP256K1_EC_UNCOMPRESSED",
)
KECCAK_FUNCTIONS = ("keccak_init", "keccak_reset", "keccak_absorb", "keccak_digest")
RAW_API_NAMES = ("VoidPointer", "SmartPointer", "create_string_buffer", "get_raw_buffer")


def _missing(owner: object, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if not hasattr(owner, name)]


def _moved(library: str, what: str, used_in: str) -> str:
    return (
        f"{library} {version(library)} no longer has {what}, which paywatch uses in {used_in}; "
        f"keep {library} within the range pinned in pyproject.toml, or port {used_in}"
    )


def test_coincurve_private_cffi_module() -> None:
    used_in = "chains/hd/point_adder.py and chains/hd/generator_table.py"
    try:
        cffi_module = import_module("coincurve._libsecp256k1")
    except ImportError as exc:
        raise AssertionError(_moved("coincurve", "coincurve._libsecp256k1", used_in)) from exc
    lib, ffi = getattr(cffi_module, "lib", None), getattr(cffi_module, "ffi", None)
    assert lib is not None, _moved("coincurve", "coincurve._libsecp256k1.lib", used_in)
    assert ffi is not None, _moved("coincurve", "coincurve._libsecp256k1.ffi", used_in)
    missing = _missing(lib, COINCURVE_FUNCTIONS)
    assert not missing, _moved("coincurve", f"lib.{', lib.'.join(missing)}", used_in)
    # generator_table lays pointers out assuming 64-byte secp256k1_pubkey entries.
    assert ffi.sizeof("secp256k1_pubkey") == 64, _moved(
        "coincurve", "a 64-byte secp256k1_pubkey", used_in
    )
    context = import_module("coincurve.context")
    assert hasattr(getattr(context, "GLOBAL_CONTEXT", None), "ctx"), _moved(
        "coincurve", "coincurve.context.GLOBAL_CONTEXT.ctx", used_in
    )


def test_pycryptodome_raw_keccak() -> None:
    used_in = "chains/evm/keccak.py"
    raw_api = import_module("Crypto.Util._raw_api")
    missing = _missing(raw_api, RAW_API_NAMES)
    assert not missing, _moved(
        "pycryptodome", f"Crypto.Util._raw_api.{', '.join(missing)}", used_in
    )
    raw_lib = vars(import_module("Crypto.Hash.keccak")).get("_raw_keccak_lib")
    assert raw_lib is not None, _moved(
        "pycryptodome", "Crypto.Hash.keccak._raw_keccak_lib", used_in
    )
    missing = _missing(raw_lib, KECCAK_FUNCTIONS)
    assert not missing, _moved("pycryptodome", f"_raw_keccak_lib.{', '.join(missing)}", used_in)


def test_fast_keccak_is_taken() -> None:
    """keccak256_function falls back to the public API silently; that fallback costs the
    EVM derivation target, so the fast path must be the one in use."""
    from chains.evm.keccak import keccak256, keccak256_function

    fast = keccak256_function()
    assert fast is not keccak256, _moved(
        "pycryptodome", "a working raw Keccak state", "chains/evm/keccak.py"
    )
    assert fast(b"abc") == keccak256(b"abc")
