"""Dispatching parsed hub messages: invocations, streams, completions,
cancellations, pings and closes.

One ``HubDispatcher`` serves every connection of a hub class.

- Invocations run as tasks, so the connection keeps reading (pings, client
  results, upload items, cancels) while a hub method awaits. At most
  ``maximum_parallel_invocations_per_client`` run at once per connection and
  the read loop waits for a free slot before starting another, as ASP.NET
  Core does. That is also why a hub method may await a client result from
  its own caller without deadlocking: the Completion is read by the loop,
  not by an invocation slot, and (as in ASP.NET Core) a method gives its slot
  back when it starts waiting for a client result, so the loop is not stuck
  behind the next invocation. Methods with upload streams take no slot:
  their items arrive through the same loop.
- Server-to-client streams run as their own tasks, outside that limit, with
  at most ``stream_buffer_capacity`` items queued per stream.
- Upload streams are bounded queues fed by the read loop.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ..auth import is_authorized
from ..errors import HubException, InvalidOperationError
from ..protocol.conversion import normalize_name
from ..protocol.messages import (
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationBindingFailureMessage,
    InvocationMessage,
    PingMessage,
    StreamBindingFailureMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)
from .descriptors import HubMethodDescriptor
from .errors import build_error_message
from .hub import Hub
from .limiter import InvocationLimiter
from .streams import CancellationToken, UploadStream

if TYPE_CHECKING:
    from .connection import HubConnectionContext

__all__ = ["HubDispatcher", "METHOD_DOES_NOT_EXIST"]

log = logging.getLogger("pysignalr_server.hub")

METHOD_DOES_NOT_EXIST = "Method does not exist."
STREAM_ERROR = "An error occurred on the server while streaming results."


_TARGET_CACHE_SIZE = 256


class ActiveStream:
    """A running server-to-client stream of one connection."""

    __slots__ = ("cancelled_by_client", "task", "token")

    def __init__(self, task: asyncio.Task[None], token: CancellationToken) -> None:
        self.task = task
        self.token = token
        self.cancelled_by_client = False


class InvocationSlot:
    """The invocation slot a running hub method holds. Released once: when
    the method ends, or earlier when it waits for a client result."""

    __slots__ = ("_limiter",)

    def __init__(self, limiter: InvocationLimiter) -> None:
        self._limiter: InvocationLimiter | None = limiter

    def release(self) -> None:
        limiter, self._limiter = self._limiter, None
        if limiter is not None:
            limiter.release()


class HubDispatcher:
    def __init__(
        self,
        hub_class: type[Hub],
        methods: dict[str, HubMethodDescriptor],
        *,
        detailed_errors: bool,
        stream_buffer_capacity: int = 10,
    ) -> None:
        self.hub_class = hub_class
        self.methods = methods
        self._by_target: dict[str, HubMethodDescriptor] = {}
        self.detailed_errors = detailed_errors
        self.stream_buffer_capacity = stream_buffer_capacity

    # ------------------------------------------------------------- binder

    def find_method(self, target: str) -> HubMethodDescriptor | None:
        """The method a client's target names (case and underscores ignored).

        Targets seen before are looked up as sent; the cache of spellings is
        bounded so that a client inventing new ones cannot grow it."""
        descriptor = self._by_target.get(target)
        if descriptor is None:
            descriptor = self.methods.get(normalize_name(target))
            if descriptor is not None and len(self._by_target) < _TARGET_CACHE_SIZE:
                self._by_target[target] = descriptor
        return descriptor

    def get_parameter_types(self, target: str) -> list[Any]:
        descriptor = self.find_method(target)
        if descriptor is None:
            raise HubException(METHOD_DOES_NOT_EXIST)
        return descriptor.parameter_types

    # ----------------------------------------------------------- dispatch

    def create_hub(self, session: HubConnectionContext, slot: InvocationSlot | None = None) -> Hub:
        hub = self.hub_class.__new__(self.hub_class)
        init = self.hub_class.__init__
        if init is not object.__init__:
            init(hub)
        hub._context = session.caller_context
        if slot is None:
            hub._clients = session.caller_clients
        else:
            hub._clients = None
            hub._clients_for = (session.lifetime_manager, session.connection_id, slot.release)
        hub._groups = session.group_manager
        return hub

    async def dispatch(self, session: HubConnectionContext, message: HubMessage) -> None:
        t = type(message)
        if t is InvocationMessage:
            assert isinstance(message, InvocationMessage)
            await self._invoke(session, message)
        elif t is StreamItemMessage:
            assert isinstance(message, StreamItemMessage)
            stream = session.upload_streams.get(message.invocation_id)
            if stream is None:
                log.debug("Stream item for unknown stream %r ignored", message.invocation_id)
            else:
                await stream.put(message.item)
        elif t is CompletionMessage:
            assert isinstance(message, CompletionMessage)
            await self._completion(session, message)
        elif t is PingMessage:
            session.client_timeout_armed = True
        elif t is StreamInvocationMessage:
            assert isinstance(message, StreamInvocationMessage)
            self._stream_invocation(session, message)
        elif t is CancelInvocationMessage:
            assert isinstance(message, CancelInvocationMessage)
            active = session.streams.get(message.invocation_id)
            if active is not None:
                active.cancelled_by_client = True
                active.token.cancel()
                active.task.cancel()
        elif t is InvocationBindingFailureMessage:
            assert isinstance(message, InvocationBindingFailureMessage)
            self._binding_failure(session, message)
        elif t is StreamBindingFailureMessage:
            assert isinstance(message, StreamBindingFailureMessage)
            stream = session.upload_streams.pop(message.id, None)
            if stream is not None:
                stream.complete(f"Stream '{message.id}' failed to bind: {message.error}")
        elif t is CloseMessage:
            assert isinstance(message, CloseMessage)
            session.client_closed(message)
        else:
            # Acks and sequences belong to stateful reconnect (handled by the
            # transport layer when enabled); anything else is ignored, as in .NET.
            log.debug("Ignoring %s on connection %s", t.__name__, session.connection_id)

    async def _completion(self, session: HubConnectionContext, message: CompletionMessage) -> None:
        stream = session.upload_streams.pop(message.invocation_id, None)
        if stream is not None:
            stream.complete(message.error)
            return
        try:
            await session.lifetime_manager.set_connection_result(session.connection_id, message)
        except InvalidOperationError as exc:
            log.warning("Rejected a completion on connection %s: %s", session.connection_id, exc)
        except NotImplementedError:
            log.debug("Completion %r ignored: no client results", message.invocation_id)

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

    # --------------------------------------------------- building a call

    def _prepare(
        self,
        session: HubConnectionContext,
        descriptor: HubMethodDescriptor,
        target: str,
        arguments: Any,
        stream_ids: Any,
        invocation_id: str | None,
    ) -> tuple[list[Any], CancellationToken | None, list[str]] | None:
        """Arguments for the call, its token and the upload stream ids it
        registered; None (after replying with an error) if the streams do
        not match the method."""
        ids = list(stream_ids or ())
        expected = len(descriptor.stream_parameters)
        if len(ids) != expected:
            self._invocation_error(
                session,
                invocation_id,
                target,
                HubException(f"Client sent {len(ids)} stream(s), Hub method expects {expected}."),
            )
            return None
        uploads: list[UploadStream] = []
        for stream_id, (_, item_type) in zip(ids, descriptor.stream_parameters, strict=True):
            stream = UploadStream(stream_id, item_type, self.stream_buffer_capacity)
            session.upload_streams[stream_id] = stream
            uploads.append(stream)
        token = CancellationToken() if descriptor.wants_token else None
        call: list[Any] = []
        for kind, index in descriptor.plan:
            if kind == "arg":
                call.append(arguments[index])
            elif kind == "stream":
                call.append(uploads[index])
            else:
                call.append(token)
        return call, token, ids

    def _invocation_error(
        self, session: HubConnectionContext, invocation_id: str | None, target: str, exc: Exception
    ) -> None:
        if invocation_id:
            text = build_error_message(
                f"An unexpected error occurred invoking '{target}' on the server.", exc, self.detailed_errors
            )
            session.send(CompletionMessage.with_error(invocation_id, text))

    # ------------------------------------------------------- invocations

    def _authorized(
        self, session: HubConnectionContext, descriptor: HubMethodDescriptor, target: str, iid: str | None
    ) -> bool:
        if is_authorized(descriptor.policy, session.connection.user):
            return True
        if iid:
            session.send(
                CompletionMessage.with_error(iid, f"Failed to invoke '{target}' because user is unauthorized")
            )
        return False

    async def _invoke(self, session: HubConnectionContext, message: InvocationMessage) -> None:
        descriptor = self.find_method(message.target)
        assert descriptor is not None  # binding already rejected unknown targets
        if not self._authorized(session, descriptor, message.target, message.invocation_id):
            return
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
        prepared = self._prepare(
            session, descriptor, message.target, message.arguments, message.stream_ids, message.invocation_id
        )
        if prepared is None:
            return
        slot: InvocationSlot | None = None
        if not descriptor.stream_parameters:
            # As in ASP.NET Core, a method with upload streams takes no slot:
            # waiting here for the slot it holds would stop this loop from
            # reading the items it waits for.
            slots = session.invocation_slots
            if not slots.try_acquire():
                await slots.acquire()
            if session.closing:
                slots.release()
                return
            slot = InvocationSlot(slots)
        session.start_task(self._run(session, descriptor, message, *prepared, slot))

    async def _run(
        self,
        session: HubConnectionContext,
        descriptor: HubMethodDescriptor,
        message: InvocationMessage,
        call: list[Any],
        token: CancellationToken | None,
        stream_ids: list[str],
        slot: InvocationSlot | None,
    ) -> None:
        invocation_id = message.invocation_id
        if token is not None:
            session.tokens.add(token)
        try:
            hub = self.create_hub(session, slot)
            result = descriptor.func(hub, *call)
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
            if slot is not None:
                slot.release()
            for stream_id in stream_ids:
                # Unregister the method's own upload streams (a client may have
                # reused a completed stream's id) and abandon them, so a read
                # loop waiting to queue an item into one goes on.
                upload = session.upload_streams.get(stream_id)
                if upload is not None and any(upload is arg for arg in call):
                    del session.upload_streams[stream_id]
                    upload.abandon()
            if token is not None:
                session.tokens.discard(token)

    # ----------------------------------------------------------- streams

    def _stream_invocation(self, session: HubConnectionContext, message: StreamInvocationMessage) -> None:
        invocation_id = message.invocation_id
        descriptor = self.find_method(message.target)
        assert descriptor is not None  # binding already rejected unknown targets
        if not self._authorized(session, descriptor, message.target, invocation_id):
            return
        if not descriptor.is_streaming:
            session.send(
                CompletionMessage.with_error(
                    invocation_id,
                    f"The client attempted to invoke the non-streaming '{message.target}' method "
                    "with a streaming invocation.",
                )
            )
            return
        if invocation_id in session.streams:
            session.send(
                CompletionMessage.with_error(
                    invocation_id, f"Invocation ID '{invocation_id}' is already in use."
                )
            )
            return
        prepared = self._prepare(
            session, descriptor, message.target, message.arguments, message.stream_ids, invocation_id
        )
        if prepared is None:
            return
        call, token, stream_ids = prepared
        token = token or CancellationToken()
        task = session.start_task(self._stream(session, descriptor, message, call, stream_ids))
        session.streams[invocation_id] = ActiveStream(task, token)

    async def _stream(
        self,
        session: HubConnectionContext,
        descriptor: HubMethodDescriptor,
        message: StreamInvocationMessage,
        call: list[Any],
        stream_ids: list[str],
    ) -> None:
        invocation_id = message.invocation_id
        outbound = session.connection.outbound
        capacity = self.stream_buffer_capacity
        iterator: AsyncIterator[Any] | None = None
        pending: collections.deque[int] = collections.deque()
        try:
            hub = self.create_hub(session)
            result = descriptor.func(hub, *call)
            if inspect.isawaitable(result) and not hasattr(result, "__aiter__"):
                result = await result
            if not hasattr(result, "__aiter__"):
                raise TypeError(
                    f"The value returned by the streaming method '{descriptor.name}' is not a "
                    "ChannelReader<> or IAsyncEnumerable<>."
                )
            iterator = result.__aiter__()
            while True:
                try:
                    item = await iterator.__anext__()
                except StopAsyncIteration:
                    break
                if not session.send(StreamItemMessage(invocation_id, item)):
                    return  # the connection is gone
                pending.append(outbound.write_count)
                while pending and pending[0] <= outbound.taken_count:
                    pending.popleft()
                if len(pending) >= capacity:
                    await outbound.wait_taken(pending[0])
                if session.replay is not None and session.replay.size > session.replay.limit:
                    await session.replay.wait_writable()  # wait for the client's acks
                if outbound is not session.connection.outbound:
                    outbound = session.connection.outbound  # a reconnect swapped buffers
                    pending.clear()
            session.send(CompletionMessage.empty(invocation_id))
        except asyncio.CancelledError:
            active = session.streams.get(invocation_id)
            if active is not None and active.cancelled_by_client:
                # ASP.NET Core ends a cancelled stream with a plain Completion.
                session.send(CompletionMessage.empty(invocation_id))
                return
            raise
        except Exception as exc:
            if not isinstance(exc, HubException):
                log.error(
                    "Error while streaming '%s' on connection %s.",
                    message.target,
                    session.connection_id,
                    exc_info=exc,
                )
            session.send(
                CompletionMessage.with_error(
                    invocation_id, build_error_message(STREAM_ERROR, exc, self.detailed_errors)
                )
            )
        finally:
            session.streams.pop(invocation_id, None)
            for stream_id in stream_ids:
                # Unregister the method's own upload streams (a client may have
                # reused a completed stream's id) and abandon them, so a read
                # loop waiting to queue an item into one goes on.
                upload = session.upload_streams.get(stream_id)
                if upload is not None and any(upload is arg for arg in call):
                    del session.upload_streams[stream_id]
                    upload.abandon()
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except Exception:
                    log.exception("Error closing the stream of '%s'", message.target)
