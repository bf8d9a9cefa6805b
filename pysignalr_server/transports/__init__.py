"""aiohttp transports: the negotiate endpoint and WebSockets (SSE and long
polling build on the same ``HubEndpoint``)."""

from .endpoint import HubEndpoint

__all__ = ["HubEndpoint"]
