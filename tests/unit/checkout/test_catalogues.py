"""The checkout page's message catalogues: every language has exactly the English
source catalogue's keys, each translated (non-empty, no HTML) with the same
placeholders, so rendering a message in any language never fails or drops a value."""

from __future__ import annotations

import string
from functools import cache
from importlib.resources import files

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

SOURCE = "en"
LANGUAGES = ["de", "es", "fr", "pt", "ru", "zh", "ar"]


@cache
def catalogue(language: str) -> Catalog:
    resource = files("daemon.checkout") / "messages" / f"{language}.po"
    with resource.open("rb") as handle:
        return read_po(handle)


def texts(language: str) -> dict[str, str]:
    """Key to text, the header left out."""
    found: dict[str, str] = {}
    for message in catalogue(language):
        if not message.id:
            continue
        assert isinstance(message.id, str), f"{language}: plural entry {message.id!r}"
        assert isinstance(message.string, str), f"{language}: plural entry {message.id!r}"
        found[message.id] = message.string
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def keyed(language: str) -> list[tuple[str, str]]:
    return [(language, key) for key in texts(SOURCE)]


EVERY_MESSAGE = [pair for language in [SOURCE, *LANGUAGES] for pair in keyed(language)]
TRANSLATED = [pair for language in LANGUAGES for pair in keyed(language)]


def test_the_message_files_are_the_source_and_the_languages() -> None:
    """A new catalogue is tested once it is listed here."""
    shipped = {
        entry.name.removesuffix(".po")
        for entry in (files("daemon.checkout") / "messages").iterdir()
        if entry.name.endswith(".po")
    }
    assert shipped == {SOURCE, *LANGUAGES}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_catalogue_has_exactly_the_source_keys(language: str) -> None:
    ours, source = set(texts(language)), set(texts(SOURCE))
    assert not source - ours, f"{language}: missing {sorted(source - ours)}"
    assert not ours - source, f"{language}: not in {SOURCE}.po {sorted(ours - source)}"


@pytest.mark.parametrize("language", [SOURCE, *LANGUAGES])
def test_the_language_header_is_the_file_name(language: str) -> None:
    assert catalogue(language).mime_headers  # parsed at all
    headers = dict(catalogue(language).mime_headers)
    assert headers.get("Language") == language


@pytest.mark.parametrize(("language", "key"), EVERY_MESSAGE)
def test_a_message_is_a_non_empty_text_without_html(language: str, key: str) -> None:
    text = texts(language).get(key)
    assert text is not None, f"{language}: {key} missing"
    assert text.strip(), f"{language}: {key} is empty"
    assert "<" not in text, f"{language}: {key} holds HTML: {text!r}"


@pytest.mark.parametrize(("language", "key"), TRANSLATED)
def test_a_translation_keeps_the_source_placeholders(language: str, key: str) -> None:
    text = texts(language).get(key)
    assert text is not None, f"{language}: {key} missing"
    ours, source = placeholders(text), placeholders(texts(SOURCE)[key])
    assert ours == source, f"{language}: {key} has {sorted(ours)}, {SOURCE} has {sorted(source)}"


@pytest.mark.parametrize(("language", "key"), EVERY_MESSAGE)
def test_a_message_formats_with_its_placeholders_filled(language: str, key: str) -> None:
    """What the page does: text.format(**values) with the source's placeholder names."""
    text = texts(language).get(key)
    assert text is not None, f"{language}: {key} missing"
    values = {name: f"<{name}>" for name in placeholders(texts(SOURCE)[key])}
    rendered = text.format(**values)
    for value in values.values():
        assert value in rendered, f"{language}: {key} drops {value}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_fixed_forms_are_kept(language: str) -> None:
    """The rate line is not translated, and an ellipsis stays the one character."""
    ours, source = texts(language), texts(SOURCE)
    assert ours["rate.line"] == source["rate.line"]
    for key, text in source.items():
        if "…" in text:
            assert "…" in ours[key], f"{language}: {key} lost its …"
            assert "..." not in ours[key], f"{language}: {key} has ... for …"
