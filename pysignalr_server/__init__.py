"""pysignalr-server: an ASP.NET Core SignalR-compatible server on aiohttp.

Typical use::

    from aiohttp import web
    import pysignalr_server as signalr

    class ChatHub(signalr.Hub):
        async def send_message(self, user: str, message: str) -> None:
            await self.clients.all.send("ReceiveMessage", user, message)

    app = web.Application()
    signalr.setup(app)
    app.add_hub("/hubs/chat", ChatHub)
    web.run_app(app)
"""

from ._version import __version__
from .app import SIGNALR_KEY, SignalR, add_hub, get_hub_context, setup
from .auth import AuthPolicy, User, authorize, get_access_token
from .connections.connection import TransportType
from .connections.options import HttpConnectionOptions
from .errors import (
    ClientResultError,
    ConnectionDisconnectedError,
    ConnectionNotFoundError,
    HubException,
    InvalidDataError,
    InvalidOperationError,
    NegotiateError,
    SignalRError,
)
from .hub.clients import ClientProxy, GroupManager, HubCallerClients, HubClients, HubContext
from .hub.connection import HubConnectionContext
from .hub.hub import Hub, HubCallerContext, hub_method
from .hub.options import HubOptions
from .hub.streams import CancellationToken, UploadStream
from .lifetime.base import HubLifetimeManager
from .lifetime.memory import DefaultHubLifetimeManager, InMemoryHubLifetimeManager
from .protocol.json import JsonHubProtocol
from .protocol.messagepack import MessagePackHubProtocol

__all__ = [
    "__version__",
    "AuthPolicy",
    "User",
    "authorize",
    "get_access_token",
    "SIGNALR_KEY",
    "SignalR",
    "add_hub",
    "get_hub_context",
    "setup",
    "TransportType",
    "HttpConnectionOptions",
    "HubException",
    "ClientResultError",
    "ConnectionDisconnectedError",
    "ConnectionNotFoundError",
    "InvalidOperationError",
    "CancellationToken",
    "UploadStream",
    "InvalidDataError",
    "NegotiateError",
    "SignalRError",
    "ClientProxy",
    "GroupManager",
    "HubCallerClients",
    "HubClients",
    "HubContext",
    "HubConnectionContext",
    "Hub",
    "HubCallerContext",
    "hub_method",
    "HubOptions",
    "HubLifetimeManager",
    "DefaultHubLifetimeManager",
    "InMemoryHubLifetimeManager",
    "JsonHubProtocol",
    "MessagePackHubProtocol",
]
