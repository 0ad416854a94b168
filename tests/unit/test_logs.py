"""The log formatter masks every secret it knows and every secret-shaped string, in the
message, in fields and in tracebacks; JSON lines stay valid JSON."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from daemon.config.loading import parse_config
from daemon.config.secrets import secret_values
from daemon.runtime.logs import MASK, Redactor, configure_logging
from tests.support.configs import config_yaml

SECRET_CHARS = st.characters(min_codepoint=33, max_codepoint=126)
secrets_ = st.text(SECRET_CHARS, min_size=6, max_size=40)
padding = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=40)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger writing JSON to a buffer; the previous handlers put back after."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    yield io.StringIO()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved:
        root.addHandler(handler)
    root.setLevel(level)


def _survives(secret: str, text: str) -> bool:
    """Whether ``secret`` shows in ``text`` other than by overlapping a mask: a secret
    that happens to be part of "[redacted]" (or of it and its neighbours, such as
    "acted]" or "d]abcd" before "abcd") shows in any masked text without leaking."""
    masks = []
    at = text.find(MASK)
    while at != -1:
        masks.append((at, at + len(MASK)))
        at = text.find(MASK, at + 1)
    at = text.find(secret)
    while at != -1:
        if not any(start < at + len(secret) and at < end for start, end in masks):
            return True
        at = text.find(secret, at + 1)
    return False


@settings(max_examples=200)
@given(secret=secrets_, before=padding, after=padding)
@example(secret="acted]", before="", after="")  # the mask itself ends with the secret
@example(secret="d]abcd", before="", after="abcd")  # the mask and what follows it
@example(secret="secret", before="sec", after="ret")
def test_a_known_secret_never_survives(secret: str, before: str, after: str) -> None:
    redact = Redactor([secret])
    assert not _survives(secret, redact(before + secret + after))


@given(secret=secrets_, other=secrets_)
@example(secret="acted]", other="acted]")
def test_a_secret_inside_a_longer_one_masks_the_longer_one_whole(secret: str, other: str) -> None:
    longer = secret + other
    assert not _survives(longer, Redactor([secret, longer])(f"x {longer} y"))
    assert not _survives(secret, Redactor([secret, longer])(f"x {longer} y"))


def test_a_secret_outside_the_masks_is_seen() -> None:
    assert _survives("hunter2", "[redacted] hunter2")
    assert not _survives("acted]", "x [redacted] y")


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer pw_key_0123456789abcdef_" + "A" * 43,
        "request with key pw_key_0123456789abcdef_abcDEF-_123",
        "secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw= loaded",
        "authorization: bearer abc.def-ghi",
        "POST http://rpcuser:hunter2pass@127.0.0.1:8332/ failed",
    ],
)
def test_secret_shapes_are_masked_without_being_told(text: str) -> None:
    out = Redactor()(text)
    assert MASK in out
    for word in ("pw_key_0123", "whsec_Mf", "hunter2pass", "abc.def-ghi"):
        assert word not in out


def test_short_strings_are_not_treated_as_secrets() -> None:
    assert Redactor(["abc", ""])("abc is fine") == "abc is fine"


def test_json_lines_mask_message_fields_and_traceback(captured: io.StringIO) -> None:
    secret = "s3cr3t-value-xyz"
    configure_logging("debug", fmt="json", secrets=[secret], stream=captured)
    log = logging.getLogger("paywatch.test")
    log.info("sending with %s", secret, extra={"chain": "eth", "token": secret})
    try:
        raise RuntimeError(f"node said: bad key {secret}")
    except RuntimeError:
        log.exception("failed")
    lines = captured.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["msg"] == f"sending with {MASK}"
    assert first["chain"] == "eth"
    assert first["token"] == MASK
    assert first["level"] == "info"
    assert first["logger"] == "paywatch.test"
    assert "RuntimeError" in second["exc"]
    assert secret not in second["exc"]


def test_text_format_masks_too(captured: io.StringIO) -> None:
    configure_logging("info", fmt="text", secrets=["another-secret"], stream=captured)
    logging.getLogger("x").warning("uses another-secret", extra={"n": 1})
    out = captured.getvalue()
    assert "another-secret" not in out
    assert MASK in out
    assert "n=1" in out


def test_auto_is_json_off_a_terminal(captured: io.StringIO) -> None:
    configure_logging("info", stream=captured)
    logging.getLogger("x").info("hello")
    assert json.loads(captured.getvalue())["msg"] == "hello"


def test_the_config_names_all_its_secrets() -> None:
    extra = """
webhooks:
  url: https://store.example/hooks
  secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
tatum:
  api_key: t-66a0b1c2d3e4f5-tatum-key
  hmac_secret: hmac-secret-for-tatum
"""
    text = config_yaml("postgresql+psycopg://pay:db-password-1@127.0.0.1/pay", extra=extra)
    text = text.replace(
        "    confirmations: 2\n",
        "    confirmations: 2\n"
        "    backend: {kind: rpc, url: 'http://rpc:node-pass-22@127.0.0.1:8332',"
        " password: rpc-password-3}\n",
        1,
    ).replace(
        "    confirmations: 12\n",
        "    confirmations: 12\n"
        "    backend: {kind: rpc, urls: ['https://eth.example/v3/0123456789abcdef0123',"
        " 'https://node.example/rpc?apikey=qwertyuiop123']}\n",
        1,
    )
    found = secret_values(parse_config(text, source="test"))
    assert found >= {
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "t-66a0b1c2d3e4f5-tatum-key",
        "hmac-secret-for-tatum",
        "db-password-1",
        "node-pass-22",
        "rpc-password-3",
        "0123456789abcdef0123",
        "qwertyuiop123",
    }
    assert not {"127.0.0.1", "store.example", "hooks", "rpc"} & found
