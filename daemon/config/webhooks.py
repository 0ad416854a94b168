"""The ``webhooks:`` section: where events go, how they are signed and sent."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from daemon.config.durations import parse_duration
from daemon.webhooks.addresses import literal_target_problem

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _check_secret(value: SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    raw = value.get_secret_value()
    if not raw.startswith("whsec_"):
        raise ValueError("must start with whsec_ followed by base64 (24 to 64 random bytes)")
    try:
        key = base64.b64decode(raw[len("whsec_") :], validate=True)
    except binascii.Error:
        raise ValueError("the part after whsec_ is not valid base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError(f"decodes to {len(key)} bytes; use 24 to 64 random bytes")
    return value


class WebhooksConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = None
    secret: SecretStr | None = None
    previous_secret: SecretStr | None = None
    previous_secret_until: datetime | None = None
    allow_private_targets: bool = False
    timeout: Duration = timedelta(seconds=15)
    max_in_flight: int = Field(default=64, ge=1, le=1000)
    max_in_flight_per_endpoint: int = Field(default=8, ge=1, le=100)
    poll_interval: Duration = timedelta(seconds=2)
    probe_interval: Duration = timedelta(seconds=30)  # a failing endpoint's probes
    retention: Duration = timedelta(days=30)  # delivered bodies dropped after this

    _secrets = field_validator("secret", "previous_secret")(_check_secret)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value)
        except ValueError:
            raise ValueError("is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: timedelta) -> timedelta:
        if value > timedelta(seconds=60):
            raise ValueError("must be at most 60s (receivers should answer within seconds)")
        return value

    @field_validator("probe_interval")
    @classmethod
    def _probe_interval(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(hours=1):
            raise ValueError("must be between 1s and 1h")
        return value

    @field_validator("retention")
    @classmethod
    def _retention(cls, value: timedelta) -> timedelta:
        if value < timedelta(hours=1):
            raise ValueError("must be at least 1h (a delivered body is kept for redelivery)")
        return value

    @field_validator("previous_secret_until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-02-01T00:00:00Z")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> WebhooksConfig:
        if self.url is not None and self.secret is None:
            raise ValueError("secret is required when url is set (every webhook is signed)")
        if self.previous_secret is not None:
            if self.secret is None:
                raise ValueError("previous_secret needs the new secret in webhooks.secret")
            if self.previous_secret_until is None:
                raise ValueError("previous_secret needs previous_secret_until (when to stop)")
            if self.previous_secret.get_secret_value() == self.secret.get_secret_value():
                raise ValueError("previous_secret is the same as secret")
        if self.url is not None and not self.allow_private_targets:
            problem = literal_target_problem(self.url)
            if problem:
                raise ValueError(f"url: {problem}; set allow_private_targets: true to allow it")
        return self
