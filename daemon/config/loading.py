"""Read config.yaml: ``${ENV}`` interpolation, validation, errors that name the key."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from daemon.config.schema import Config
from daemon.errors import PaywatchError

_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
DEFAULT_PATH = "/etc/paywatch/config.yaml"


class ConfigError(PaywatchError):
    """The configuration cannot be used. Each problem names its key."""

    def __init__(self, problems: list[str], source: str = "config") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: " + "; ".join(problems))

    def render(self) -> str:
        lines = [f"{self.source} has {len(self.problems)} problem(s):"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def resolve_path(path: str | None) -> Path:
    return Path(path or os.environ.get("PAYWATCH_CONFIG") or DEFAULT_PATH)


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(["file not found (set --config or $PAYWATCH_CONFIG)"], source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot be read: {exc}"], source) from None
    return parse_config(text, env=env, source=source)


def parse_config(text: str, env: Mapping[str, str] | None = None, source: str = "config") -> Config:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"is not valid YAML: {exc}"], source) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(["the top level must be a mapping of keys"], source)
    problems: list[str] = []
    data = _interpolate(raw, os.environ if env is None else env, (), problems)
    if problems:
        raise ConfigError(problems, source)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_describe(err) for err in exc.errors()], source) from None


def _interpolate(
    node: Any, env: Mapping[str, str], where: tuple[str, ...], problems: list[str]
) -> Any:
    if isinstance(node, dict):
        return {k: _interpolate(v, env, (*where, str(k)), problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, env, (*where, str(i)), problems) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        value = env.get(name)
        if value is None or value == "":
            if default is not None:
                return default
            problems.append(f"{'.'.join(where)}: environment variable {name} is not set")
            return ""
        return value

    return _VAR.sub(substitute, node)


def _describe(error: Any) -> str:
    # Pydantic names "function-after[...]" wrappers and dict keys ("[key]"): drop them.
    # (A chain's family, the union member, is dropped by daemon.families.registry.)
    loc = [
        p for p in (str(p) for p in error["loc"]) if "[" not in p and not p.startswith("function-")
    ]
    key = ".".join(loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key (check the spelling against config.example.yaml)"
    if kind == "missing":
        return f"{key}: is required"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{key}: {message}"
