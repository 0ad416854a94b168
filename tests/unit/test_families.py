"""The daemon tells chain families apart in one place only, the registry
(:mod:`daemon.families`): nowhere else in ``daemon/`` is a chain's config checked for
its class, nor asked whether it is EVM."""

from __future__ import annotations

import ast
from pathlib import Path

from daemon.config import parse_config
from daemon.families.registry import FAMILIES, chain_types, family_of

DAEMON = Path(__file__).resolve().parents[2] / "daemon"
FAMILY_MODELS = {model.__name__ for family in FAMILIES for model in family.models}


def family_checks(tree: ast.AST) -> list[int]:
    """Lines with ``isinstance(…, X)`` for a family's config class, or ``is_evm``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
            classes = node.args[1] if len(node.args) > 1 else None
            names = {getattr(n, "id", getattr(n, "attr", None)) for n in ast.walk(classes or node)}
            if names & FAMILY_MODELS or any(str(n).endswith("ChainConfig") for n in names):
                found.append(node.lineno)
        if isinstance(node, ast.Attribute | ast.Name | ast.FunctionDef) and "is_evm" in {
            getattr(node, "attr", None),
            getattr(node, "id", None),
            getattr(node, "name", None),
        }:
            found.append(node.lineno)
    return found


def test_no_family_is_told_apart_outside_the_registry() -> None:
    left = {}
    for path in DAEMON.rglob("*.py"):
        if "families" in path.relative_to(DAEMON).parts:
            continue
        lines = family_checks(ast.parse(path.read_text(), str(path)))
        if lines:
            left[str(path.relative_to(DAEMON))] = lines
    assert left == {}, f"ask the chain's family (daemon.families.registry.family_of): {left}"


def test_the_scan_sees_a_family_check() -> None:
    code = "if isinstance(chain, BitcoinChainConfig) or info.is_evm: pass"
    assert len(family_checks(ast.parse(code))) == 2


def test_every_type_has_its_family() -> None:
    assert chain_types() == ["bitcoin", "litecoin", "evm"]
    config = parse_config(
        "chains:\n  l: {type: litecoin, xpub: x}\n  e: {type: evm, chain_id: 1, xpub: x}\n",
        env={},
    )
    assert [family_of(c) for c in config.chains.values()] == list(FAMILIES)


def test_each_chain_has_a_name_to_show_customers() -> None:
    """The checkout page's "Network" line: a known network by its name, an unknown one
    by the config's chain name."""
    from daemon.services.registry import ChainRegistry
    from tests.support.configs import config_yaml

    config = parse_config(config_yaml("sqlite://"))
    shown = {chain.name: chain.shown_as for chain in ChainRegistry.from_config(config)}
    assert shown == {"btc": "Bitcoin", "ltc": "Litecoin", "eth": "Ethereum", "polygon": "Polygon"}
    local = parse_config(config_yaml("sqlite://").replace("chain_id: 1\n", "chain_id: 31337\n"))
    assert {c.name: c.shown_as for c in ChainRegistry.from_config(local)}["eth"] == "eth"
