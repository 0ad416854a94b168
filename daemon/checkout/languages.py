"""The checkout page's languages: its message catalogues and the choice of one.

The catalogues are gettext ``.po`` files in ``daemon/checkout/messages`` (read with
Babel), keyed by message ids such as ``status.seen.detail``: the page's template holds
ids only. ``en.po`` is the source; a key another catalogue lacks falls back to it.

A page's language is ``?lang=`` when it names one of them, else the best of the
browser's ``Accept-Language`` (by q-value, a region falling back to its language:
``pt-BR`` is ``pt``, ``zh-Hans-CN`` is ``zh``), else English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Literal

from babel.messages.pofile import read_po
from markupsafe import Markup, escape

SOURCE = "en"
RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur"})
MAX_HEADER = 512  # of Accept-Language read; the rest is ignored
_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$|^\*$")


@dataclass(frozen=True, slots=True)
class Messages:
    """One language's texts: ``messages("status.seen.detail", count=1, required=2)``."""

    lang: str
    texts: Mapping[str, str]

    @property
    def direction(self) -> Literal["ltr", "rtl"]:
        return "rtl" if self.lang in RIGHT_TO_LEFT else "ltr"

    def __call__(self, key: str, **params: object) -> str:
        text = self.texts[key]
        return text.format(**params) if params else text

    def isolated(self, key: str, **params: object) -> Markup:
        """The message as HTML, each value escaped and isolated (``<bdi>``), so a Latin
        order reference keeps its place in a right-to-left sentence and the reverse."""
        values = {k: Markup("<bdi>{}</bdi>").format(v) for k, v in params.items()}
        return Markup(escape(self.texts[key]).format(**values))  # noqa: S704 - escaped


class Catalogues:
    def __init__(self, catalogues: Mapping[str, Messages]) -> None:
        if SOURCE not in catalogues:
            raise ValueError(f"the {SOURCE} catalogue is missing")
        self.by_lang = dict(catalogues)

    @classmethod
    def load(cls) -> Catalogues:
        """The catalogues shipped in the package (read once, at start-up)."""
        found: dict[str, dict[str, str]] = {}
        for entry in files("daemon.checkout").joinpath("messages").iterdir():
            if not entry.name.endswith(".po"):
                continue
            with entry.open("rb") as stream:
                catalog = read_po(stream)
            found[entry.name[:-3]] = {
                str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str)
            }
        source = found[SOURCE]
        return cls(
            {
                lang: Messages(lang, {**source, **{k: v for k, v in texts.items() if v}})
                for lang, texts in found.items()
            }
        )

    @property
    def languages(self) -> list[str]:
        """Source first, then the others by code."""
        return [SOURCE, *sorted(lang for lang in self.by_lang if lang != SOURCE)]

    def get(self, lang: str) -> Messages:
        return self.by_lang.get(lang, self.by_lang[SOURCE])

    def choose(self, query: str | None, accept_language: str | None) -> Messages:
        if query is not None:
            found = self._match(query)
            if found is not None:
                return self.by_lang[found]
        for tag in preferred(accept_language or ""):
            found = self._match(tag)
            if found is not None:
                return self.by_lang[found]
        return self.by_lang[SOURCE]

    def _match(self, tag: str) -> str | None:
        tag = tag.strip().lower()
        while tag:
            if tag in self.by_lang:
                return tag
            tag = tag.rpartition("-")[0]
        return None


def preferred(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (q=0 dropped;
    malformed entries ignored)."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:MAX_HEADER].split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().replace("_", "-")
        if not _TAG.match(tag) or tag == "*":
            continue
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        if 0 < quality <= 1:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]
