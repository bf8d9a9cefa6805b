"""The specification suite of a scale-out ``HubLifetimeManager``, run against
the Postgres backplane.

- ``HubLifetimeManagerSpec`` (tests/unit/test_lifetime_spec.py): the 12
  single-manager cases of backplane-anatomy.md §2.1 plus its extras.
- ``ScaleoutHubLifetimeManagerSpec`` (here): the 23 cases of §2.2
  (ASP.NET Core's ScaleoutHubLifetimeManagerTests, which inherits the 12),
  written against the abstract interface with two managers m1 and m2 that
  act as two servers sharing one backplane, plus the §2.3 cases that are
  not tied to a backplane (camelCase bytes, pattern-like names).
- ``TestPostgresHubLifetimeManager``: both specs on Postgres. Every manager
  gets its own ``PostgresBus`` (its own pool and listener connection) on
  one real database: two managers really are two servers.

Waiting is always on an event with a deadline. "Nothing arrived" is proved
with a barrier: after the send under test, the same sender sends a marker
to the same connection through the same path; the backplane keeps a
sender's order, so when the marker is the next thing read, the earlier
message would have been read first had it been delivered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import socket
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import attrs
import pytest
from pg_backplane_support import backplane_tasks, manager_on_new_bus, options

from pysignalr_server.errors import ConnectionNotFoundError, HubException
from pysignalr_server.lifetime import HubLifetimeManager
from pysignalr_server.postgres import BackplaneUnavailableError, PostgresHubLifetimeManager
from pysignalr_server.protocol import (
    CompletionMessage,
    HubMessage,
    HubProtocol,
    InvocationMessage,
    JsonHubProtocol,
    MessagePackHubProtocol,
)
from pysignalr_server.protocol.serialized import SerializedHubMessage
from tests.unit.test_lifetime_spec import (
    DEADLINE,
    FakeConnection,
    HubLifetimeManagerSpec,
    assert_hello_world,
    assert_pending,
)

Managers = tuple[HubLifetimeManager, HubLifetimeManager]


class FailingConnection(FakeConnection):
    """ASP.NET Core's mock connection whose writes throw (#13, #14)."""

    def __init__(self, connection_id: str, user_identifier: str | None = None) -> None:
        super().__init__(connection_id, user_identifier)
        self.attempts = 0

    def write_serialized(self, message: SerializedHubMessage) -> bool:
        self.attempts += 1
        raise RuntimeError("boom: the transport is broken")


class MessagePackConnection(FakeConnection):
    def __init__(self, connection_id: str, user_identifier: str | None = None) -> None:
        super().__init__(connection_id, user_identifier)
        self.protocol = MessagePackHubProtocol()


@dataclasses.dataclass
class SampleObject:
    TestProperty: str


class CamelCaseJsonProtocol(JsonHubProtocol):
    """JSON with .NET's camelCase naming policy for argument objects (m1's
    "JsonHubProtocolOptions" in the Redis test)."""

    def write_message(self, message: HubMessage) -> bytes:
        if isinstance(message, InvocationMessage):
            message = attrs.evolve(message, arguments=[_camel(a) for a in message.arguments])
        return super().write_message(message)


def _camel(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k[:1].lower() + k[1:]: v for k, v in dataclasses.asdict(value).items()}
    return value


def invocation(message: HubMessage | None) -> tuple[str, list[Any]]:
    assert isinstance(message, InvocationMessage), message
    return message.target, list(message.arguments)


class ScaleoutHubLifetimeManagerSpec(HubLifetimeManagerSpec):
    """backplane-anatomy.md §2.2 (23 cases) + the backplane-neutral part of
    §2.3. A subclass provides ``create_server``: each call returns a new,
    not yet started manager on the shared backplane, as if on another
    server. ``create_manager`` (the single-manager spec) uses it too."""

    _barrier_ids = itertools.count(1)

    async def create_server(self, protocols: Sequence[HubProtocol] | None = None) -> HubLifetimeManager:
        raise NotImplementedError

    async def create_manager(self) -> HubLifetimeManager:
        return await self.create_server()

    @pytest.fixture
    async def servers(self) -> AsyncIterator[Managers]:
        m1 = await self.create_server()
        await m1.start()
        try:
            m2 = await self.create_server()
            await m2.start()
            try:
                yield m1, m2
            finally:
                await m2.close()
        finally:
            await m1.close()

    @staticmethod
    async def connect(manager: HubLifetimeManager, *connections: FakeConnection) -> None:
        for connection in connections:
            await manager.on_connected(connection)

    async def assert_next_is_barrier(self, via: HubLifetimeManager, connection: FakeConnection) -> None:
        """``via`` sends a marker to ``connection``; it must be the next thing
        the connection reads (nothing else was delivered before it)."""
        tag = next(self._barrier_ids)
        await via.send_connection(connection.connection_id, "Barrier", [tag])
        assert invocation(await connection.read()) == ("Barrier", [tag])

    # ----------------------------------------------------------- #1-#5

    async def test_invoke_all_with_multiple_servers_writes_to_all_connections_output(
        self, servers: Managers
    ) -> None:
        m1, m2 = servers
        c1, c2 = FakeConnection("c1"), FakeConnection("c2")
        await m1.on_connected(c1)
        await m2.on_connected(c2)
        await m1.send_all("Hello", ["World"])
        assert_hello_world(await c1.read())
        assert_hello_world(await c2.read())
        # Exactly once each: the sender's own copy on the bus is not delivered again.
        await self.assert_next_is_barrier(m2, c1)
        await self.assert_next_is_barrier(m1, c2)

    async def test_invoke_all_with_multiple_servers_does_not_write_to_disconnected_connections_output(
        self, servers: Managers
    ) -> None:
        m1, m2 = servers
        c1, c2 = FakeConnection("c1"), FakeConnection("c2")
        await m1.on_connected(c1)
        await m2.on_connected(c2)
        await m2.on_disconnected(c2)
        await m2.send_all("Hello", ["World"])
        assert_hello_world(await c1.read())
        # c2 is connected nowhere: only m2 could have written to it, synchronously.
        assert c2.try_read() is None

    async def test_invoke_connection_on_server_without_connection_writes_output_to_connection(
        self, servers: Managers
    ) -> None:
        m1, m2 = servers
        c = FakeConnection("c")
        await m1.on_connected(c)
        await m2.send_connection("c", "Hello", ["World"])
        assert_hello_world(await c.read())
        await self.assert_next_is_barrier(m2, c)

    async def test_invoke_group_on_server_without_connection_writes_output_to_group_connection(
        self, servers: Managers
    ) -> None:
        m1, m2 = servers
        c = FakeConnection("c")
        await m1.on_connected(c)
        await m1.add_to_group("c", "name")
        await m2.send_group("name", "Hello", ["World"])
        assert_hello_world(await c.read())
        await self.assert_next_is_barrier(m2, c)

    async def test_disconnect_connection_removes_connection_from_group(self, servers: Managers) -> None:
        m1, m2 = servers
        c, witness = FakeConnection("c"), FakeConnection("witness")
        await m1.on_connected(c)
        await m2.on_connected(witness)  # added: proves the group send went through the bus
        await m1.add_to_group("c", "name")
        await m2.add_to_group("witness", "name")
        await m1.on_disconnected(c)
        await m1.send_group("name", "Hello", ["World"])
        assert_hello_world(await witness.read())
        assert c.try_read() is None

    # ----------------------------------------------------------- #6-#12

    async def test_remove_group_from_local_connection_not_in_group_does_nothing(
        self, servers: Managers
    ) -> None:
        m1, m2 = servers
        c = FakeConnection("c")
        await m1.on_connected(c)
        await asyncio.wait_for(m1.remove_from_group("c", "name"), DEADLINE)
        await m2.send_group("name", "Hello", ["World"])
        await self.assert_next_is_barrier(m2, c)

    async def test_remove_group_from_connection_on_different_server_not_in_group_does_nothing(
        self, servers: Managers
    ) -> None:
        m1, m2 = servers
        c = FakeConnection("c")
        await m1.on_connected(c)
        # Completes only because m1 acks: a remote command for a connection
        # that exists nowhere times out (see test_groups.py).
        await asyncio.wait_for(m2.remove_from_group("c", "name"), DEADLINE)
        await m2.send_group("name", "Hello", ["World"])
        await self.assert_next_is_barrier(m2, c)

    async def test_add_group_for_connection_on_different_server_works(self, servers: Managers) -> None:
        m1, m2 = servers
        c = FakeConnection("c")
        await m1.on_connected(c)
        await asyncio.wait_for(m2.add_to_group("c", "name"), DEADLINE)
        await m2.send_group("name", "Hello", ["World"])
        assert_hello_world(await c.read())

    async def test_add_group_for_local_connection_already_in_group_does_nothing(
        self, servers: Managers
    ) -> None:
        m1, m2 = servers
        c = FakeConnection("c")
        await m1.on_connected(c)
        await m1.add_to_group("c", "name")
        await m1.add_to_group("c", "name")
        await m1.send_group("name", "Hello", ["World"])
        assert_hello_world(await c.read())
        await self.assert_next_is_barrier(m2, c)  # and no second copy through the bus

    async def test_add_group_for_connection_on_different_server_already_in_group_does_nothing(
        self, servers: Managers
    ) -> None:
        m1, m2 = servers
        c = FakeConnection("c")
        await m1.on_connected(c)
        await m1.add_to_group("c", "name")
        await asyncio.wait_for(m2.add_to_group("c", "name"), DEADLINE)
        await m2.send_group("name", "Hello", ["World"])
        assert_hello_world(await c.read())
        await self.assert_next_is_barrier(m2, c)

    async def test_remove_group_for_connection_on_different_server_works(self, servers: Managers) -> None:
        m1, m2 = servers
        c = FakeConnection("c")
        await m1.on_connected(c)
        await m1.add_to_group("c", "name")
        await m2.send_group("name", "Hello", ["World"])
        assert_hello_world(await c.read())
        await asyncio.wait_for(m2.remove_from_group("c", "name"), DEADLINE)
        await m2.send_group("name", "Hello", ["World"])
        await self.assert_next_is_barrier(m2, c)

    async def test_invoke_connection_for_local_connection_does_not_publish_to_backplane(
        self, servers: Managers
    ) -> None:
        m1, m2 = servers
        c = FakeConnection("c")
        await m1.on_connected(c)
        await m2.on_connected(c)  # the same connection on both servers
        await m1.send_connection("c", "Hello", ["World"])
        assert_hello_world(await c.read())
        # m1 delivers its broadcast locally, m2 through the bus. Had m1 also
        # published the Hello, m2 would have delivered it before its Barrier.
        await m1.send_all("Barrier", ["all"])
        assert invocation(await c.read()) == ("Barrier", ["all"])
        assert invocation(await c.read()) == ("Barrier", ["all"])
        assert c.try_read() is None

    # ---------------------------------------------------------- #13-#16

    async def test_writing_to_remote_connection_that_fails_does_not_throw(self, servers: Managers) -> None:
        m1, m2 = servers
        bad, good = FailingConnection("bad"), FakeConnection("good")
        await self.connect(m2, bad, good)
        await m1.send_connection("bad", "Hello", ["World"])  # must not throw
        # ...and m2 keeps delivering what follows.
        await m1.send_connection("good", "Hello", ["World"])
        assert_hello_world(await good.read())
        assert bad.attempts == 1

    async def test_writing_to_group_with_one_connection_failing_second_connection_still_receives_message(
        self, servers: Managers
    ) -> None:
        m1, m2 = servers
        bad, good = FailingConnection("bad"), FakeConnection("good")
        await self.connect(m1, bad, good)  # bad first: it is written to first
        await m1.add_to_group("bad", "group")
        await m1.add_to_group("good", "group")
        await m2.send_group("group", "Hello", ["World"])
        assert_hello_world(await good.read())
        await m2.send_group("group", "Hello", ["World"])
        assert_hello_world(await good.read())
        assert bad.attempts == 2

    async def test_invoke_user_sends_to_all_connections_for_user(self, servers: Managers) -> None:
        # .NET uses one manager; here userA has a connection on each server.
        m1, m2 = servers
        a1, a2, b = FakeConnection("a1", "userA"), FakeConnection("a2", "userA"), FakeConnection("b", "userB")
        await m1.on_connected(a1)
        await self.connect(m2, a2, b)
        await m1.send_user("userA", "Hello", ["World"])
        assert_hello_world(await a1.read())
        assert_hello_world(await a2.read())
        await self.assert_next_is_barrier(m1, b)

    async def test_still_subscribed_to_user_after_one_of_multiple_connections_of_the_user_disconnects(
        self, servers: Managers
    ) -> None:
        m1, m2 = servers
        a1, a2, b = FakeConnection("a1", "userA"), FakeConnection("a2", "userA"), FakeConnection("b", "userB")
        await m1.on_connected(a1)
        await self.connect(m2, a2, b)
        await m1.send_user("userA", "Hello", ["World"])
        assert_hello_world(await a1.read())
        assert_hello_world(await a2.read())
        await m1.on_disconnected(a1)
        await m1.send_user("userA", "Hello", ["World"])
        assert_hello_world(await a2.read())
        assert a1.try_read() is None

    # ------------------------------------------------ #17-#23 client results

    async def test_can_process_client_return_result_across_servers(self, servers: Managers) -> None:
        m1, m2 = servers
        (c1,) = await self.connected(m1, "c1")
        task = self.invoke(m2, "c1")
        invocation_id = await self.received_invocation(c1)
        assert_pending(task)
        await m1.set_connection_result("c1", CompletionMessage.with_result(invocation_id, 10))
        assert await asyncio.wait_for(task, DEADLINE) == 10

    async def test_can_process_client_return_error_result_across_servers(self, servers: Managers) -> None:
        m1, m2 = servers
        (c1,) = await self.connected(m1, "c1")
        task = self.invoke(m2, "c1")
        invocation_id = await self.received_invocation(c1)
        await m1.set_connection_result("c1", CompletionMessage.with_error(invocation_id, "Error from client"))
        with pytest.raises(HubException) as excinfo:
            await asyncio.wait_for(task, DEADLINE)
        assert type(excinfo.value) is HubException
        assert str(excinfo.value) == "Error from client"

    async def test_connection_id_not_present_multi_server_when_invoking_client_result(
        self, servers: Managers
    ) -> None:
        # .NET: IOException; here ConnectionNotFoundError, an OSError.
        m1, m2 = servers
        await self.connected(m1, "c1")
        await self.connected(m2, "c2")
        with pytest.raises(ConnectionNotFoundError) as excinfo:
            await asyncio.wait_for(
                m1.invoke_connection("none", "Result", ["test"], result_type=int), DEADLINE
            )
        assert isinstance(excinfo.value, OSError)
        assert str(excinfo.value) == "Connection 'none' does not exist."

    async def test_client_disconnects_without_completing_client_result_on_second_server(
        self, servers: Managers
    ) -> None:
        # .NET and Python alike: the remote disconnect surfaces as
        # HubException("Connection disconnected.") on the server that asked.
        m1, m2 = servers
        (c1,) = await self.connected(m2, "c1")
        task = self.invoke(m1, "c1")
        await self.received_invocation(c1)
        await m2.on_disconnected(c1)
        with pytest.raises(HubException) as excinfo:
            await asyncio.wait_for(task, DEADLINE)
        assert type(excinfo.value) is HubException
        assert str(excinfo.value) == "Connection disconnected."

    async def test_invocations_from_different_servers_use_unique_ids(self, servers: Managers) -> None:
        m1, m2 = servers
        (c,) = await self.connected(m1, "c")
        invoke1 = self.invoke(m1, "c")
        id1 = await self.received_invocation(c)
        invoke2 = self.invoke(m2, "c")
        id2 = await self.received_invocation(c)
        assert id1 != id2
        # Each completed on the server that asked.
        await m1.set_connection_result("c", CompletionMessage.with_result(id1, 2))
        await m2.set_connection_result("c", CompletionMessage.with_result(id2, 5))
        assert await asyncio.wait_for(invoke1, DEADLINE) == 2
        assert await asyncio.wait_for(invoke2, DEADLINE) == 5

    async def test_connection_does_not_exist_fails_invoke_connection(self, servers: Managers) -> None:
        # .NET: IOException "Connection '1234' does not exist."; here
        # ConnectionNotFoundError (an OSError) with the same text.
        m1, _m2 = servers
        with pytest.raises(ConnectionNotFoundError) as excinfo:
            await asyncio.wait_for(
                m1.invoke_connection("1234", "Result", ["test"], result_type=int), DEADLINE
            )
        assert isinstance(excinfo.value, OSError)
        assert str(excinfo.value) == "Connection '1234' does not exist."

    async def test_client_return_result_across_servers_with_wrong_returned_type_errors(
        self, servers: Managers
    ) -> None:
        # .NET names the type Int32; Python names it int.
        m1, m2 = servers
        (c1,) = await self.connected(m1, "c1")
        task = self.invoke(m2, "c1")
        invocation_id = await self.received_invocation(c1)
        await m1.set_connection_result("c1", CompletionMessage.with_result(invocation_id, "wrong type"))
        with pytest.raises(HubException) as excinfo:
            await asyncio.wait_for(task, DEADLINE)
        assert type(excinfo.value) is HubException
        assert str(excinfo.value).startswith("Error trying to deserialize result to int.")

    # ------------------------------------------- §2.3 (backplane-neutral)

    async def test_camel_cased_json_is_preserved_across_backplane_boundary(self) -> None:
        camel = CamelCaseJsonProtocol()
        m1 = await self.create_server(protocols=[camel, MessagePackHubProtocol()])
        m2 = await self.create_server()
        await m1.start()
        try:
            await m2.start()
            try:
                c_json, c_msgpack = FakeConnection("j"), MessagePackConnection("m")
                await self.connect(m2, c_json, c_msgpack)
                await m1.send_all("Hello", [SampleObject(TestProperty="Foo")])
                message = await c_json.read()
                assert invocation(message) == ("Hello", [{"testProperty": "Foo"}])
                # Byte for byte what m1 serialized, never re-serialized by m2.
                sent = InvocationMessage("Hello", [SampleObject(TestProperty="Foo")])
                assert c_json.frames == [camel.write_message(sent)]
                assert c_json.frames[0] != JsonHubProtocol().write_message(sent)
                await c_msgpack.read()
                assert c_msgpack.frames == [MessagePackHubProtocol().write_message(sent)]
            finally:
                await m2.close()
        finally:
            await m1.close()

    @pytest.mark.parametrize("name", ["*", "%", "_", "a%", "a_c", "[ab]c", "?"])
    async def test_pattern_like_group_names_are_literal(self, servers: Managers, name: str) -> None:
        m1, m2 = servers
        literal, other = FakeConnection("literal"), FakeConnection("other")
        await self.connect(m1, literal, other)
        await m1.add_to_group("literal", name)
        await m1.add_to_group("other", "abc")
        await m2.send_group("abc", "Hello", ["abc"])  # matches "a%", "a_c", "[ab]c"... as patterns
        assert invocation(await other.read()) == ("Hello", ["abc"])
        await m2.send_group(name, "Hello", ["World"])
        assert_hello_world(await literal.read())  # the literal group, not the other one
        await self.assert_next_is_barrier(m2, other)

    @pytest.mark.parametrize("name", ["*", "%", "_", "a_c"])
    async def test_pattern_like_user_names_are_literal(self, servers: Managers, name: str) -> None:
        m1, m2 = servers
        literal, other = FakeConnection("literal", name), FakeConnection("other", "abc")
        await self.connect(m1, literal, other)
        await m2.send_user("abc", "Hello", ["abc"])
        assert invocation(await other.read()) == ("Hello", ["abc"])
        await m2.send_user(name, "Hello", ["World"])
        assert_hello_world(await literal.read())
        await self.assert_next_is_barrier(m2, other)
        await self.assert_next_is_barrier(m2, literal)

    # ------------------------ the other sends across servers (not in §2.2)

    async def test_send_all_except_across_servers(self, servers: Managers) -> None:
        m1, m2 = servers
        a, b, c = FakeConnection("a"), FakeConnection("b"), FakeConnection("c")
        await m1.on_connected(a)
        await self.connect(m2, b, c)
        await m1.send_all_except("Hello", ["World"], ["b"])
        assert_hello_world(await a.read())
        assert_hello_world(await c.read())
        await self.assert_next_is_barrier(m1, b)

    async def test_send_connections_local_and_remote(self, servers: Managers) -> None:
        m1, m2 = servers
        a, b, c = FakeConnection("a"), FakeConnection("b"), FakeConnection("c")
        await self.connect(m1, a)
        await self.connect(m2, b, c)
        await m1.send_connections(["a", "b", "nobody"], "Hello", ["World"])
        assert_hello_world(await a.read())
        assert_hello_world(await b.read())
        await self.assert_next_is_barrier(m1, c)
        await self.assert_next_is_barrier(m2, a)

    async def test_send_groups_and_group_except_across_servers(self, servers: Managers) -> None:
        m1, m2 = servers
        a, b, c = FakeConnection("a"), FakeConnection("b"), FakeConnection("c")
        await self.connect(m1, a)
        await self.connect(m2, b, c)
        await m1.add_to_group("a", "g1")
        await m2.add_to_group("b", "g2")
        await m2.add_to_group("c", "g2")
        await m1.send_groups(["g1", "g2"], "Hello", ["World"])
        for connection in (a, b, c):
            assert_hello_world(await connection.read())
        await m1.send_group_except("g2", "Hello", ["except"], ["c"])
        assert invocation(await b.read()) == ("Hello", ["except"])
        await self.assert_next_is_barrier(m1, c)

    async def test_send_users_across_servers(self, servers: Managers) -> None:
        m1, m2 = servers
        a, b, c = FakeConnection("a", "ua"), FakeConnection("b", "ub"), FakeConnection("c", "uc")
        await self.connect(m1, a)
        await self.connect(m2, b, c)
        await m1.send_users(["ua", "ub"], "Hello", ["World"])
        assert_hello_world(await a.read())
        assert_hello_world(await b.read())
        await self.assert_next_is_barrier(m1, c)


class TestPostgresHubLifetimeManager(ScaleoutHubLifetimeManagerSpec):
    """Both specs on Postgres: each manager is a server with its own bus."""

    @pytest.fixture(autouse=True)
    def _backplane(self, pg_dsn: str, prefix: str, spill_table: str) -> None:
        self.options = options(pg_dsn, prefix, spill_table)

    async def create_server(self, protocols: Sequence[HubProtocol] | None = None) -> HubLifetimeManager:
        return manager_on_new_bus(self.options, protocols=protocols)

    async def test_local_send_connection_publishes_nothing(self, servers: Managers) -> None:
        """#12 seen from the bus's counters: a send to a local connection is
        not published at all."""
        m1, _m2 = servers
        assert isinstance(m1, PostgresHubLifetimeManager)
        (c,) = await self.connected(m1, "c")
        before = m1.bus.metrics.messages_published
        await m1.send_connection("c", "Hello", ["World"])
        await m1.send_connections(["c"], "Hello", ["World"])
        await m1.add_to_group("c", "g")
        assert m1.bus.metrics.messages_published == before
        assert_hello_world(await c.read())
        assert_hello_world(await c.read())

    async def test_large_message_reaches_a_client_on_the_other_server_intact(self, servers: Managers) -> None:
        """A send far beyond NOTIFY's 8000 bytes goes through the spill table."""
        m1, m2 = servers
        assert isinstance(m1, PostgresHubLifetimeManager)
        (c,) = await self.connected(m2, "c")
        big = "é" * 300_000
        await m1.send_all("Hello", [big])
        assert invocation(await c.read()) == ("Hello", [big])
        assert m1.bus.metrics.spilled == 1

    async def test_error_from_connect_raises_and_allows_disconnect(
        self, prefix: str, spill_table: str
    ) -> None:
        """§2.3 ErrorFromConnectionFactoryLogsAndAllowsDisconnect: a DSN that
        cannot be reached makes start() raise (a connection error naming the
        address); the manager then closes cleanly, lets connections go, and
        refuses sends with BackplaneUnavailableError. A second start() tries
        again (and fails again) instead of pretending to be started."""
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        opts = options(f"postgresql://postgres@127.0.0.1:{port}/test", prefix, spill_table)
        manager = manager_on_new_bus(opts)
        started = time.monotonic()
        with pytest.raises(OSError, match=rf"127\.0\.0\.1.*{port}"):
            await manager.start()
        assert time.monotonic() - started < DEADLINE
        assert not manager.healthy
        with pytest.raises(OSError, match=rf"127\.0\.0\.1.*{port}"):
            await manager.start()
        c = FakeConnection("c")
        await manager.on_connected(c)
        await manager.on_disconnected(c)
        with pytest.raises(BackplaneUnavailableError):
            await manager.send_all("Hello", ["World"])
        await manager.close()
        assert backplane_tasks() == []

    async def test_close_leaves_no_task_behind(self) -> None:
        m1 = manager_on_new_bus(self.options)
        m2 = manager_on_new_bus(self.options)
        await m1.start()
        try:
            await m2.start()
            try:
                assert len(backplane_tasks()) == 8  # 4 per bus
                (c,) = await self.connected(m1, "c")
                await m2.add_to_group("c", "g")  # m1 spawns an ack task
                task = self.invoke(m2, "c")
                invocation_id = await self.received_invocation(c)  # m1 spawns a receipt task
                await m1.set_connection_result("c", CompletionMessage.with_result(invocation_id, 1))
                assert await asyncio.wait_for(task, DEADLINE) == 1
            finally:
                await m2.close()
        finally:
            await m1.close()
        assert not m1.healthy and not m2.healthy
        assert backplane_tasks() == []
