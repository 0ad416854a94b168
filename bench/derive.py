"""Address-derivation throughput on one core: paywatch's fast path against bitcoinlib.

    python bench/derive.py [--count N] [--quick] [--windows 8,11,12]

Measures, in one run and pinned to one CPU: the one-time generator-table build, our
P2WPKH derivation (Bitcoin mainnet, BIP-84 zpub of the "abandon … about" mnemonic), our
EVM derivation (m/44'/60'/0' of the same mnemonic), and bitcoinlib's ``HDKey`` deriving
the same P2WPKH addresses as the baseline. Rates are best-of-rounds (this VM is noisy).
Exit status 1 only if ours and bitcoinlib disagree on an address; missed speed targets
are reported, not fatal (pass ``--strict`` to make them fatal).
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ZPUB = (
    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqt"
    "fSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
)
ETH_ACCOUNT_XPUB = (
    "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3md"
    "haWHPFsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt"
)
TARGET_RATE = 20_000
TARGET_RATIO = 10.0


def _pin_to_one_cpu() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def _rate(run: Callable[[int, int], object], count: int, rounds: int) -> tuple[float, float]:
    """(best, median) items per second over ``rounds`` runs of ``count`` fresh indexes."""
    run(0, min(count, 500))  # warm-up: caches, lazily built tables, branch predictors
    times = []
    for round_ in range(rounds):
        start = 10_000 + round_ * count
        began = time.perf_counter()
        run(start, count)
        times.append(time.perf_counter() - began)
    return count / min(times), count / statistics.median(times)


def _bitcoinlib_deriver() -> Callable[[int, int], list[str]]:
    """bitcoinlib's HDKey on the same zpub; imported here, with its files kept out of $HOME."""
    scratch = tempfile.mkdtemp(prefix="paywatch-bench-bcl-")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    os.environ["HOME"] = scratch
    os.environ["BCL_DATA_DIR"] = str(Path(scratch) / ".bitcoinlib")
    warnings.simplefilter("ignore")
    import logging

    logging.disable(logging.WARNING)
    from bitcoinlib.keys import HDKey

    chain: Any = HDKey(ZPUB).child_public(0)

    def derive(start: int, count: int) -> list[str]:
        return [str(chain.child_public(i).address()) for i in range(start, start + count)]

    return derive


def _line(label: str, best: float, median: float, target: str) -> None:
    print(f"  {label:<34} {best:>10,.0f}/s best  {median:>10,.0f}/s median   {target}")


def _window_report(windows: str, count: int, rounds: int) -> None:
    from chains.hd.bip32 import ExtendedPublicKey
    from chains.hd.child_keys import ChildKeyDeriver
    from chains.hd.generator_table import build_generator_table, generator_table

    node = ExtendedPublicKey.parse(ETH_ACCOUNT_XPUB).child(0)
    print("  child-pubkey EC rate by window size (table build, memory):")
    for bits in (int(part) for part in windows.split(",") if part.strip()):
        began = time.perf_counter()
        table = generator_table() if bits == 12 else build_generator_table(bits)
        built = time.perf_counter() - began
        fast = ChildKeyDeriver(node, table)

        def children(start: int, n: int, fast: ChildKeyDeriver = fast) -> None:
            for index in range(start, start + n):
                fast.child_pubkey(index)

        best, median = _rate(children, count, rounds)
        _line(f"{bits:>2}-bit ({built:.2f} s, {table.nbytes / 2**20:.1f} MiB)", best, median, "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=20_000, help="addresses per round (ours)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small counts: a few seconds")
    parser.add_argument("--windows", default="", help="also time these table window sizes")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    args = parser.parse_args(argv)
    count, rounds = (3_000, 3) if args.quick else (args.count, args.rounds)
    baseline_count = max(100, count // 40)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from chains.bitcoin.deriver import BitcoinDeriver
    from chains.bitcoin.networks import get_network
    from chains.evm.deriver import EvmDeriver
    from chains.hd.generator_table import generator_table

    print(f"paywatch derivation bench ({_pin_to_one_cpu()}; {count:,} addresses x {rounds})")
    began = time.perf_counter()
    table = generator_table()
    print(
        f"  one-time table build: {time.perf_counter() - began:.3f} s, "
        f"{table.nbytes / 2**20:.1f} MiB ({table.window_bits}-bit windows x {table.windows})"
    )

    btc = BitcoinDeriver.from_config(get_network("bitcoin", "mainnet"), xpub=ZPUB)
    evm = EvmDeriver.from_xpub(ETH_ACCOUNT_XPUB)
    assert btc.derive(0).address == "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
    assert evm.derive(0).address == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
    btc_best, btc_median = _rate(btc.derive_many, count, rounds)
    evm_best, evm_median = _rate(evm.derive_many, count, rounds)

    began = time.perf_counter()
    bitcoinlib = _bitcoinlib_deriver()
    import_seconds = time.perf_counter() - began
    sample = [*range(20), 1_000, 123_456, 2**31 - 1]
    agree = all(btc.derive(i).address == bitcoinlib(i, 1)[0] for i in sample)
    base_best, base_median = _rate(bitcoinlib, baseline_count, rounds)

    print(f"  bitcoinlib import {import_seconds:.2f} s; baseline {baseline_count:,} x {rounds}")
    ok_btc, ok_evm = btc_best >= TARGET_RATE, evm_best >= TARGET_RATE
    _line(
        "ours  P2WPKH (bitcoin mainnet)",
        btc_best,
        btc_median,
        f"target >= {TARGET_RATE:,}/s: {'ok' if ok_btc else 'MISSED'}",
    )
    _line(
        "ours  EVM (EIP-55)",
        evm_best,
        evm_median,
        f"target >= {TARGET_RATE:,}/s: {'ok' if ok_evm else 'MISSED'}",
    )
    _line("bitcoinlib HDKey P2WPKH", base_best, base_median, "baseline")
    ratio_btc, ratio_evm = btc_best / base_best, evm_best / base_best
    ok_ratio = min(ratio_btc, ratio_evm) >= TARGET_RATIO
    print(
        f"  ratio ours/bitcoinlib: P2WPKH {ratio_btc:.1f}x, EVM {ratio_evm:.1f}x "
        f"(target >= {TARGET_RATIO:.0f}x: {'ok' if ok_ratio else 'MISSED'})"
    )
    print(
        f"  same addresses as bitcoinlib on {len(sample)} sampled indexes: "
        f"{'yes' if agree else 'NO'}"
    )
    if args.windows:
        _window_report(args.windows, count, rounds)
    if not agree:
        print("FAIL: ours and bitcoinlib derived different addresses", file=sys.stderr)
        return 1
    if args.strict and not (ok_btc and ok_evm and ok_ratio):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
