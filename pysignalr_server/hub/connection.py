"""``HubConnectionContext``: the hub side of one connection.

It is the ``ConnectionApplication`` a transport feeds: it runs the
handshake, parses messages with the negotiated protocol (as the binder for
argument types), hands them to the dispatcher, writes replies, and cleans
up when the transport goes away. Writes never block: they queue bytes on the
connection's bounded outbound buffer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from ..connections.connection import ConnectionStatus, HttpConnection, TransportType
from ..errors import InvalidDataError
from ..protocol.base import HubProtocol, TransferFormat
from ..protocol.handshake import HANDSHAKE_SUCCESS, parse_handshake_request, write_handshake_response
from ..protocol.messages import (
    PING,
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationBindingFailureMessage,
    InvocationMessage,
    SequenceMessage,
    StreamBindingFailureMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)
from ..protocol.serialized import SerializedHubMessage
from .clients import HubCallerClients
from .errors import build_error_message
from .hub import HubCallerContext
from .limiter import InvocationLimiter
from .reconnect import ReplayBuffer
from .streams import CancellationToken, UploadStream

if TYPE_CHECKING:
    from ..lifetime.base import HubLifetimeManager
    from .dispatcher import ActiveStream
    from .handler import HubConnectionHandler

__all__ = ["HubConnectionContext"]

log = logging.getLogger("pysignalr_server.hub")

CLIENT_TIMEOUT_ERROR = "Client hasn't sent a message/ping within the configured ClientTimeoutInterval."
HANDSHAKE_CANCELED = "Handshake was canceled."
HANDSHAKE_FAILED = "An unexpected error occurred during connection handshake."
CLOSED_WITH_ERROR = "Connection closed with an error."

# Types 1-5 are numbered by stateful reconnect (Ping, Close, Ack, Sequence are not).
NUMBERED = frozenset(
    {
        InvocationMessage,
        StreamItemMessage,
        CompletionMessage,
        StreamInvocationMessage,
        CancelInvocationMessage,
    }
)
NUMBERED_INCOMING = NUMBERED | {InvocationBindingFailureMessage, StreamBindingFailureMessage}


class HubConnectionContext:
    def __init__(self, handler: HubConnectionHandler, connection: HttpConnection) -> None:
        loop = asyncio.get_running_loop()
        self._handler = handler
        self.connection = connection
        self.connection_id = connection.connection_id
        self._protocol: HubProtocol | None = None
        self.user_identifier: str | None = None
        self._aborted: asyncio.Event | None = None  # made when first asked for (about 0.7 KB each)
        self.is_aborted = False
        self.closing = False
        self.connected = False
        self.client_timeout_armed = False
        self.started_at = loop.time()
        self.last_received = self.started_at
        self._last_write_count = -1
        self._last_write_time = self.started_at
        self._buffer = b""
        self.upload_streams: dict[str, UploadStream] = {}
        self.streams: dict[str, ActiveStream] = {}
        self.tokens: set[CancellationToken] = set()
        self.replay: ReplayBuffer | None = None
        """Set when stateful reconnect is active on this connection."""
        self._close_exception: Exception | None = None
        self.invocation_slots = InvocationLimiter(handler.options.maximum_parallel_invocations_per_client)
        self.caller_context = HubCallerContext(self)
        self.caller_clients = HubCallerClients(handler.lifetime_manager, connection.connection_id)
        self.group_manager = handler.group_manager

    @property
    def protocol(self) -> HubProtocol:
        """The negotiated hub protocol (only valid after the handshake)."""
        if self._protocol is None:
            raise RuntimeError("The handshake has not completed yet")
        return self._protocol

    @property
    def handshake_completed(self) -> bool:
        return self._protocol is not None

    # ----------------------------------------------------------- binder

    def get_parameter_types(self, target: str) -> list[Any]:
        return self._handler.dispatcher.get_parameter_types(target)

    def get_return_type(self, invocation_id: str) -> Any:
        return self._handler.lifetime_manager.try_get_return_type(invocation_id)

    def get_stream_item_type(self, stream_id: str) -> Any:
        stream = self.upload_streams.get(stream_id)
        if stream is None:
            raise KeyError(f"Unknown stream ID '{stream_id}'.")
        return stream.item_type

    @property
    def lifetime_manager(self) -> HubLifetimeManager:
        return self._handler.lifetime_manager

    # ----------------------------------------------------------- writing

    def send(self, message: HubMessage) -> bool:
        """Serialize and queue one message for this client."""
        assert self._protocol is not None
        data = self._protocol.write_message(message)
        if self.replay is not None and type(message) in NUMBERED:
            return self._write_numbered(data)
        return self.connection.write(data)

    def write_serialized(self, message: SerializedHubMessage) -> bool:
        protocol = self._protocol
        if protocol is None or self.closing:
            return False
        data = message.get(protocol)
        if self.replay is not None:
            return self._write_numbered(data)  # always an Invocation
        # Straight to the buffer: a broadcast calls this once per recipient.
        return self.connection.outbound.write(data)

    def _write_numbered(self, data: bytes) -> bool:
        """Stateful reconnect: keep the message for replay, then send it if a
        transport is attached (otherwise it goes out after the reconnect)."""
        replay = self.replay
        assert replay is not None
        replay.add(data)
        if replay.size > self.connection.send_buffer_limit:
            # Not acknowledged for far too long: a client that is not keeping up.
            self.connection.abort(ConnectionError("Stateful reconnect buffer overflow."))
            return False
        if self.connection.status is ConnectionStatus.ACTIVE:
            self.connection.write(data)
        return True

    # ----------------------------------------------------- receive path

    async def receive(self, data: bytes) -> None:
        if self.closing:
            return
        self.last_received = asyncio.get_running_loop().time()
        protocol = self._protocol
        if protocol is None:
            rest = await self._handshake(data)
            if rest is None or self.closing:
                return
            protocol = self._protocol
            assert protocol is not None
            data = rest
            if not data:
                return
        buffer = self._buffer + data if self._buffer else data
        result = protocol.split(buffer, self._handler.options.maximum_receive_message_size)
        self._buffer = result.rest
        dispatch = self._handler.dispatcher.dispatch
        replay = self.replay
        for record in result.records:
            try:
                message = protocol.parse_message(record, self)
            except InvalidDataError as exc:
                self._protocol_error(exc)
                return
            if message is None:
                continue
            if replay is not None:
                kind = type(message)
                if kind in NUMBERED_INCOMING:
                    if not replay.should_process():
                        continue  # already processed before the reconnect
                elif kind is AckMessage:
                    assert isinstance(message, AckMessage)
                    replay.ack(message.sequence_id)
                    continue
                elif kind is SequenceMessage:
                    assert isinstance(message, SequenceMessage)
                    try:
                        replay.on_sequence(message.sequence_id)
                    except InvalidDataError as exc:
                        self._protocol_error(exc)
                        return
                    continue
            await dispatch(self, message)
            if self.closing:
                return
        if result.error is not None:
            self._protocol_error(result.error)

    def _protocol_error(self, exc: Exception) -> None:
        log.info("Closing connection %s: invalid data from the client: %s", self.connection_id, exc)
        self.close(exc)

    async def _handshake(self, data: bytes) -> bytes | None:
        """Returns the bytes after the handshake once it succeeded, else None."""
        options = self._handler.options
        self._buffer += data
        try:
            parsed = parse_handshake_request(self._buffer, options.maximum_receive_message_size)
        except OverflowError:
            self.fail_handshake(HANDSHAKE_CANCELED)
            return None
        except InvalidDataError as exc:
            log.info("Handshake failed on connection %s: %s", self.connection_id, exc)
            self.fail_handshake(build_error_message(HANDSHAKE_FAILED, exc, options.enable_detailed_errors))
            return None
        if parsed is None:
            return None
        request, rest = parsed
        self._buffer = b""
        protocol = self._handler.protocols.get(request.protocol)
        if protocol is None:
            self.fail_handshake(f"The protocol '{request.protocol}' is not supported.")
            return None
        if not protocol.is_version_supported(request.version):
            self.fail_handshake(
                f"The server does not support version {request.version} of the '{request.protocol}' protocol."
            )
            return None
        if (
            protocol.transfer_format is TransferFormat.BINARY
            and self.connection.transport is TransportType.SERVER_SENT_EVENTS
        ):
            self.fail_handshake(
                f"Cannot use the '{protocol.name}' protocol on the current transport. "
                "The transport does not support 'Binary' transfer format."
            )
            return None
        self._protocol = protocol
        self.connection.binary = protocol.transfer_format is TransferFormat.BINARY
        if (
            request.version >= 2
            and self.connection.use_stateful_reconnect
            and self.connection.transport is TransportType.WEBSOCKETS
        ):
            self.replay = ReplayBuffer(options.stateful_reconnect_buffer_size)
            self.connection.reconnectable = True
        self.connection.write(HANDSHAKE_SUCCESS)
        try:
            self.user_identifier = self._handler.get_user_identifier(self)
            await self._handler.lifetime_manager.on_connected(self)
            self.connected = True
            hub = self._handler.dispatcher.create_hub(self)
            await hub.on_connected()
        except Exception as exc:
            log.error("Error when dispatching 'on_connected' on hub.", exc_info=exc)
            self.close(exc)
            return None
        return rest

    def fail_handshake(self, error: str) -> None:
        if self.closing:
            return
        self.closing = True
        self.connection.write(write_handshake_response(error))
        self.connection.complete()

    # ------------------------------------------------------------ closing

    def close(
        self, exc: Exception | None = None, *, allow_reconnect: bool = False, error: str | None = None
    ) -> None:
        """Send a Close message (with an error when ``exc`` or ``error`` is
        given) and end the connection once it is flushed."""
        if self.closing:
            return
        self.closing = True
        if exc is not None:
            self._close_exception = exc
            if error is None:
                error = build_error_message(
                    CLOSED_WITH_ERROR, exc, self._handler.options.enable_detailed_errors
                )
        if self._protocol is not None:
            self.send(CloseMessage(error, allow_reconnect))
        self.connection.complete()

    def abort(self) -> None:
        """``Context.Abort()``: close without an error and without reconnect."""
        self.close()

    @property
    def aborted(self) -> asyncio.Event:
        """Set once the connection has closed, for whatever reason."""
        if self._aborted is None:
            self._aborted = asyncio.Event()
            if self.is_aborted:
                self._aborted.set()
        return self._aborted

    def client_closed(self, message: CloseMessage) -> None:
        """The client sent Close: answer with Close and end the connection."""
        if message.error:
            self._close_exception = ConnectionError(message.error)
        self.close()

    async def transport_closed(self, error: BaseException | None) -> None:
        self.closing = True
        self.is_aborted = True
        if self._aborted is not None:
            self._aborted.set()
        self._handler.session_ended(self)
        # Nobody will read what streams produce any more, and uploads will get
        # no more items: stop both, and tell methods that wait on a token.
        for active in list(self.streams.values()):
            active.token.cancel()
            active.task.cancel()
        for stream in list(self.upload_streams.values()):
            stream.complete("The connection closed before the stream completed.")
        self.upload_streams.clear()
        for token in list(self.tokens):
            token.cancel()
        if not self.connected:
            return
        self.connected = False
        exception: Exception | None = self._close_exception
        if exception is None and isinstance(error, Exception):
            exception = error
        try:
            await self._handler.lifetime_manager.on_disconnected(self)
        except Exception as exc:
            log.error(
                "Error removing connection %s from the lifetime manager.", self.connection_id, exc_info=exc
            )
        try:
            hub = self._handler.dispatcher.create_hub(self)
            await hub.on_disconnected(exception)
        except Exception as exc:
            log.error("Error when dispatching 'on_disconnected' on hub.", exc_info=exc)

    # -------------------------------------------------- stateful reconnect

    def transport_lost(self) -> None:
        log.info("Connection %s lost its transport; waiting for it to reconnect", self.connection_id)

    def transport_resumed(self) -> None:
        """Tell the client where our replay starts, then resend what it may
        not have received."""
        replay = self.replay
        if replay is None or self._protocol is None:
            return
        self.last_received = asyncio.get_running_loop().time()
        first, messages = replay.replay()
        self.connection.write(self._protocol.write_message(SequenceMessage(first)))
        for data in messages:
            self.connection.write(data)

    # -------------------------------------------------------------- tasks

    def start_task(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """A task owned by the hub handler, which logs its failure and cancels
        it at shutdown if still running."""
        task = asyncio.get_running_loop().create_task(coro)
        self._handler.track(task)  # owns it: logs its failure, cancels it at shutdown
        return task

    # ------------------------------------------------------ housekeeping

    def tick(self, now: float) -> None:
        """Called about once a second: handshake timeout, keep-alive, client timeout."""
        options = self._handler.options
        if self.closing:
            return
        if self._protocol is None:
            if now - self.started_at >= options.handshake_timeout:
                log.info("Handshake timed out on connection %s", self.connection_id)
                self.fail_handshake(HANDSHAKE_CANCELED)
            return
        if self.connection.status is not ConnectionStatus.ACTIVE:
            return  # no transport right now (stateful reconnect pending)
        if self.replay is not None:
            due = self.replay.ack_due()
            if due is not None:
                self.connection.write(self._protocol.write_message(AckMessage(due)))
        alive = self.connection.transport_alive
        if alive is not None and not alive():
            self.connection.abort(ConnectionError("The client disconnected."))
            return
        if not self.connection.has_inherent_keep_alive:
            count = self.connection.outbound.write_count
            if count != self._last_write_count:
                self._last_write_count = count
                self._last_write_time = now
            elif now - self._last_write_time >= options.keep_alive_interval:
                self.send(PING)
                self._last_write_count = self.connection.outbound.write_count
                self._last_write_time = now
            if self.client_timeout_armed and now - self.last_received > options.client_timeout_interval:
                log.info("Connection %s timed out: %s", self.connection_id, CLIENT_TIMEOUT_ERROR)
                self._close_exception = TimeoutError(CLIENT_TIMEOUT_ERROR)
                self.close(allow_reconnect=True, error=CLIENT_TIMEOUT_ERROR)
