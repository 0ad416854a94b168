"""Reading the daemon's /metrics in tests, and promtool (from ``./dev setup``).

promtool is unpacked into ``.tools/bin`` by ``./dev setup`` as root; without it the
tests that need it are skipped, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
# Metric names in PromQL once strings and {label matchers} are taken out (no label or
# function name starts so).
_NAME = re.compile(r"\b(paywatch_[a-z0-9_]+|process_[a-z_]+|python_[a-z_]+|up)\b")


def promtool_binary() -> str | None:
    local = ROOT / ".tools" / "bin" / "promtool"
    return str(local) if local.exists() else shutil.which("promtool")


def promtool() -> str:
    """promtool's path; skips the test without it, fails under CI."""
    found = promtool_binary()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: ./dev setup (as root) fetches it into .tools/bin")
        pytest.skip("promtool missing: ./dev setup (as root) fetches it")
    return found


def run_promtool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def parse(text: str) -> Samples:
    """Every sample of an exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, /, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def total(samples: Samples, name: str, /, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def series(samples: Samples, name: str) -> list[Mapping[str, str]]:
    return [dict(ls) for (n, ls) in samples if n == name]


def names_in_promql(expressions: Iterable[str]) -> set[str]:
    """The metric names PromQL expressions read (paywatch_*, process_*, python_*, up)."""
    found: set[str] = set()
    for expr in expressions:
        bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
        bare = re.sub(r"\{[^}]*\}", "", bare)
        found.update(_NAME.findall(bare))
    return found
