"""The connection layer: negotiate, the connection registry, and the
bounded outbound buffer that transports drain. It knows nothing of hubs;
the hub layer plugs in through ``ConnectionHandler``."""

from .buffer import OutboundBuffer
from .connection import ConnectionApplication, ConnectionHandler, HttpConnection, TransportType
from .manager import ConnectionManager
from .negotiate import parse_negotiate_version, write_negotiate_response
from .options import HttpConnectionOptions

__all__ = [
    "OutboundBuffer",
    "ConnectionApplication",
    "ConnectionHandler",
    "HttpConnection",
    "TransportType",
    "ConnectionManager",
    "parse_negotiate_version",
    "write_negotiate_response",
    "HttpConnectionOptions",
]
