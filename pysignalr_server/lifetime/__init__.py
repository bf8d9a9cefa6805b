"""Lifetime managers: who is connected, in which groups, as which user, and
how a send reaches them. The in-memory manager is the default; the Postgres
backplane implements the same interface across processes."""

from .base import HubLifetimeManager, ManagedConnection
from .memory import DefaultHubLifetimeManager, InMemoryHubLifetimeManager

__all__ = [
    "HubLifetimeManager",
    "ManagedConnection",
    "DefaultHubLifetimeManager",
    "InMemoryHubLifetimeManager",
]
