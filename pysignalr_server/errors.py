"""The one exception hierarchy of pysignalr-server.

Why one module: every layer (sans-IO protocol, transports, hubs, backplanes)
raises from here, so a caller can catch ``SignalRError`` without knowing
which layer failed.

``error_type_name`` is the name shown to clients when an error's detail is
sent (``HubException`` always, anything else only with detailed errors).
ASP.NET Core prints the .NET exception type name there; we keep the same
names where a client or test might match on them.
"""

from __future__ import annotations

__all__ = [
    "SignalRError",
    "HubException",
    "InvalidDataError",
    "NegotiateError",
    "InvalidOperationError",
    "ClientResultError",
    "ConnectionNotFoundError",
    "ConnectionDisconnectedError",
    "error_type_name",
]


class SignalRError(Exception):
    """Base class of every error this package raises on purpose."""


class HubException(SignalRError):
    """An error whose message is always sent to the client.

    Raise it in a hub method to tell the caller what went wrong; other
    exceptions reach the client only when ``HubOptions.enable_detailed_errors``
    is set.
    """


class InvalidDataError(SignalRError, ValueError):
    """Malformed input from the peer (ASP.NET Core's ``InvalidDataException``).

    Raised by the sans-IO protocol layer. A framing or envelope error is fatal
    for the connection that sent it; an argument-binding error is not (the
    parser turns it into an ``InvocationBindingFailureMessage``).
    """

    error_type_name = "InvalidDataException"


class NegotiateError(SignalRError):
    """A negotiate or transport request that must be refused with a status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_type_name(exc: BaseException) -> str:
    """The type name to show a client for ``exc`` (see module docstring)."""
    name = getattr(type(exc), "error_type_name", None)
    if isinstance(name, str):
        return name
    return type(exc).__name__


class InvalidOperationError(SignalRError, RuntimeError):
    """A call made in a state that does not allow it (.NET ``InvalidOperationException``)."""

    error_type_name = "InvalidOperationException"


class ClientResultError(SignalRError, OSError):
    """A client result could not be obtained because of the connection
    (ASP.NET Core throws ``IOException`` in these cases)."""

    error_type_name = "IOException"


class ConnectionNotFoundError(ClientResultError):
    """``Connection '{id}' does not exist.``"""


class ConnectionDisconnectedError(ClientResultError):
    """``Connection '{id}' disconnected.``"""
