"""The chain families the daemon knows: one line per family in :data:`FAMILIES`.

A family added here (or, by a test or a plugin, with :func:`register`) is accepted in
config.yaml under each ``type:`` its models name, and watched, derived and served like
the others: nothing else in the daemon names a family.
"""

from __future__ import annotations

import typing
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from daemon.config.schema import ChainConfig, ChainName
from daemon.families.base import Family
from daemon.families.bitcoin.family import FAMILY as BITCOIN
from daemon.families.evm.family import FAMILY as EVM

FAMILIES: tuple[Family[Any], ...] = (BITCOIN, EVM)

_registered: list[Family[Any]] = list(FAMILIES)
_KNOWN_ERRORS = frozenset(typing.get_args(ErrorType))


def register(family: Family[Any]) -> None:
    """Add a family (its ``type:`` names must be new)."""
    taken = set(chain_types())
    clash = [name for name in types_of(family) if name in taken]
    if clash:
        raise ValueError(f"chain type(s) {', '.join(clash)} are already registered")
    _registered.append(family)


def unregister(family: Family[Any]) -> None:
    _registered.remove(family)


def families() -> tuple[Family[Any], ...]:
    return tuple(_registered)


def types_of(family: Family[Any]) -> list[str]:
    """The ``type:`` names of the family's models, in order."""
    names: list[str] = []
    for model in family.models:
        names += [str(value) for value in typing.get_args(model.model_fields["type"].annotation)]
    return names


def chain_types() -> list[str]:
    return [name for family in _registered for name in types_of(family)]


def family_of(chain: ChainConfig) -> Family[Any]:
    """The family whose model ``chain`` is (told by its ``type:``)."""
    for family in _registered:
        if chain.type in types_of(family):
            return family
    raise LookupError(f"no chain family has type {chain.type!r}")


def validate_chains(value: object) -> dict[str, ChainConfig]:
    """``chains:`` validated by the registered families' models. An error names the key
    as config.yaml spells it (without the union member pydantic would add)."""
    adapter = _adapter(families())
    try:
        chains: dict[str, ChainConfig] = adapter.validate_python(value)
    except ValidationError as exc:
        raise ValidationError.from_exception_data(exc.title, _plain(exc)) from None
    return chains


@cache
def _adapter(registered: tuple[Family[Any], ...]) -> TypeAdapter[dict[str, Any]]:
    models: list[type[BaseModel]] = [m for family in registered for m in family.models]
    union: Any = models[0] if len(models) == 1 else typing.Union[tuple(models)]  # noqa: UP007
    member = Annotated[union, Field(discriminator="type")]
    return TypeAdapter(dict[ChainName, member])


def _plain(exc: ValidationError) -> list[InitErrorDetails]:
    types = chain_types()
    listed = ", ".join(types)
    either = ", ".join(types[:-1]) + f" or {types[-1]}" if len(types) > 1 else types[0]
    details: list[InitErrorDetails] = []
    for error in exc.errors():
        loc = error["loc"]
        kind = error["type"]
        if kind == "union_tag_invalid":
            found = PydanticCustomError("chain_type", f"must be one of {listed}")
            details.append({"type": found, "loc": (*loc, "type"), "input": error["input"]})
            continue
        if kind == "union_tag_not_found":
            found = PydanticCustomError("chain_type", f"is required ({either})")
            details.append({"type": found, "loc": (*loc, "type"), "input": error["input"]})
            continue
        if len(loc) > 1 and loc[1] in types:  # (name, tag, key...) -> (name, key...)
            loc = (loc[0], *loc[2:])
        if kind not in _KNOWN_ERRORS:  # a family's own (PydanticCustomError)
            own = PydanticCustomError(kind, error["msg"].replace("{", "{{").replace("}", "}}"))
            details.append({"type": own, "loc": loc, "input": error["input"]})
            continue
        detail: InitErrorDetails = {"type": kind, "loc": loc, "input": error["input"]}
        if "ctx" in error:
            detail["ctx"] = error["ctx"]
        details.append(detail)
    return details
