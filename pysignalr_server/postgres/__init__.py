"""The Postgres backplane: several server processes sharing one database
behave as one SignalR server (ASP.NET Core's Redis backplane semantics on
LISTEN/NOTIFY). asyncpg is imported only here."""

from .bus import BackplaneMetrics, BackplaneUnavailableError, PostgresBus
from .manager import PostgresHubLifetimeManager
from .options import PostgresOptions

__all__ = [
    "BackplaneMetrics",
    "BackplaneUnavailableError",
    "PostgresBus",
    "PostgresHubLifetimeManager",
    "PostgresOptions",
]
