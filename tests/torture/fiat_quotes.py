"""The rates a fiat order is quoted at, and that they stay locked: the fixed rates in the
daemon's config are changed between runs of the daemon (a "reprice": config rewritten
while it is down); each order must be quoted at the rates in force when it was made,
each option's amount due the price divided by its rate rounded up to the base unit,
and none of that may change afterwards, whatever the rates do.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.integration.fiat.shop import FIXED, due_base, fixed_rates_yaml

Quote = list[tuple[str, str, int, Decimal]]  # (chain, asset, amount due, rate) per option


def repriced(version: int) -> dict[str, str]:
    """The fixed rates of a version: the shop's at 0, each moved 20 % or less after."""
    if version == 0:
        return dict(FIXED)
    rng = random.Random(version)
    return {
        pair: str((Decimal(value) * rng.randint(80, 120) / 100).quantize(Decimal("0.0001")))
        for pair, value in FIXED.items()
    }


def quote(view: dict[str, Any]) -> Quote:
    return [
        (o["chain"], o["asset"], int(o["amount_base"]), Decimal(o["rate"]["value"]))
        for o in view["options"]
    ]


class Quotes:
    def __init__(self, config: Path, seed: int) -> None:
        self.config, self.seed = config, seed
        self.repriced = 0
        self.rates = repriced(0)
        self.quoted: dict[str, Quote] = {}
        self.problems: list[str] = []

    def reprice(self) -> None:
        """New fixed rates in the config (the daemon must be down; its next start reads them)."""
        text = self.config.read_text()
        assert fixed_rates_yaml(self.rates) in text, "the config's rates are not the fixed ones"
        self.repriced += 1
        new = repriced(self.seed * 100 + self.repriced)
        self.config.write_text(text.replace(fixed_rates_yaml(self.rates), fixed_rates_yaml(new)))
        self.rates = new

    def made(self, view: dict[str, Any]) -> None:
        """An order just made: quoted at the rates in force, rounded up."""
        self.quoted[view["id"]] = quote(view)
        price, currency = view["price"]["amount"], view["price"]["currency"]
        for chain, asset, due, rate in self.quoted[view["id"]]:
            want = Decimal(self.rates[f"{asset}/{currency}"])
            if rate != want or due != due_base(price, str(rate), asset):
                self.problems.append(
                    f"seed {self.seed}: order {view['id']} ({price} {currency}) {chain}:{asset}: "
                    f"quoted {due} at {rate}, the rate in force was {want}, which asks "
                    f"{due_base(price, str(want), asset)}"
                )

    def changed(self, views: dict[str, dict[str, Any]]) -> list[str]:
        """Orders whose options' rates or amounts due moved since they were made."""
        return self.problems + [
            f"seed {self.seed}: order {order_id}: quoted {self.quoted[order_id]}, now "
            f"{quote(view)} (rates are locked until the order is closed)"
            for order_id, view in sorted(views.items())
            if quote(view) != self.quoted[order_id]
        ]
