"""The version is written once, in pyproject.toml; ``paywatch --version`` and the
``paywatch_build_info`` metric read it from the installed package's metadata."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from click.testing import CliRunner

from daemon.cli.main import cli
from daemon.metrics.registry import paywatch_version

ROOT = Path(__file__).resolve().parents[2]


def declared() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def test_the_installed_version_is_the_declared_one() -> None:
    """What the build-info metric shows (tests/unit/metrics/test_collectors.py reads it
    there). Fails after a version change until the package is installed again."""
    assert metadata.version("paywatch") == declared()
    assert paywatch_version() == declared()


def test_paywatch_version_prints_it() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"paywatch, version {declared()}\n"


def test_no_module_writes_the_version_itself() -> None:
    for package in ("daemon", "chains"):
        for path in (ROOT / package).rglob("*.py"):
            assert f'"{declared()}"' not in path.read_text(), path
