"""``PostgresOptions``: configuration of the Postgres backplane."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..hub.hub import Hub
    from ..lifetime.base import HubLifetimeManager

__all__ = ["PostgresOptions"]


@dataclasses.dataclass(frozen=True)
class PostgresOptions:
    """Everything the backplane needs; every field has a default.

    Pass it to ``setup(app, backplane=PostgresOptions(dsn=...))``. All
    processes that should behave as one server use the same ``dsn`` and
    ``prefix``; a different ``prefix`` isolates another application sharing
    the database.
    """

    dsn: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    """Must reach the primary directly (or through PgBouncer in session mode)."""
    prefix: str = "signalr"
    """Names the NOTIFY channel and scopes every message; at most 63 bytes after
    hashing (longer prefixes are hashed deterministically)."""
    ack_timeout: float = 30.0
    """Seconds to wait for the server holding a connection to confirm a group add/remove."""
    receipt_timeout: float = 2.0
    """Client results: seconds to wait for some server to confirm it holds the
    connection before failing with "Connection '{id}' does not exist."."""
    reconnect_initial_delay: float = 0.1
    reconnect_max_delay: float = 10.0
    reconnect_jitter: float = 0.25
    """Fraction of each backoff delay that is randomized."""
    keepalive_interval: float = 5.0
    """The listener connection is probed this often; a failed probe reconnects it."""
    probe_timeout: float = 3.0
    spill_threshold: int = 8000
    """Notifications whose text would be this long or longer go through the spill
    table (Postgres refuses payloads of 8000 bytes or more)."""
    spill_table: str = "signalr_spill"
    spill_ttl: float = 300.0
    """Spilled rows older than this are deleted; it must outlive receiver lag."""
    pool_min_size: int = 1
    pool_max_size: int = 4
    batch_max_messages: int = 256
    """Messages published together are packed into one notification, up to this many."""
    max_pending_publishes: int = 10_000
    """Publishes waiting for Postgres; beyond this, sends fail at once."""
    publish_timeout: float = 5.0
    """A send whose notification is not committed within this fails (one
    timer checks the queue, at most every quarter second)."""
    inbox_size: int = 100_000
    """Notifications received but not yet processed; overflow is counted as loss."""

    def lifetime_manager_factory(self) -> Callable[[type[Hub]], HubLifetimeManager]:
        """Used by ``setup(app, backplane=...)``: one shared bus, one manager per hub."""
        from .bus import PostgresBus
        from .manager import PostgresHubLifetimeManager

        bus = PostgresBus(self)

        def factory(hub_class: type[Hub]) -> HubLifetimeManager:
            return PostgresHubLifetimeManager(hub_class, bus)

        return factory
