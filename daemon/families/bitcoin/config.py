"""``type: bitcoin`` / ``type: litecoin`` in config.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from daemon.config.schema import BackendConfig, Duration, Section


class BitcoinChainConfig(Section):
    type: Literal["bitcoin", "litecoin"]
    network: Literal["mainnet", "testnet", "signet", "regtest"] = "mainnet"
    xpub: str | None = None
    descriptor: str | None = None
    address_type: Literal["p2pkh", "p2sh-p2wpkh", "p2wpkh", "p2tr"] | None = None
    confirmations: int = Field(default=1, ge=0, le=1000)
    start_height: int | None = Field(default=None, ge=0)
    # Seconds between blocks (how soon a head that stands still is stale); default: a
    # table of known chains, else measured from the heads seen.
    block_time: Duration | None = None
    backend: BackendConfig = Field(default_factory=BackendConfig)

    @model_validator(mode="after")
    def _one_key(self) -> BitcoinChainConfig:
        if (self.xpub is None) == (self.descriptor is None):
            raise ValueError("give exactly one of xpub or descriptor")
        if self.type == "litecoin" and self.network == "signet":
            raise ValueError("litecoin has no signet; use mainnet, testnet or regtest")
        return self

    @property
    def symbol(self) -> str:
        return "BTC" if self.type == "bitcoin" else "LTC"

    @property
    def confirmations_policy(self) -> int | None:
        return self.confirmations
