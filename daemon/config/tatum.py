"""The ``tatum:`` section: the API key, where Tatum sends notifications, and their secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    SecretStr,
    field_validator,
    model_validator,
)

from daemon.config.durations import parse_duration

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value[:80]!r} is not an http(s) URL")
    return value


class TatumConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr
    # Tatum signs each notification with it (x-payload-hash); paywatch sets it at start.
    hmac_secret: SecretStr | None = None
    # This daemon's POST /v1/tatum/notifications as Tatum reaches it; without it the
    # chains are only polled, and no subscriptions are made.
    notify_url: str | None = None
    api_url: str = "https://api.tatum.io"
    # How often the subscriptions at Tatum are compared with the open orders.
    reconcile_interval: Duration = timedelta(minutes=10)

    @field_validator("api_url", "notify_url")
    @classmethod
    def _urls(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @field_validator("api_key", "hmac_secret")
    @classmethod
    def _not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("is empty (is its environment variable set?)")
        return value

    @model_validator(mode="after")
    def _signed(self) -> TatumConfig:
        if self.notify_url is not None and self.hmac_secret is None:
            raise ValueError(
                "hmac_secret: needed with notify_url (notifications are verified with it)"
            )
        return self

    @property
    def notifications(self) -> bool:
        return self.notify_url is not None and self.hmac_secret is not None
