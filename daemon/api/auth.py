"""API keys on the HTTP API: a route that needs one checks it before anything else.

Before the body is read or parsed, before a query parameter is judged, before a
callback URL's host is resolved and before any write, the key is looked up: a missing,
malformed, unknown or revoked key gets 401 and nothing more. (Resolving a callback
URL's host for anyone who asks would let strangers make the daemon look up names and
learn internal addresses from its answers.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from daemon.api.params import bearer_token
from daemon.services.apikeys import authenticate
from daemon.storage.database import Database

Handler = Callable[[Request], Awaitable[Response]]


def requires_key(db: Database, handler: Handler) -> Handler:
    """``handler`` behind the API key check; the key's id is ``api_key_id(request)``."""

    async def checked(request: Request) -> Response:
        token = bearer_token(request)  # its shape first: no database for garbage
        request.state.api_key_id = await db.run_read(lambda conn: authenticate(conn, token))
        return await handler(request)

    checked.__name__ = handler.__name__
    checked.__doc__ = handler.__doc__
    return checked


def api_key_id(request: Request) -> str:
    """The id of the key the request was authenticated with (by :func:`requires_key`)."""
    key_id = getattr(request.state, "api_key_id", None)
    if not isinstance(key_id, str):
        raise RuntimeError(f"{request.url.path} is served without requires_key")
    return key_id
