"""The house rules that keep the code base in shape, checked on every run."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_rules_hold() -> None:
    """chains never imports daemon; bitcoin and evm are independent; the domain is pure."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_import_daemon_is_ours() -> None:
    import daemon

    assert getattr(daemon, "PAYWATCH_PACKAGE", False) is True
    assert Path(daemon.__file__).resolve().parent == ROOT / "daemon"


def test_nothing_runs_at_import_time() -> None:
    """Importing every module starts no thread, opens no socket and reads no config."""
    code = (
        "import threading, pkgutil, importlib, daemon, chains\n"
        "before = threading.active_count()\n"
        "for pkg in (daemon, chains):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
        "assert threading.active_count() == before, threading.enumerate()\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PAYWATCH_CONFIG": "/nonexistent/config.yaml"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_modules_stay_small_and_no_utils() -> None:
    for package in ("daemon", "chains"):
        for path in (ROOT / package).rglob("*.py"):
            lines = len(path.read_text().splitlines())
            assert lines <= 330, f"{path.relative_to(ROOT)} has {lines} lines: split it by concept"
            assert path.stem not in {"utils", "helpers", "misc", "common"}, path


def test_one_transition_table() -> None:
    """Only the domain's states module defines order transitions."""
    for path in (ROOT / "daemon").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                if "TRANSITIONS" in names:
                    assert path == ROOT / "daemon" / "domain" / "states.py", path
