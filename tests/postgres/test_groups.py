"""Group commands across servers on the Postgres backplane: the holding
server applies a command, then acks; a command for a connection that exists
nowhere fails after ``ack_timeout`` (the Redis backplane hangs ~30 s, then
cancels); repeated adds and removes of non-members are harmless."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from pg_backplane_support import DEADLINE, manager_on_new_bus, options

from pysignalr_server.postgres import PostgresHubLifetimeManager
from tests.unit.test_lifetime_spec import FakeConnection, assert_hello_world

ACK_TIMEOUT = 0.3

Servers = tuple[PostgresHubLifetimeManager, PostgresHubLifetimeManager]


@pytest.fixture
async def servers(pg_dsn: str, prefix: str, spill_table: str) -> AsyncIterator[Servers]:
    opts = options(pg_dsn, prefix, spill_table, ack_timeout=ACK_TIMEOUT)
    m1, m2 = manager_on_new_bus(opts), manager_on_new_bus(opts)
    await m1.start()
    try:
        await m2.start()
        try:
            yield m1, m2
        finally:
            await m2.close()
    finally:
        await m1.close()


async def barrier(via: PostgresHubLifetimeManager, connection: FakeConnection, tag: str) -> None:
    """``via`` sends a marker; it must be the next thing ``connection`` reads."""
    await via.send_connection(connection.connection_id, "Barrier", [tag])
    message = await connection.read_invocation()
    assert (message.target, list(message.arguments)) == ("Barrier", [tag])


@pytest.mark.parametrize("action", ["add_to_group", "remove_from_group"])
async def test_command_for_a_connection_that_exists_nowhere_times_out(servers: Servers, action: str) -> None:
    m1, m2 = servers
    await m1.on_connected(FakeConnection("somebody-else"))
    started = time.monotonic()
    with pytest.raises(
        TimeoutError, match=r"No server acknowledged the group command for connection 'ghost'"
    ):
        await asyncio.wait_for(getattr(m2, action)("ghost", "g"), DEADLINE)
    elapsed = time.monotonic() - started
    assert ACK_TIMEOUT <= elapsed < ACK_TIMEOUT + 1.0
    assert m2._acks == {}  # nothing left waiting


async def test_adding_twice_remotely_delivers_once(servers: Servers) -> None:
    m1, m2 = servers
    c = FakeConnection("c")
    await m1.on_connected(c)
    await m2.add_to_group("c", "g")
    await m2.add_to_group("c", "g")
    await m2.send_group("g", "Hello", ["World"])
    assert_hello_world(await c.read())
    await barrier(m2, c, "after group send")


async def test_removing_a_non_member_is_harmless_locally_and_remotely(servers: Servers) -> None:
    m1, m2 = servers
    c, member = FakeConnection("c"), FakeConnection("member")
    await m1.on_connected(c)
    await m1.on_connected(member)
    await m1.add_to_group("member", "g")
    await m1.remove_from_group("c", "g")  # local, not a member
    await m2.remove_from_group("c", "g")  # remote, not a member: still acked
    await m2.remove_from_group("c", "never-existed")
    await m2.send_group("g", "Hello", ["World"])
    assert_hello_world(await member.read())  # the real member is untouched
    await barrier(m2, c, "after group send")


async def test_remote_add_returns_only_after_the_holding_server_applied_it(servers: Servers) -> None:
    """After groups.add on m2 returns, the membership is already in place on
    m1: a send right after reaches the connection, whether it goes through
    the backplane (m2) or is m1's local fast path."""
    m1, m2 = servers
    c = FakeConnection("c")
    await m1.on_connected(c)
    for i in range(20):
        group = f"g{i}"
        await m2.add_to_group("c", group)
        await m1.send_group(group, "Local", [i])  # no bus involved: m1's own state
        await m2.send_group(group, "Remote", [i])
        local, remote = await c.read_invocation(), await c.read_invocation()
        assert (local.target, list(local.arguments)) == ("Local", [i])
        assert (remote.target, list(remote.arguments)) == ("Remote", [i])


async def test_remote_remove_returns_only_after_the_holding_server_applied_it(servers: Servers) -> None:
    m1, m2 = servers
    c = FakeConnection("c")
    await m1.on_connected(c)
    for i in range(10):
        group = f"g{i}"
        await m1.add_to_group("c", group)
        await m2.remove_from_group("c", group)
        await m1.send_group(group, "Local", [i])  # would be delivered at once if still a member
        assert c.try_read() is None
        await barrier(m2, c, group)


async def test_commands_for_many_connections_concurrently(servers: Servers) -> None:
    """Acks are matched to their commands: 50 concurrent remote adds all
    complete, and each connection is in its own group only."""
    m1, m2 = servers
    conns = [FakeConnection(f"c{i}") for i in range(50)]
    for conn in conns:
        await m1.on_connected(conn)
    await asyncio.wait_for(
        asyncio.gather(*(m2.add_to_group(conn.connection_id, f"g{i}") for i, conn in enumerate(conns))),
        DEADLINE,
    )
    await m2.send_groups([f"g{i}" for i in range(50)], "Hello", ["World"])
    for conn in conns:
        assert_hello_world(await conn.read())
        await barrier(m2, conn, conn.connection_id)
