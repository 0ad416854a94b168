"""Retrying and waiting are written once (issue 16): back-off only in chains/retry.py,
the wait for the first of stop / wake-up / work / timeout only in chains/waiting.py,
and ``Retry-After`` parsed only by chains/retry.py. Checked on the syntax tree of
every module of daemon/ and chains/."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RETRY = ROOT / "chains" / "retry.py"
WAITING = ROOT / "chains" / "waiting.py"
PAUSE_NAME = re.compile(r"delay|backoff|back_off|pause|sleep|wait", re.IGNORECASE)


def modules() -> Iterator[tuple[Path, ast.Module]]:
    for package in ("daemon", "chains"):
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, ast.parse(path.read_text(), filename=str(path))


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _two(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value in (2, 2.0)


def hand_written_backoff(tree: ast.Module) -> list[int]:
    """Lines that grow a pause by hand: ``delay *= 2``, ``delay * 2``, ``2 ** attempt``,
    ``min(delay * 2, MAX)``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Mult | ast.Pow):
            if PAUSE_NAME.search(_name(node.target)):
                lines.append(node.lineno)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            sides = (node.left, node.right)
            if any(_two(s) for s in sides) and any(PAUSE_NAME.search(_name(s)) for s in sides):
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Pow)
            and _two(node.left)
            and re.search(r"attempt|tries|failure|retr", _name(node.right), re.IGNORECASE)
        ):
            lines.append(node.lineno)
    return lines


def _event_wait(node: ast.AST) -> bool:
    """``something.wait()`` with no arguments: an asyncio.Event's wait."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "wait"
        and not node.args
        and not node.keywords
    )


def hand_written_waits(tree: ast.Module) -> list[int]:
    """Lines that wait on an event beside something else by hand: an event's wait
    raced with a timeout (``asyncio.wait_for(stop.wait(), t)``) or wrapped in a task
    to race it with others (``ensure_future(stop.wait())``, ``create_task(...)``, an
    event's wait inside ``asyncio.wait([...])``)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        called = _name(node.func)
        first = node.args[0]
        raced = called in ("wait_for", "ensure_future", "create_task") and _event_wait(first)
        listed = (
            called == "wait"
            and isinstance(first, ast.List | ast.Tuple | ast.Set)
            and any(_event_wait(element) for element in first.elts)
        )
        if raced or listed:
            lines.append(node.lineno)
    return lines


def retry_after_parsers(tree: ast.Module) -> list[int]:
    """Lines that read an HTTP date or turn a header into seconds by hand."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Name | ast.Attribute) and _name(node) == "parsedate_to_datetime"
    ]


def found(rule: Callable[[ast.Module], list[int]], skip: Path) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for path, tree in modules():
        if path == skip:
            continue
        lines = rule(tree)
        if lines:
            out[str(path.relative_to(ROOT))] = lines
    return out


def test_no_back_off_is_written_by_hand() -> None:
    assert found(hand_written_backoff, RETRY) == {}, "use chains.retry.Retry / Backoff"


def test_no_stop_or_wake_wait_is_written_by_hand() -> None:
    assert found(hand_written_waits, WAITING) == {}, "use chains.waiting.wait_for_any"


def test_retry_after_is_parsed_once() -> None:
    assert found(retry_after_parsers, RETRY) == {}, "use chains.retry.parse_retry_after"


def test_the_rules_see_what_they_forbid() -> None:
    """The checks catch the shapes they are for (so an empty finding means something)."""
    code = """
async def f(stop, wake, attempt):
    delay = min(delay * 2, 60)
    delay *= 2
    backoff = 0.25 * 2.0**attempt
    await asyncio.wait_for(stop.wait(), 5)
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.create_task(wake.wait())]
    await asyncio.wait([stop.wait(), other], timeout=1)
    when = parsedate_to_datetime(text)
"""
    tree = ast.parse(code)
    assert sorted(hand_written_backoff(tree)) == [3, 4, 5]
    assert sorted(hand_written_waits(tree)) == [6, 7, 7, 8]
    assert retry_after_parsers(tree) == [9]
