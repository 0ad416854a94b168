"""config.example.yaml is a valid config and documents every key of the schema."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from daemon.config import parse_config
from daemon.config.schema import (
    BackendConfig,
    BitcoinChainConfig,
    Config,
    EvmChainConfig,
)
from daemon.config.tatum import TatumConfig

EXAMPLE = Path(__file__).resolve().parents[3] / "config.example.yaml"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_example_parses() -> None:
    config = parse_config(EXAMPLE.read_text(), env={"PAYWATCH_WEBHOOK_SECRET": SECRET})
    assert set(config.chains) == {"btc", "eth", "polygon"}


def test_example_mentions_every_key() -> None:
    text = EXAMPLE.read_text()
    models: list[type[BaseModel]] = [
        Config,
        BackendConfig,
        BitcoinChainConfig,
        EvmChainConfig,
        TatumConfig,
    ]
    models += [
        field.annotation
        for field in Config.model_fields.values()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    ]
    for model in models:
        for name in model.model_fields:
            assert re.search(rf"\b{name}:", text), (
                f"config.example.yaml lacks {model.__name__}.{name}"
            )
