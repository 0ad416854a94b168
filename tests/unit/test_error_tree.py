"""Every exception class has a root: ``chains.errors.ChainError`` in chains,
``daemon.errors.PaywatchError`` in the daemon; HTTP statuses are the API's business."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import chains.errors
import daemon.errors
from chains.errors import ChainError
from daemon.api.errors import STATUS, BadJson
from daemon.api.params import PayloadTooLarge
from daemon.errors import PaywatchError
from daemon.services.errors import (
    Conflict,
    InvalidRequest,
    Kind,
    NotFound,
    ServiceError,
    Unauthorized,
)
from daemon.tatum.hints import BadNotification
from daemon.watching.balance_schedule import NodeUnavailable

ROOT = Path(__file__).resolve().parents[2]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _classes(tree: ast.AST, prefix: str = "") -> Iterator[str]:
    """The qualified names of the classes defined in ``tree``, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.ClassDef):
            yield prefix + node.name
            yield from _classes(node, prefix + node.name + ".")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue  # a class made inside a function is not an importable exception
        else:
            yield from _classes(node, prefix)


def exception_classes(package: str) -> Iterator[type[BaseException]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        module = importlib.import_module(_module_name(path))
        for qualname in _classes(ast.parse(path.read_text())):
            obj: object = module
            for part in qualname.split("."):
                obj = getattr(obj, part)
            if isinstance(obj, type) and issubclass(obj, BaseException):
                yield obj


def test_every_chains_error_derives_from_chain_error() -> None:
    found = list(exception_classes("chains"))
    assert len(found) >= 10  # the scan finds them (ChainError, ChainUnavailable, ...)
    stray = [f"{c.__module__}.{c.__qualname__}" for c in found if not issubclass(c, ChainError)]
    assert not stray, f"derive these from chains.errors.ChainError: {stray}"


def test_every_daemon_error_derives_from_paywatch_error() -> None:
    found = list(exception_classes("daemon"))
    assert len(found) >= 30
    stray = [f"{c.__module__}.{c.__qualname__}" for c in found if not issubclass(c, PaywatchError)]
    assert not stray, f"derive these from daemon.errors.PaywatchError: {stray}"


def test_the_drawn_trees_name_every_error() -> None:
    """The trees in chains/errors.py and daemon/errors.py are kept up to date."""
    for package, module in (("chains", chains.errors), ("daemon", daemon.errors)):
        drawn = module.__doc__ or ""
        missing = [c.__name__ for c in exception_classes(package) if c.__name__ not in drawn]
        assert not missing, f"draw these in {module.__name__}: {missing}"


def test_the_api_table_gives_every_kind_a_status() -> None:
    assert set(STATUS) == set(Kind)


def test_each_service_error_keeps_its_status() -> None:
    """The statuses the API answered with when the errors carried them themselves."""
    before = {
        ServiceError: 400,
        InvalidRequest: 422,
        BadJson: 400,
        NotFound: 404,
        Conflict: 409,
        Unauthorized: 401,
        PayloadTooLarge: 413,
        BadNotification: 400,
        NodeUnavailable: 503,
    }
    assert {cls: STATUS[cls.kind] for cls in before} == before
    assert not any(hasattr(cls, "status") for cls in before)  # no HTTP below the API
