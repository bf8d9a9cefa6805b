"""``HubOptions`` with ASP.NET Core's defaults."""

from __future__ import annotations

import attrs

__all__ = ["HubOptions"]


@attrs.frozen(slots=True, kw_only=True)
class HubOptions:
    """Per-hub behaviour. Set app-wide with ``setup(app, hub_options=...)``
    and per hub with ``add_hub(..., options=...)``. Times are in seconds."""

    keep_alive_interval: float = 15.0
    """A Ping is sent when nothing else was sent for this long."""
    client_timeout_interval: float = 30.0
    """Close a client silent for this long; armed after its first Ping."""
    handshake_timeout: float = 15.0
    maximum_receive_message_size: int | None = 32 * 1024
    """Bytes, framing included; None means unlimited."""
    maximum_parallel_invocations_per_client: int = 1
    stream_buffer_capacity: int = 10
    enable_detailed_errors: bool = False
    """Send exception types and messages to clients (not only HubException)."""
    supported_protocols: tuple[str, ...] = ("json", "messagepack")
    stateful_reconnect_buffer_size: int = 100_000
    """Bytes of unacknowledged messages kept for replay (stateful reconnect)."""

    def __attrs_post_init__(self) -> None:
        if self.maximum_parallel_invocations_per_client < 1:
            raise ValueError("maximum_parallel_invocations_per_client must be at least 1")
        if self.keep_alive_interval <= 0 or self.client_timeout_interval <= 0:
            raise ValueError("keep-alive and client timeout intervals must be positive")
        if self.handshake_timeout <= 0:
            raise ValueError("handshake_timeout must be positive")
