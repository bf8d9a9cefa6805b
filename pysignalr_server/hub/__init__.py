"""Hubs: the base class, context, client proxies, dispatcher and binding."""

from .clients import ClientProxy, GroupManager, HubCallerClients, HubClients, HubContext
from .connection import HubConnectionContext
from .handler import HubConnectionHandler
from .hub import Hub, HubCallerContext, hub_method
from .options import HubOptions

__all__ = [
    "ClientProxy",
    "GroupManager",
    "HubCallerClients",
    "HubClients",
    "HubContext",
    "HubConnectionContext",
    "HubConnectionHandler",
    "Hub",
    "HubCallerContext",
    "hub_method",
    "HubOptions",
]
