"""Builds the dispatcher from config and runs it as one of the daemon's tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from daemon.cluster.notify import Listener
from daemon.config.webhooks import WebhooksConfig
from daemon.services.identifiers import new_id
from daemon.storage.database import Database
from daemon.webhooks.dispatcher import Dispatcher
from daemon.webhooks.endpoints import EndpointHealth
from daemon.webhooks.outbox import Outbox
from daemon.webhooks.replies import AttemptObserver
from daemon.webhooks.sender import Sender
from daemon.webhooks.signing import Signer
from daemon.webhooks.targets import Resolver
from daemon.webhooks.transport import WebhookClient

log = logging.getLogger("paywatch.webhooks")


def build_dispatcher(
    config: WebhooksConfig,
    db: Database,
    clock: Callable[[], datetime],
    *,
    resolver: Resolver | None = None,
    observer: AttemptObserver | None = None,
) -> tuple[Dispatcher, Callable[[], Awaitable[None]]]:
    """The dispatcher and a coroutine function that closes its HTTP client."""
    timeout = config.timeout.total_seconds()
    client = WebhookClient(
        timeout=timeout,
        allow_private=config.allow_private_targets,
        max_connections=config.max_in_flight,
        resolver=resolver,
    )
    sender = Sender(client, Signer.from_config(config), timeout=timeout)
    dispatcher = Dispatcher(
        db,
        Outbox(new_id("dsp", 8), lease_for(config.timeout), EndpointHealth(config.probe_interval)),
        sender,
        clock,
        max_in_flight=config.max_in_flight,
        per_endpoint=config.max_in_flight_per_endpoint,
        poll_interval=config.poll_interval.total_seconds(),
        observer=observer,
    )
    return dispatcher, client.aclose


async def deliver_webhooks(
    config: WebhooksConfig,
    db: Database,
    clock: Callable[[], datetime],
    stop: asyncio.Event,
    observer: AttemptObserver | None = None,
    listener: Listener | None = None,
) -> None:
    """Run the dispatcher until ``stop`` is set (waking it whenever the daemon commits,
    and, through ``listener``, whenever any instance commits events)."""
    dispatcher, close = build_dispatcher(config, db, clock, observer=observer)
    db.add_commit_listener(dispatcher.wake)
    if listener is not None:
        listener.add_event_listener(dispatcher.wake)
    log.info(
        "webhook delivery on: default target %s, %d at once (%d per endpoint)",
        config.url or "(none; orders' callback_url only)",
        config.max_in_flight,
        config.max_in_flight_per_endpoint,
    )
    try:
        await dispatcher.run(stop)
    finally:
        db.remove_commit_listener(dispatcher.wake)
        if listener is not None:
            listener.remove_event_listener(dispatcher.wake)
        await close()


def start_webhooks(
    config: WebhooksConfig,
    db: Database,
    clock: Callable[[], datetime],
    stop: asyncio.Event,
    observer: AttemptObserver | None = None,
    listener: Listener | None = None,
) -> asyncio.Task[None] | None:
    if config.secret is None:
        log.info("webhook delivery is off: webhooks.secret is not set (events wait in the outbox)")
        return None
    delivering = deliver_webhooks(config, db, clock, stop, observer, listener)
    return asyncio.create_task(delivering, name="webhooks")


def lease_for(timeout: timedelta) -> timedelta:
    """How long a claim holds a delivery: the attempt's timeout plus room for writing
    its result; after that another dispatcher may send it again."""
    return timeout + timedelta(seconds=30)
