"""The root of every error the daemon raises, and its branches.

Every exception class defined in ``daemon`` derives from :class:`PaywatchError`; the
chain adapters' errors have their own root, ``chains.errors.ChainError`` (``chains``
never imports ``daemon``). A unit test keeps both trees whole
(tests/unit/test_error_tree.py). What an error means to an HTTP client is decided in
one place only, the API's table in ``daemon.api.errors``: a service error carries a
*kind* (``daemon.services.errors.Kind``), never a status code. The tree::

    PaywatchError
    ├── ConfigError                    daemon.config.loading: the config cannot be used
    ├── KeyProblem                     daemon.families.base: a chain's key (a ConfigError line)
    ├── DomainError (ValueError)       daemon.domain: a rule of the order model refused
    │   ├── AmountError                   an amount that is not one (money)
    │   └── TransitionError               a move the transition table does not have (states)
    ├── ServiceError                   daemon.services.errors: a request refused, by kind
    │   ├── InvalidRequest                invalid: read, but not acceptable
    │   │   ├── BadJson                   malformed: a body that is not JSON (daemon.api)
    │   │   └── UnknownCurrency           no rate source quotes the currency (daemon.rates)
    │   ├── Unauthorized                  unauthorized: no valid API key or signature
    │   ├── NotFound                      not_found
    │   ├── Conflict                      conflict: not now, or not with this key
    │   ├── PayloadTooLarge               too_large (daemon.api.params)
    │   ├── BadNotification               malformed: not a Tatum notification (daemon.tatum)
    │   ├── RatesUnavailable              unavailable: too few fresh rates (daemon.rates)
    │   ├── TooManyRequests               too_many: over a limit (the checkout page's streams)
    │   └── NodeUnavailable               unavailable: the chain's node did not answer
    ├── StorageError                   daemon.storage and the rows the services write
    │   ├── StaleOrder                    a change made from a stale row (rolled back)
    │   └── NoUnitOfWork                  on_commit outside a unit of work (after_commit)
    ├── ClusterError                   daemon.cluster
    │   ├── Deposed                       the lease is no longer ours (rolled back)
    │   └── AlreadyRunning                another daemon holds the SQLite file
    ├── WatchError                     daemon.watching
    │   ├── ParentMismatch                the next block does not build on the cursor
    │   ├── ChainMoved                    the chain changed while a batch was fetched
    │   ├── ForkNotFound                  a reorg deeper than the blocks kept: halt
    │   └── RescanError                   a rescan that cannot be done as asked
    ├── SourceFailure                  daemon.rates: one request to a rate source failed
    ├── WebhookError                   daemon.webhooks
    │   ├── TransportError                the store could not be reached
    │   └── TargetRefused (OSError)       a callback address paywatch will not call
    └── DemoError                      daemon.demo (``paywatch demo`` only)
        ├── NodeError                     a dev chain misbehaved
        ├── DemoFailed                    the tour did not end with every order paid
        └── Refused                       the demo store refused a webhook

Branches whose classes live in their own packages (ConfigError, ServiceError) are
defined there; the others are here. The builtin bases in brackets stay where callers and
libraries rely on them (pydantic turns a ValueError into a validation error; an HTTP
client takes an OSError as a connection failure).

This module imports nothing, so the pure domain may use it.
"""

from __future__ import annotations


class PaywatchError(Exception):
    """Something paywatch itself refused or could not do (not a bug: those are other
    exceptions)."""


class DomainError(PaywatchError, ValueError):
    """A rule of the order model refused a value or a move."""


class StorageError(PaywatchError):
    """What is stored is not what a unit of work expected."""


class ClusterError(PaywatchError):
    """This instance's place among the daemons on one database."""


class WatchError(PaywatchError):
    """Following a chain cannot go on as it was (the watcher retries or halts)."""


class WebhookError(PaywatchError):
    """A webhook could not be sent."""


class DemoError(PaywatchError):
    """``paywatch demo`` went wrong."""
