"""The single-manager specification of a ``HubLifetimeManager``
(backplane-anatomy.md §2.1, ASP.NET Core's HubLifetimeManagerTestsBase: 12
tests), written once against the abstract interface.

``HubLifetimeManagerSpec`` holds the tests; a subclass named ``Test...``
provides ``create_manager``. The in-memory manager runs them here; a
backplane (the Postgres manager) subclasses the spec the same way and gets
the same 12 tests plus the client-result extras (timeout, return types).

Everything a fake connection receives is parsed back with the JSON hub
protocol, so the tests assert on messages, never on a manager's internals.
Reads wait on an event with a deadline, so a manager that delivers
asynchronously (through a bus) passes the same tests; "received nothing"
is checked after another connection received the same send, as the .NET
tests do with ``TryRead``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pysignalr_server.errors import (
    ConnectionDisconnectedError,
    ConnectionNotFoundError,
    HubException,
    InvalidOperationError,
)
from pysignalr_server.lifetime import HubLifetimeManager, InMemoryHubLifetimeManager
from pysignalr_server.protocol import (
    NO_TYPE,
    CompletionMessage,
    HubMessage,
    InvocationMessage,
    JsonHubProtocol,
)
from pysignalr_server.protocol.serialized import SerializedHubMessage

DEADLINE = 5.0
JSON = JsonHubProtocol()


class ClientBinder:
    """The binder of a client: every client method here takes one argument."""

    def get_parameter_types(self, target: str) -> list[Any]:
        return [Any]

    def get_return_type(self, invocation_id: str) -> Any:
        return NO_TYPE

    def get_stream_item_type(self, stream_id: str) -> Any:
        return NO_TYPE


BINDER = ClientBinder()


class FakeConnection:
    """What a manager sees of a hub connection. Collects the framed bytes it
    is given and parses them back into messages."""

    def __init__(self, connection_id: str, user_identifier: str | None = None) -> None:
        self.connection_id = connection_id
        self.user_identifier = user_identifier
        self.protocol = JSON
        self.frames: list[bytes] = []
        self._read = 0
        self._arrived = asyncio.Event()

    def write_serialized(self, message: SerializedHubMessage) -> bool:
        self.frames.append(message.get(self.protocol))
        self._arrived.set()
        return True

    def _parse(self, frame: bytes) -> HubMessage:
        result = self.protocol.split(frame, None)
        assert result.error is None and result.rest == b"" and len(result.records) == 1, frame
        message = self.protocol.parse_message(result.records[0], BINDER)
        assert message is not None, frame
        return message

    def try_read(self) -> HubMessage | None:
        """The next unread message, or None if nothing (more) has arrived."""
        if self._read >= len(self.frames):
            return None
        frame = self.frames[self._read]
        self._read += 1
        return self._parse(frame)

    async def read(self, within: float = DEADLINE) -> HubMessage:
        """The next message, waiting for it up to ``within`` seconds."""

        async def wait() -> HubMessage:
            while True:
                message = self.try_read()
                if message is not None:
                    return message
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(wait(), within)

    async def read_invocation(self) -> InvocationMessage:
        message = await self.read()
        assert isinstance(message, InvocationMessage), message
        return message


def assert_hello_world(message: HubMessage | None) -> None:
    assert isinstance(message, InvocationMessage), message
    assert message.target == "Hello"
    assert list(message.arguments) == ["World"]
    assert message.invocation_id is None


def assert_pending(task: asyncio.Task[Any]) -> None:
    """The invocation is still waiting for its answer. (The connection
    already received the invocation, so the task has started and is
    suspended on the result; no timing is involved.)"""
    assert not task.done(), task


class HubLifetimeManagerSpec:
    """The tests every HubLifetimeManager must pass (§2.1 #1-#12 + extras)."""

    async def create_manager(self) -> HubLifetimeManager:
        raise NotImplementedError

    @pytest.fixture
    async def manager(self) -> AsyncIterator[HubLifetimeManager]:
        manager = await self.create_manager()
        await manager.start()
        try:
            yield manager
        finally:
            await manager.close()

    @staticmethod
    async def connected(manager: HubLifetimeManager, *ids: str) -> list[FakeConnection]:
        connections = [FakeConnection(cid) for cid in ids]
        for connection in connections:
            await manager.on_connected(connection)
        return connections

    @staticmethod
    def invoke(manager: HubLifetimeManager, connection_id: str, **kwargs: Any) -> asyncio.Task[Any]:
        return asyncio.ensure_future(
            manager.invoke_connection(connection_id, "Result", ["test"], result_type=int, **kwargs)
        )

    @staticmethod
    async def received_invocation(connection: FakeConnection) -> str:
        """The client-result invocation the connection received; returns its id."""
        message = await connection.read_invocation()
        assert message.invocation_id  # non-null, non-empty
        assert message.target == "Result"
        assert list(message.arguments) == ["test"]
        return message.invocation_id

    # ------------------------------------------------------------- #1-#5

    async def test_send_all_writes_to_all_connections_output(self, manager: HubLifetimeManager) -> None:
        c1, c2 = await self.connected(manager, "c1", "c2")
        await manager.send_all("Hello", ["World"])
        assert_hello_world(await c1.read())
        assert_hello_world(await c2.read())

    async def test_send_all_does_not_write_to_disconnected_connections_output(
        self, manager: HubLifetimeManager
    ) -> None:
        c1, c2 = await self.connected(manager, "c1", "c2")
        await manager.on_disconnected(c2)
        await manager.send_all("Hello", ["World"])
        assert_hello_world(await c1.read())
        assert c2.try_read() is None

    async def test_send_group_writes_to_all_connections_in_group_output(
        self, manager: HubLifetimeManager
    ) -> None:
        c1, c2 = await self.connected(manager, "c1", "c2")
        await manager.add_to_group("c1", "group")
        await manager.send_group("group", "Hello", ["World"])
        assert_hello_world(await c1.read())
        assert c2.try_read() is None

    async def test_send_group_except_does_not_write_to_excluded_connections(
        self, manager: HubLifetimeManager
    ) -> None:
        c1, c2 = await self.connected(manager, "c1", "c2")
        await manager.add_to_group("c1", "group1")
        await manager.add_to_group("c2", "group1")
        await manager.send_group_except("group1", "Hello", ["World"], ["c2"])
        assert_hello_world(await c1.read())
        assert c2.try_read() is None

    async def test_send_connection_writes_to_connection_output(self, manager: HubLifetimeManager) -> None:
        (c1,) = await self.connected(manager, "c1")
        await manager.send_connection("c1", "Hello", ["World"])
        assert_hello_world(await c1.read())

    # ------------------------------------------------- #6-#12 client results

    async def test_can_process_client_return_result(self, manager: HubLifetimeManager) -> None:
        (c1,) = await self.connected(manager, "c1")
        task = self.invoke(manager, "c1")
        invocation_id = await self.received_invocation(c1)
        assert_pending(task)
        await manager.set_connection_result("c1", CompletionMessage.with_result(invocation_id, 10))
        assert await asyncio.wait_for(task, DEADLINE) == 10

    async def test_can_process_client_return_error_result(self, manager: HubLifetimeManager) -> None:
        (c1,) = await self.connected(manager, "c1")
        task = self.invoke(manager, "c1")
        invocation_id = await self.received_invocation(c1)
        await manager.set_connection_result(
            "c1", CompletionMessage.with_error(invocation_id, "Error from client")
        )
        with pytest.raises(HubException) as excinfo:
            await asyncio.wait_for(task, DEADLINE)
        assert type(excinfo.value) is HubException
        assert str(excinfo.value) == "Error from client"

    async def test_exception_when_incorrect_client_completes_client_result(
        self, manager: HubLifetimeManager
    ) -> None:
        c1, _c2 = await self.connected(manager, "c1", "c2")
        task = self.invoke(manager, "c1")
        invocation_id = await self.received_invocation(c1)
        with pytest.raises(InvalidOperationError) as excinfo:
            await manager.set_connection_result("c2", CompletionMessage.with_result(invocation_id, 10))
        assert str(excinfo.value) == f"Connection ID 'c2' is not valid for invocation ID '{invocation_id}'."
        assert_pending(task)
        await manager.set_connection_result("c1", CompletionMessage.with_result(invocation_id, 10))
        assert await asyncio.wait_for(task, DEADLINE) == 10

    async def test_connection_id_not_present_when_invoking_client_result(
        self, manager: HubLifetimeManager
    ) -> None:
        await self.connected(manager, "c1")
        with pytest.raises(ConnectionNotFoundError) as excinfo:
            await asyncio.wait_for(
                manager.invoke_connection("none", "Result", ["test"], result_type=int), DEADLINE
            )
        assert isinstance(excinfo.value, OSError)  # .NET: IOException
        assert str(excinfo.value) == "Connection 'none' does not exist."

    async def test_invokes_for_multiple_clients_do_not_collide(self, manager: HubLifetimeManager) -> None:
        c1, c2 = await self.connected(manager, "c1", "c2")
        invoke1 = self.invoke(manager, "c1")
        invoke2 = self.invoke(manager, "c2")
        id1 = await self.received_invocation(c1)
        id2 = await self.received_invocation(c2)
        assert id1 != id2
        await manager.set_connection_result("c2", CompletionMessage.with_error(id2, "error"))
        with pytest.raises(HubException, match=r"^error$"):
            await asyncio.wait_for(invoke2, DEADLINE)
        assert_pending(invoke1)
        await manager.set_connection_result("c1", CompletionMessage.with_result(id1, 3))
        assert await asyncio.wait_for(invoke1, DEADLINE) == 3

    async def test_client_disconnects_without_completing_client_result(
        self, manager: HubLifetimeManager
    ) -> None:
        (c1,) = await self.connected(manager, "c1")
        task = self.invoke(manager, "c1")
        await self.received_invocation(c1)
        await manager.on_disconnected(c1)
        with pytest.raises(ConnectionDisconnectedError) as excinfo:
            await asyncio.wait_for(task, DEADLINE)
        assert isinstance(excinfo.value, OSError)  # .NET: IOException
        assert str(excinfo.value) == "Connection 'c1' disconnected."

    async def test_can_cancel_client_result(self, manager: HubLifetimeManager) -> None:
        # .NET cancels through a CancellationToken and the awaiting task then
        # throws HubException("Invocation canceled by the server."). In Python
        # the caller cancels the awaiting task itself, so cancellation surfaces
        # as CancelledError, the native way, instead.
        (c1,) = await self.connected(manager, "c1")
        task = self.invoke(manager, "c1")
        invocation_id = await self.received_invocation(c1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, DEADLINE)
        assert task.cancelled()
        # The pending entry is gone and a late answer is ignored, not an error.
        assert manager.try_get_return_type(invocation_id) is NO_TYPE
        await manager.set_connection_result("c1", CompletionMessage.with_result(invocation_id, 10))

    # --------------------------------------------------- client-result extras

    async def test_return_type_is_known_while_pending(self, manager: HubLifetimeManager) -> None:
        (c1,) = await self.connected(manager, "c1")
        task = self.invoke(manager, "c1")
        invocation_id = await self.received_invocation(c1)
        assert manager.try_get_return_type(invocation_id) is int
        assert manager.try_get_return_type("unknown") is NO_TYPE
        await manager.set_connection_result("c1", CompletionMessage.with_result(invocation_id, 1))
        assert await asyncio.wait_for(task, DEADLINE) == 1
        assert manager.try_get_return_type(invocation_id) is NO_TYPE

    async def test_timeout_raises_and_forgets_the_invocation(self, manager: HubLifetimeManager) -> None:
        (c1,) = await self.connected(manager, "c1")
        task = self.invoke(manager, "c1", timeout=0.1)
        invocation_id = await self.received_invocation(c1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(task, DEADLINE)
        assert manager.try_get_return_type(invocation_id) is NO_TYPE
        # A late answer is ignored.
        await manager.set_connection_result("c1", CompletionMessage.with_result(invocation_id, 10))

    async def test_result_with_error_after_wrong_connection_still_reaches_the_caller(
        self, manager: HubLifetimeManager
    ) -> None:
        c1, _c2 = await self.connected(manager, "c1", "c2")
        task = self.invoke(manager, "c1")
        invocation_id = await self.received_invocation(c1)
        with pytest.raises(InvalidOperationError):
            await manager.set_connection_result("c2", CompletionMessage.with_error(invocation_id, "no"))
        await manager.set_connection_result("c1", CompletionMessage.with_error(invocation_id, "yes"))
        with pytest.raises(HubException, match=r"^yes$"):
            await asyncio.wait_for(task, DEADLINE)

    async def test_disconnect_fails_only_that_connections_invocations(
        self, manager: HubLifetimeManager
    ) -> None:
        c1, c2 = await self.connected(manager, "c1", "c2")
        invoke1 = self.invoke(manager, "c1")
        invoke2 = self.invoke(manager, "c2")
        await self.received_invocation(c1)
        id2 = await self.received_invocation(c2)
        await manager.on_disconnected(c1)
        with pytest.raises(ConnectionDisconnectedError):
            await asyncio.wait_for(invoke1, DEADLINE)
        assert_pending(invoke2)
        await manager.set_connection_result("c2", CompletionMessage.with_result(id2, 7))
        assert await asyncio.wait_for(invoke2, DEADLINE) == 7

    async def test_invoking_a_disconnected_connection_fails(self, manager: HubLifetimeManager) -> None:
        (c1,) = await self.connected(manager, "c1")
        await manager.on_disconnected(c1)
        with pytest.raises(ConnectionNotFoundError, match=r"^Connection 'c1' does not exist\.$"):
            await asyncio.wait_for(
                manager.invoke_connection("c1", "Result", ["test"], result_type=int), DEADLINE
            )


class TestInMemoryHubLifetimeManager(HubLifetimeManagerSpec):
    async def create_manager(self) -> HubLifetimeManager:
        return InMemoryHubLifetimeManager()

    async def test_write_refused_means_disconnected(self, manager: HubLifetimeManager) -> None:
        """A local connection that no longer accepts writes (it is closing)
        fails the invocation at once, and nothing stays pending."""

        class Closing(FakeConnection):
            def write_serialized(self, message: SerializedHubMessage) -> bool:
                self.frames.append(message.get(self.protocol))
                return False

        closing = Closing("c1")
        await manager.on_connected(closing)
        with pytest.raises(ConnectionDisconnectedError, match=r"^Connection 'c1' disconnected\.$"):
            await asyncio.wait_for(
                manager.invoke_connection("c1", "Result", ["test"], result_type=int), DEADLINE
            )
        invocation_id = closing._parse(closing.frames[0]).invocation_id  # type: ignore[attr-defined]
        assert manager.try_get_return_type(invocation_id) is NO_TYPE
