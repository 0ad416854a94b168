"""Bitcoin's raw block and transaction format: header, txids, every output's script and value.

The watcher fetches blocks as raw bytes (``getblock <hash> 0``) rather than the node's
verbose JSON: a quarter of the bytes to move and decode, and values arrive as exact
integers of satoshi instead of decimal numbers. Outputs are kept in flat parallel lists
(script, value, transaction number, output index) so that matching a block against a
set of watched scripts is one pass of set lookups.

Litecoin blocks after MWEB carry an extension block after the transactions; it is
ignored (MWEB outputs have no scriptPubKey). A transaction with Litecoin's MWEB flag
(0x08) cannot be parsed here and raises :class:`RawFormatError`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from hashlib import sha256

from chains.errors import FormatError

_WITNESS_FLAG = 0x01


class RawFormatError(FormatError):
    """The bytes are not a block or transaction in Bitcoin's serialization."""


def double_sha256(data: bytes) -> bytes:
    return sha256(sha256(data).digest()).digest()


def hash_hex(digest: bytes) -> str:
    """A hash as nodes print it: byte-reversed hex."""
    return digest[::-1].hex()


@dataclass(frozen=True, slots=True)
class RawHeader:
    hash: str
    parent_hash: str
    merkle_root: str
    timestamp: int
    version: int
    bits: int
    nonce: int


def parse_header(raw: bytes) -> RawHeader:
    if len(raw) < 80:
        raise RawFormatError(f"a block header has 80 bytes, got {len(raw)}")
    head = raw[:80]
    return RawHeader(
        hash=hash_hex(double_sha256(head)),
        parent_hash=hash_hex(head[4:36]),
        merkle_root=hash_hex(head[36:68]),
        timestamp=int.from_bytes(head[68:72], "little"),
        version=int.from_bytes(head[0:4], "little"),
        bits=int.from_bytes(head[72:76], "little"),
        nonce=int.from_bytes(head[76:80], "little"),
    )


class ParsedTransactions:
    """Transactions read from raw bytes; outputs flattened across all of them.

    ``scripts[k]``, ``values[k]``, ``output_tx[k]`` and ``output_index[k]`` describe the
    k-th output (in block order): its scriptPubKey, its value in base units, the number
    of its transaction (0 = the first) and its index in that transaction.
    """

    __slots__ = ("_raw", "_spans", "_txids", "output_index", "output_tx", "scripts", "values")

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._spans: list[tuple[int, int, int, int]] = []
        self._txids: list[str | None] = []
        self.scripts: list[bytes] = []
        self.values: list[int] = []
        self.output_tx: list[int] = []
        self.output_index: list[int] = []

    def __len__(self) -> int:
        return len(self._spans)

    def txid(self, number: int) -> str:
        """The txid of transaction ``number`` (hashed on first use)."""
        known = self._txids[number]
        if known is not None:
            return known
        start, body_start, body_end, end = self._spans[number]
        raw = self._raw
        if body_start == start + 4 and body_end == end - 4:
            data = raw[start:end]
        else:  # segwit: the txid leaves out the marker, flag and witnesses
            data = raw[start : start + 4] + raw[body_start:body_end] + raw[end - 4 : end]
        txid = self._txids[number] = hash_hex(double_sha256(data))
        return txid

    def txids(self) -> list[str]:
        return [self.txid(n) for n in range(len(self._spans))]

    def raw_transaction(self, number: int) -> bytes:
        start, _, _, end = self._spans[number]
        return self._raw[start:end]

    def matching(self, watched: Collection[bytes]) -> list[int]:
        """Positions (into the flat output lists) of outputs whose script is in ``watched``."""
        contains = watched.__contains__
        return [k for k, script in enumerate(self.scripts) if contains(script)]

    def read(self, pos: int, count: int) -> int:
        """Read ``count`` transactions starting at ``pos``; returns the position after them."""
        raw = self._raw
        size = len(raw)
        spans = self._spans
        scripts = self.scripts
        values = self.values
        output_tx = self.output_tx
        output_index = self.output_index
        from_bytes = int.from_bytes
        first = number = len(spans)
        try:
            for number in range(first, first + count):
                start = pos
                pos += 4
                segwit = raw[pos] == 0 and raw[pos + 1] != 0
                if segwit:
                    flags = raw[pos + 1]
                    if flags & ~_WITNESS_FLAG:
                        raise RawFormatError(
                            f"transaction {number}: unsupported serialization flags {flags:#04x}"
                            + (" (a Litecoin MWEB transaction)" if flags & 0x08 else "")
                        )
                    pos += 2
                body_start = pos
                pos = _skip_inputs(raw, pos)
                # outputs: 8-byte value, script
                n = raw[pos]
                pos += 1
                if n >= 0xFD:
                    n, pos = _long_varint(raw, pos, n)
                for index in range(n):
                    value = from_bytes(raw[pos : pos + 8], "little")
                    pos += 8
                    length = raw[pos]
                    pos += 1
                    if length >= 0xFD:
                        length, pos = _long_varint(raw, pos, length)
                    scripts.append(raw[pos : pos + length])
                    pos += length
                    values.append(value)
                    output_tx.append(number)
                    output_index.append(index)
                body_end = pos
                if segwit:
                    pos = _skip_witnesses(raw, pos, body_start)
                pos += 4
                if pos > size:
                    raise IndexError
                spans.append((start, body_start, body_end, pos))
                self._txids.append(None)
        except IndexError:
            raise RawFormatError(f"transaction {number} runs past the end of the data") from None
        return pos


def _long_varint(raw: bytes, pos: int, first: int) -> tuple[int, int]:
    width = 2 if first == 0xFD else 4 if first == 0xFE else 8
    if pos + width > len(raw):
        raise IndexError
    return int.from_bytes(raw[pos : pos + width], "little"), pos + width


def _skip_inputs(raw: bytes, pos: int) -> int:
    """Skip the inputs (36-byte outpoint, script, 4-byte sequence each)."""
    n = raw[pos]
    pos += 1
    if n >= 0xFD:
        n, pos = _long_varint(raw, pos, n)
    for _ in range(n):
        pos += 36
        length = raw[pos]
        pos += 1
        if length >= 0xFD:
            length, pos = _long_varint(raw, pos, length)
        pos += length + 4
    return pos


def _skip_witnesses(raw: bytes, pos: int, body_start: int) -> int:
    """Skip one witness stack per input (the input count is re-read at ``body_start``)."""
    inputs = raw[body_start]
    if inputs >= 0xFD:
        inputs, _ = _long_varint(raw, body_start + 1, inputs)
    for _ in range(inputs):
        items = raw[pos]
        pos += 1
        if items >= 0xFD:
            items, pos = _long_varint(raw, pos, items)
        for _ in range(items):
            length = raw[pos]
            pos += 1
            if length >= 0xFD:
                length, pos = _long_varint(raw, pos, length)
            pos += length
    return pos


def read_varint(raw: bytes, pos: int) -> tuple[int, int]:
    """A CompactSize integer at ``pos``: (value, position after it)."""
    try:
        first = raw[pos]
        if first < 0xFD:
            return first, pos + 1
        return _long_varint(raw, pos + 1, first)
    except IndexError:
        raise RawFormatError("a length runs past the end of the data") from None


@dataclass(frozen=True, slots=True)
class ParsedBlock:
    header: RawHeader
    transactions: ParsedTransactions

    def computed_merkle_root(self) -> str:
        """The merkle root of the parsed txids (to compare with ``header.merkle_root``)."""
        level = [bytes.fromhex(txid)[::-1] for txid in self.transactions.txids()]
        if not level:
            raise RawFormatError("a block without transactions has no merkle root")
        while len(level) > 1:
            if len(level) % 2:
                level.append(level[-1])
            level = [double_sha256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        return hash_hex(level[0])


def parse_block(raw: bytes) -> ParsedBlock:
    """A serialized block: its header and every transaction (trailing extension data ignored)."""
    header = parse_header(raw)
    count, pos = read_varint(raw, 80)
    if count == 0:
        raise RawFormatError(f"block {header.hash} has no transactions")
    transactions = ParsedTransactions(raw)
    transactions.read(pos, count)
    return ParsedBlock(header, transactions)


def parse_transaction(raw: bytes) -> ParsedTransactions:
    """One serialized transaction (as ``getrawtransaction`` or ZMQ ``rawtx`` give it)."""
    transactions = ParsedTransactions(raw)
    end = transactions.read(0, 1)
    if end != len(raw):
        raise RawFormatError(f"{len(raw) - end} bytes left after the transaction")
    return transactions
