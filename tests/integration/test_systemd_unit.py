"""systemd/paywatch.service as systemd 252 reads it, and its env file example.

``systemd-analyze verify`` checks every directive and that ExecStart's binary exists: the
unit is checked as installed, with ExecStart pointing at this venv's real ``paywatch``
instead of /opt/paywatch. ``systemd-analyze`` comes with Debian's ``systemd`` package
(``./dev setup`` installs it); without it these tests skip, except under CI where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "paywatch.service"
ENV_EXAMPLE = ROOT / "systemd" / "paywatch.env.example"
INSTALLED_EXEC = "ExecStart=/opt/paywatch/bin/paywatch run"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
# systemd-analyze security's exposure scale is 0..10; its --threshold is in tenths.
MAX_EXPOSURE = 1.5

needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None and not os.environ.get("CI"),
    reason="systemd-analyze missing (Debian package systemd; ./dev setup installs it)",
)


def installed_copy(directory: Path, extra: str = "") -> Path:
    """The unit as it would be installed, running this venv's paywatch."""
    text = UNIT.read_text()
    assert INSTALLED_EXEC in text.splitlines()
    paywatch = Path(sys.executable).parent / "paywatch"
    unit = directory / "paywatch.service"
    unit.write_text(text.replace(INSTALLED_EXEC, f"ExecStart={paywatch} run") + extra)
    return unit


def analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None, "systemd-analyze missing (Debian package systemd)"
    return subprocess.run(
        [SYSTEMD_ANALYZE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_PAGER": ""},
    )


def complaints(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What systemd-analyze said about our unit (other units on the host are not ours)."""
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if "paywatch" in line]


@needs_systemd_analyze
def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path: Path) -> None:
    unit = installed_copy(tmp_path)
    result = analyze("verify", "--man=no", str(unit), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert complaints(result) == []


@needs_systemd_analyze
def test_systemd_analyze_verify_would_notice_a_mistake(tmp_path: Path) -> None:
    """The test above can fail: a misspelt directive and a missing binary are reported."""
    unit = installed_copy(tmp_path, extra="ProtectSytem=strict\n")
    found = complaints(analyze("verify", "--man=no", str(unit), cwd=tmp_path))
    assert any("Unknown key 'ProtectSytem'" in line for line in found), found
    as_shipped = tmp_path / "shipped" / "paywatch.service"
    as_shipped.parent.mkdir()
    shutil.copyfile(UNIT, as_shipped)
    result = analyze("verify", "--man=no", str(as_shipped), cwd=tmp_path)
    if Path("/opt/paywatch/bin/paywatch").exists():
        return  # installed on this machine: nothing to complain about
    assert result.returncode != 0
    assert any("/opt/paywatch/bin/paywatch" in line for line in complaints(result))


@needs_systemd_analyze
def test_hardening_keeps_the_exposure_low(tmp_path: Path) -> None:
    unit = installed_copy(tmp_path)
    result = analyze(
        "security",
        "--offline=yes",
        f"--threshold={int(MAX_EXPOSURE * 10)}",
        "--no-pager",
        str(unit),
        cwd=tmp_path,
    )
    overall = re.search(r"Overall exposure level for paywatch\.service: ([0-9.]+)", result.stdout)
    assert overall is not None, result.stdout + result.stderr
    assert float(overall.group(1)) <= MAX_EXPOSURE, result.stdout
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_env_example_names_every_secret_of_the_config_example() -> None:
    """Each ${VAR} config.example.yaml uses (also in its comments) is in the env example."""
    config = (ROOT / "config.example.yaml").read_text()
    wanted = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", config)) - {"VAR"}  # the header
    assert "PAYWATCH_WEBHOOK_SECRET" in wanted
    example = ENV_EXAMPLE.read_text()
    named = set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert wanted <= named, sorted(wanted - named)
    assert named <= wanted, sorted(named - wanted)
    unit = UNIT.read_text()
    assert "EnvironmentFile=/etc/paywatch/paywatch.env" in unit.splitlines()
