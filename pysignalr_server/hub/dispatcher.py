"""Dispatching parsed hub messages: invocations, pings, closes.

One ``HubDispatcher`` serves every connection of a hub class. Invocations
run as tasks so the connection keeps reading (pings, completions, cancels)
while a hub method awaits; at most
``maximum_parallel_invocations_per_client`` run at once per connection, and
the read loop waits for a free slot before starting another, which is what
ASP.NET Core does.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import TYPE_CHECKING, Any

from ..errors import HubException
from ..protocol.conversion import normalize_name
from ..protocol.messages import (
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationBindingFailureMessage,
    InvocationMessage,
    PingMessage,
    StreamInvocationMessage,
)
from .descriptors import HubMethodDescriptor
from .errors import build_error_message
from .hub import Hub

if TYPE_CHECKING:
    from .connection import HubConnectionContext

__all__ = ["HubDispatcher", "METHOD_DOES_NOT_EXIST"]

log = logging.getLogger("pysignalr_server.hub")

METHOD_DOES_NOT_EXIST = "Method does not exist."


class HubDispatcher:
    def __init__(
        self,
        hub_class: type[Hub],
        methods: dict[str, HubMethodDescriptor],
        *,
        detailed_errors: bool,
    ) -> None:
        self.hub_class = hub_class
        self.methods = methods
        self.detailed_errors = detailed_errors

    # ------------------------------------------------------------- binder

    def get_parameter_types(self, target: str) -> list[Any]:
        descriptor = self.methods.get(normalize_name(target))
        if descriptor is None:
            raise HubException(METHOD_DOES_NOT_EXIST)
        return descriptor.parameter_types

    # ----------------------------------------------------------- dispatch

    def create_hub(self, session: HubConnectionContext) -> Hub:
        hub = self.hub_class.__new__(self.hub_class)
        init = self.hub_class.__init__
        if init is not object.__init__:
            init(hub)
        hub._context = session.caller_context
        hub._clients = session.caller_clients
        hub._groups = session.group_manager
        return hub

    async def dispatch(self, session: HubConnectionContext, message: HubMessage) -> None:
        t = type(message)
        if t is InvocationMessage:
            assert isinstance(message, InvocationMessage)
            await self._invoke(session, message)
        elif t is PingMessage:
            session.client_timeout_armed = True
        elif t is InvocationBindingFailureMessage:
            assert isinstance(message, InvocationBindingFailureMessage)
            self._binding_failure(session, message)
        elif t is CloseMessage:
            assert isinstance(message, CloseMessage)
            session.client_closed(message)
        elif t is StreamInvocationMessage:
            assert isinstance(message, StreamInvocationMessage)
            self._stream_invocation(session, message)
        else:
            # Completions, stream items, cancels, acks and sequences belong to
            # features (client results, streams, stateful reconnect) that
            # handle them elsewhere; unknown ones are ignored, as in .NET.
            log.debug("Ignoring %s on connection %s", t.__name__, session.connection_id)

    def _binding_failure(
        self, session: HubConnectionContext, message: InvocationBindingFailureMessage
    ) -> None:
        text = build_error_message(
            f"Failed to invoke '{message.target}' due to an error on the server.",
            message.error,
            self.detailed_errors,
        )
        log.debug("Binding failure for %r on %s: %s", message.target, session.connection_id, message.error)
        if message.invocation_id:
            session.send(CompletionMessage.with_error(message.invocation_id, text))

    def _stream_invocation(self, session: HubConnectionContext, message: StreamInvocationMessage) -> None:
        descriptor = self.methods[normalize_name(message.target)]
        if not descriptor.is_streaming:
            session.send(
                CompletionMessage.with_error(
                    message.invocation_id,
                    f"The client attempted to invoke the non-streaming '{message.target}' method "
                    "with a streaming invocation.",
                )
            )
            return
        session.send(
            CompletionMessage.with_error(
                message.invocation_id,
                f"An unexpected error occurred invoking '{message.target}' on the server. "
                "HubException: Streaming methods are not supported by this server yet.",
            )
        )

    async def _invoke(self, session: HubConnectionContext, message: InvocationMessage) -> None:
        descriptor = self.methods[normalize_name(message.target)]
        if descriptor.is_streaming:
            if message.invocation_id:
                session.send(
                    CompletionMessage.with_error(
                        message.invocation_id,
                        f"The client attempted to invoke the streaming '{message.target}' method "
                        "with a non-streaming invocation.",
                    )
                )
            return
        await session.invocation_slots.acquire()
        if session.closing:
            session.invocation_slots.release()
            return
        session.start_task(self._run(session, descriptor, message))

    def _invocation_error(
        self, session: HubConnectionContext, invocation_id: str | None, target: str, exc: Exception
    ) -> None:
        if invocation_id:
            text = build_error_message(
                f"An unexpected error occurred invoking '{target}' on the server.", exc, self.detailed_errors
            )
            session.send(CompletionMessage.with_error(invocation_id, text))

    async def _run(
        self,
        session: HubConnectionContext,
        descriptor: HubMethodDescriptor,
        message: InvocationMessage,
    ) -> None:
        invocation_id = message.invocation_id
        try:
            hub = self.create_hub(session)
            result = descriptor.func(hub, *message.arguments)
            if inspect.isawaitable(result):
                result = await result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if isinstance(exc, HubException):
                log.debug("Hub method %r raised %r", message.target, exc)
            else:
                log.error(
                    "Failed to invoke hub method '%s' on connection %s.",
                    message.target,
                    session.connection_id,
                    exc_info=exc,
                )
            self._invocation_error(session, invocation_id, message.target, exc)
        else:
            if invocation_id:
                try:
                    session.send(CompletionMessage.with_result(invocation_id, result))
                except Exception as exc:
                    log.error(
                        "Failed to serialize the result of hub method '%s'.", message.target, exc_info=exc
                    )
                    self._invocation_error(session, invocation_id, message.target, exc)
        finally:
            session.invocation_slots.release()
