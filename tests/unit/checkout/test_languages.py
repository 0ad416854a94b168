"""Which language the checkout page speaks: ?lang=, then Accept-Language, then English."""

from __future__ import annotations

import pytest

from daemon.checkout.languages import Catalogues, preferred

CATALOGUES = Catalogues.load()


def test_every_language_the_issue_names_is_shipped() -> None:
    assert set(CATALOGUES.languages) >= {"en", "de", "es", "fr", "pt", "ru", "zh", "ar"}
    assert CATALOGUES.languages[0] == "en"


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [
        (None, None, "en"),
        ("de", None, "de"),
        ("DE", "fr", "de"),
        ("xx", "fr-CA,fr;q=0.9", "fr"),  # an unknown ?lang= falls back to the header
        (None, "pt-BR,pt;q=0.9,en;q=0.8", "pt"),
        (None, "zh-Hans-CN", "zh"),
        (None, "sv, ru;q=0.5, de;q=0.7", "de"),  # by q-value
        (None, "ar;q=0, es", "es"),  # q=0: not wanted
        (None, "en;q=0.5, es;q=1.0", "es"),
        (None, "*", "en"),
        (None, "garbage;;;, ,q=, ru;q=x, fr", "fr"),  # malformed entries are skipped
        (None, "de_DE", "de"),
    ],
)
def test_choice(query: str | None, header: str | None, expected: str) -> None:
    assert CATALOGUES.choose(query, header).lang == expected


def test_arabic_is_right_to_left_and_the_others_are_not() -> None:
    assert CATALOGUES.get("ar").direction == "rtl"
    assert {CATALOGUES.get(lang).direction for lang in CATALOGUES.languages if lang != "ar"} == {
        "ltr"
    }


def test_messages_fill_their_placeholders() -> None:
    german = CATALOGUES.get("de")
    assert german("status.seen.detail", count=1, required=3) == "Bestätigungen: 1 von 3"
    assert CATALOGUES.get("en")("order.reference", order_id="A-1") == "Order A-1"


def test_an_overlong_header_is_cut_not_parsed_whole() -> None:
    header = "x-" * 5000 + ", de"
    assert preferred(header) == []  # past the first 512 characters: ignored
    assert CATALOGUES.choose(None, header).lang == "en"
