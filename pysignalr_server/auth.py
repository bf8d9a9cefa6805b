"""Authentication and authorization.

``add_hub(path, Hub, authenticate=fn)`` takes an async ``fn(request)`` that
returns a ``User`` (or any object with an ``identifier``), ``None`` for an
anonymous request, or raises an aiohttp ``HTTPException`` to refuse it. It
runs on negotiate and on every transport request; a transport request whose
user differs from the connection's is refused.

``@authorize()`` on a hub class or a hub method requires an authenticated
user, or one for whom ``predicate(user)`` is true. An unauthenticated
negotiate to a hub that requires a user gets 401; a refused method call gets
"Failed to invoke 'X' because user is unauthorized".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import attrs

__all__ = [
    "User",
    "Authenticator",
    "AuthPolicy",
    "authorize",
    "get_access_token",
    "policy_of",
    "is_authorized",
]

T = TypeVar("T")

POLICY_ATTR = "__signalr_authorize__"


@attrs.frozen(slots=True)
class User:
    """An authenticated user. ``identifier`` is what ``clients.user(...)``
    targets (ASP.NET Core's NameIdentifier claim)."""

    identifier: str
    name: str | None = None
    claims: Mapping[str, Any] = attrs.field(factory=dict)


class _Request(Protocol):
    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def query(self) -> Mapping[str, str]: ...


Authenticator = Callable[[Any], Awaitable[Any]]


@attrs.frozen(slots=True)
class AuthPolicy:
    """Requires an authenticated user, and ``predicate(user)`` if given."""

    predicate: Callable[[Any], bool] | None = None

    def allows(self, user: Any) -> bool:
        if user is None:
            return False
        return self.predicate is None or bool(self.predicate(user))


def authorize(predicate: Callable[[Any], bool] | None = None) -> Callable[[T], T]:
    """Require an authenticated user (optionally one ``predicate`` accepts)
    for a whole hub (class decorator) or one hub method."""

    def decorate(target: T) -> T:
        setattr(target, POLICY_ATTR, AuthPolicy(predicate))
        return target

    return decorate


def policy_of(target: Any) -> AuthPolicy | None:
    policy = getattr(target, POLICY_ATTR, None)
    return policy if isinstance(policy, AuthPolicy) else None


def is_authorized(policy: AuthPolicy | None, user: Any) -> bool:
    return policy is None or policy.allows(user)


def get_access_token(request: _Request) -> str | None:
    """The bearer token of a request: ``Authorization: Bearer <token>`` or
    the ``access_token`` query parameter (browsers use the query for
    WebSockets and Server-Sent Events, which cannot carry headers)."""
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    query_token = request.query.get("access_token")
    return query_token or None
