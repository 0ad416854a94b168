"""What a command needs, built on first use from ``--config``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import click
from sqlalchemy import Connection

from daemon.config.loading import ConfigError, load_config, resolve_path
from daemon.config.schema import Config
from daemon.runtime.container import Container, build
from daemon.services.errors import ServiceError

T = TypeVar("T")


@dataclass
class CliContext:
    config_path: str | None
    _config: Config | None = None
    _container: Container | None = field(default=None, repr=False)

    @property
    def path(self) -> str:
        return str(resolve_path(self.config_path))

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.path)
            except ConfigError as exc:
                raise click.ClickException(exc.render()) from None
        return self._config

    @property
    def container(self) -> Container:
        if self._container is None:
            try:
                self._container = build(self.config)
            except ConfigError as exc:
                exc.source = self.path
                raise click.ClickException(exc.render()) from None
        return self._container

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a read transaction; a refusal becomes the command's error."""
        try:
            return self.container.db.read(work)
        except ServiceError as exc:
            raise service_failure(exc) from None

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction; a refusal becomes the command's error."""
        try:
            return self.container.db.write(work)
        except ServiceError as exc:
            raise service_failure(exc) from None

    def close(self) -> None:
        if self._container is not None:
            self._container.close()


def service_failure(exc: ServiceError) -> click.ClickException:
    return click.ClickException(f"{exc.message} ({exc.code})")


pass_ctx = click.make_pass_decorator(CliContext)
