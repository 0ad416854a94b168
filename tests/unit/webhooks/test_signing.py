"""Signatures as Standard Webhooks defines them, checked against the spec's reference
library (``standardwebhooks``), and the rotation overlap."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from daemon.config import parse_config
from daemon.webhooks.signing import Signer, secret_key

NEW = "whsec_" + "Y2F0cyBhcmUgZnVubnkgYW5pbWFscywgZG9ncyB0b28h"
OLD = "whsec_" + "b2xkIHNlY3JldCB0aGF0IHdhcyB1c2VkIGJlZm9yZSE="
BODY = '{"type":"order.paid","timestamp":"2026-01-01T00:00:00Z","data":{"amount":"0.01"}}'


def test_the_signature_is_the_reference_librarys() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    ours = Signer(secret_key(NEW)).header("msg_1", int(moment.timestamp()), BODY.encode())
    assert ours == Webhook(NEW).sign("msg_1", moment, BODY)


def test_the_reference_library_verifies_our_headers() -> None:
    headers = Signer(secret_key(NEW)).headers("msg_2", int(time.time()), BODY.encode())
    assert Webhook(NEW).verify(BODY.encode(), headers)["type"] == "order.paid"
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD).verify(BODY.encode(), headers)
    tampered = BODY.replace("0.01", "1000")
    with pytest.raises(WebhookVerificationError):
        Webhook(NEW).verify(tampered.encode(), headers)


def test_both_signatures_during_the_overlap_only_the_new_after() -> None:
    now = int(time.time())
    until = datetime.fromtimestamp(now + 60, UTC)
    signer = Signer(secret_key(NEW), secret_key(OLD), until)
    during = signer.headers("msg_3", now, BODY.encode())
    assert len(during["webhook-signature"].split(" ")) == 2
    for secret in (NEW, OLD):
        Webhook(secret).verify(BODY.encode(), during)
    after = signer.header("msg_3", now + 61, BODY.encode())
    assert len(after.split(" ")) == 1


def test_from_config_and_the_secret_stays_hidden() -> None:
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    text = f"{{secret: '{NEW}', previous_secret: '{OLD}', previous_secret_until: '{until}'}}"
    config = parse_config(f"webhooks: {text}", env={})
    signer = Signer.from_config(config.webhooks)
    assert len(signer.header("m", int(time.time()), b"{}").split(" ")) == 2
    assert NEW not in repr(signer)
    assert NEW.removeprefix("whsec_") not in repr(config)


@pytest.mark.parametrize(
    ("webhooks", "problem"),
    [
        ("{url: 'https://s.example/h'}", "secret is required when url is set"),
        (f"{{secret: '{NEW}', previous_secret: '{OLD}'}}", "needs previous_secret_until"),
        (
            f"{{secret: '{NEW}', previous_secret: '{NEW}', "
            "previous_secret_until: 2026-02-01T00:00:00Z}",
            "the same as secret",
        ),
        (f"{{secret: '{NEW}', previous_secret_until: 2026-02-01T00:00:00}}", "give a time zone"),
        (f"{{secret: '{NEW}', url: 'http://127.0.0.1:9/h'}}", "127.0.0.1 is a loopback address"),
        (f"{{secret: '{NEW}', url: 'ftp://x/'}}", "must be an http:// or https:// URL"),
        (f"{{secret: '{NEW}', timeout: 5m}}", "at most 60s"),
    ],
)
def test_config_problems_name_the_key(webhooks: str, problem: str) -> None:
    from daemon.config import ConfigError

    with pytest.raises(ConfigError) as failure:
        parse_config(f"webhooks: {webhooks}", env={})
    (message,) = failure.value.problems
    assert message.startswith("webhooks")
    assert problem in message


def test_private_default_url_allowed_when_configured() -> None:
    config = parse_config(
        f"webhooks: {{secret: '{NEW}', url: 'http://127.0.0.1:9/h', allow_private_targets: true}}",
        env={},
    )
    assert config.webhooks.url == "http://127.0.0.1:9/h"
