"""The root of every error the chain adapters raise.

Each error class in ``chains`` derives from :class:`ChainError`, so a caller can tell
"a chain said no, or could not be asked" from a bug with one ``except``; the daemon's
own errors have their root in ``daemon.errors``. The tree (a unit test keeps it whole)::

    ChainError
    ├── ChainUnavailable          chains.watching: no endpoint answered usefully; retry later
    │   └── BlockNotFound         a block asked for is not (or no longer) on the node's chain
    ├── RpcError                  chains.jsonrpc: the node understood a call and refused it
    ├── TatumUnavailable          chains.tatum.api: Tatum could not be asked
    ├── TatumError                chains.tatum.api: Tatum understood a request and refused it
    └── FormatError (ValueError)  text or bytes that are not what they claim to be
        ├── KeyFormatError        chains.base: an unusable xpub, descriptor or address
        │   └── InvalidChildIndex chains.hd.bip32: BIP-32 skips this child index
        ├── RawFormatError        chains.bitcoin.raw_block: not Bitcoin's serialization
        └── NotificationError     chains.tatum.notification: not a usable notification

The format errors stay ``ValueError`` s: parsers and pydantic validators take them as such.
"""

from __future__ import annotations


class ChainError(Exception):
    """Something about a chain or its node: it cannot be asked, refused, or sent nonsense."""


class FormatError(ChainError, ValueError):
    """Text or bytes that are not what they claim to be; the message says why."""
