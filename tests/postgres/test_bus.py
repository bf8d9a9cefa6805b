"""``PostgresBus`` on a real Postgres: the spill boundary, large messages,
spill cleanup, batching, isolation, listener and pool loss, back-pressure,
gap detection, and shutdown.

Each test has its own prefix (so its own NOTIFY channel) and spill table.
A bus handler (``Recorder``) records what a bus receives; tests wait for
what they expect with a deadline, and prove that something did *not*
arrive with a barrier: a later message from the same sender, which
Postgres delivers in commit order.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from pg_backplane_support import (
    DEADLINE,
    OtherHub,
    Recorder,
    SpecHub,
    backplane_tasks,
    manager_on_new_bus,
    options,
    wait_until,
)

from pysignalr_server.hub.hub import Hub
from pysignalr_server.postgres import (
    BackplaneUnavailableError,
    PostgresBus,
    PostgresHubLifetimeManager,
)
from pysignalr_server.postgres.bus import _quote
from pysignalr_server.postgres.protocol import encode_batch, notification_origin, spill_header
from tests.unit.test_lifetime_spec import FakeConnection, assert_hello_world

HUB = "tests.Hub"
NewBus = Callable[..., Awaitable[PostgresBus]]


def with_application_name(dsn: str, name: str) -> str:
    """Tag every connection of a bus, so a test can find (and kill) exactly
    its backends among everyone else's."""
    return f"{dsn}{'&' if '?' in dsn else '?'}application_name={name}"


@pytest.fixture
async def new_bus(pg_dsn: str, prefix: str, spill_table: str) -> AsyncIterator[NewBus]:
    """Start buses sharing this test's prefix and spill table (unless told
    otherwise); all are closed at the end, leaving no task behind."""
    buses: list[PostgresBus] = []

    async def factory(**overrides: Any) -> PostgresBus:
        dsn = overrides.pop("dsn", pg_dsn)
        bus_prefix = overrides.pop("prefix", prefix)
        bus = PostgresBus(options(dsn, bus_prefix, spill_table, **overrides))
        await bus.start()
        buses.append(bus)
        return bus

    try:
        yield factory
    finally:
        for bus in buses:
            await bus.close()
    assert backplane_tasks() == []


class RawListener:
    """The notifications of a channel exactly as Postgres delivers them."""

    def __init__(self) -> None:
        self.payloads: list[str] = []
        self._changed = asyncio.Event()

    def __call__(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.payloads.append(payload)
        self._changed.set()

    async def wait_count(self, n: int) -> None:
        async def wait() -> None:
            while len(self.payloads) < n:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), DEADLINE)


def crafted(bus: PostgresBus, text_length: int) -> list[Any]:
    """A message that, published alone as the bus's next batch, is encoded
    to a notification text of exactly ``text_length`` characters."""
    seq = bus._seq + 1
    for n in range(text_length * 3 // 4 - 200, text_length * 3 // 4 + 10):
        message = [HUB, "x" * n]
        if len(encode_batch(bus.server_id, seq, [message])) == text_length:
            return message
    raise AssertionError(f"no message encodes to {text_length} characters")


# ------------------------------------------------------------------ spill


async def test_postgres_payload_limit_is_what_the_threshold_assumes(pg_admin: asyncpg.Connection) -> None:
    """NOTIFY takes 7999 bytes and refuses 8000: spill_threshold=8000."""
    channel = f"limit_{uuid.uuid4().hex}"
    await pg_admin.execute("SELECT pg_notify($1, $2)", channel, "a" * 7999)
    with pytest.raises(asyncpg.PostgresError, match="payload string too long"):
        await pg_admin.execute("SELECT pg_notify($1, $2)", channel, "a" * 8000)


async def test_exact_spill_boundary(new_bus: NewBus, pg_admin: asyncpg.Connection) -> None:
    """The notification text is a 33-character header (server id and ':')
    and base64, always a multiple of 4 characters long, so its length is 1
    more than a multiple of 4: 7997 is the longest text that can go through
    NOTIFY (Postgres takes 7999) and 8001 the shortest that must spill.
    Both reach the other bus intact; the raw notifications show which path
    each took."""
    sender, receiver = await new_bus(), await new_bus()
    received = Recorder()
    receiver.register(HUB, received)
    raw = RawListener()
    await pg_admin.add_listener(sender.channel, raw)
    try:
        below = crafted(sender, 7997)
        text = encode_batch(sender.server_id, sender._seq + 1, [below])
        await sender.publish(below)
        await received.wait_for(lambda bodies: bodies == [below])
        await raw.wait_count(1)
        assert raw.payloads == [text]  # the batch itself, through NOTIFY
        assert len(raw.payloads[0]) == 7997
        assert sender.metrics.spilled == 0

        at = crafted(sender, 8001)
        await sender.publish(at)
        await received.wait_for(lambda bodies: bodies == [below, at])
        await raw.wait_count(2)
        origin, body = notification_origin(raw.payloads[1])
        assert origin == sender.server_id and body.startswith("S") and body[1:].isdigit()
        assert sender.metrics.spilled == 1
    finally:
        await pg_admin.remove_listener(sender.channel, raw)


@pytest.mark.parametrize(("threshold", "spilled"), [(7998, 0), (7997, 1)])
async def test_spill_threshold_is_exclusive(new_bus: NewBus, threshold: int, spilled: int) -> None:
    """Texts "this long or longer" spill: a 7997-character text stays in NOTIFY
    under a threshold of 7998 and spills under 7997."""
    sender = await new_bus(spill_threshold=threshold)
    receiver = await new_bus()
    received = Recorder()
    receiver.register(HUB, received)
    message = crafted(sender, 7997)
    await sender.publish(message)
    await received.wait_for(lambda bodies: bodies == [message])
    assert sender.metrics.spilled == spilled


async def test_one_megabyte_message_through_the_spill_table(
    new_bus: NewBus, pg_admin: asyncpg.Connection, spill_table: str
) -> None:
    sender, receiver = await new_bus(), await new_bus()
    received = Recorder()
    receiver.register(HUB, received)
    blob = os.urandom(1_000_000)
    text = "ü🙂" * 100_000
    message = [HUB, blob, text, {"k": [1, None, 2.5]}]
    await sender.publish(message)
    await received.wait_for(lambda bodies: len(bodies) == 1)
    assert received.bodies == [message]
    assert received.bodies[0][1] == blob
    assert received.messages[0][0] == sender.server_id
    assert sender.metrics.spilled == 1
    assert await pg_admin.fetchval(f"SELECT count(*) FROM {_quote(spill_table)}") == 1


async def test_spilled_rows_are_deleted_after_spill_ttl(
    new_bus: NewBus, pg_admin: asyncpg.Connection, spill_table: str
) -> None:
    """Rows older than spill_ttl go, younger ones stay; a notification whose
    row is already gone is counted as a missed batch."""
    sender, receiver = await new_bus(spill_ttl=60), await new_bus(spill_ttl=60)
    received = Recorder()
    receiver.register(HUB, received)
    first, second = [HUB, "one", os.urandom(9000)], [HUB, "two", os.urandom(9000)]
    await sender.publish(first)
    await sender.publish(second)
    await received.wait_for(lambda bodies: bodies == [first, second])
    table = _quote(spill_table)
    ids = [r["id"] for r in await pg_admin.fetch(f"SELECT id FROM {table} ORDER BY id")]
    assert len(ids) == 2

    assert await sender.clean_spill_once() == 0  # both younger than 60 s
    await pg_admin.execute(
        f"UPDATE {table} SET created_at = created_at - interval '61 seconds' WHERE id = $1", ids[0]
    )
    assert await receiver.clean_spill_once() == 1
    assert [r["id"] for r in await pg_admin.fetch(f"SELECT id FROM {table}")] == [ids[1]]

    receiver._inbox.put_nowait(f"{spill_header(sender.server_id)}{ids[0]}")  # late, for the deleted row
    await sender.publish([HUB, "barrier"])
    await received.wait_for(lambda bodies: bodies[-1] == [HUB, "barrier"])
    assert received.bodies == [first, second, [HUB, "barrier"]]
    assert (receiver.metrics.gaps, receiver.metrics.missed_batches) == (1, 1)

    # A server with a tiny ttl removes the rest, once it is older than that
    # by the database's clock (checked, not slept on).
    cleaner = await new_bus(spill_ttl=0.001)
    older = f"SELECT bool_and(now() - created_at > interval '1 millisecond') FROM {table}"
    deadline = time.monotonic() + DEADLINE
    while await pg_admin.fetchval(older) is False:
        assert time.monotonic() < deadline
    await cleaner.clean_spill_once()  # (its own 1-second loop may have beaten it to it)
    assert await pg_admin.fetchval(f"SELECT count(*) FROM {table}") == 0


# --------------------------------------------------------------- batching


async def test_concurrent_publishes_are_batched_and_arrive_once_in_order(new_bus: NewBus) -> None:
    a, c, receiver = await new_bus(), await new_bus(), await new_bus()
    received = Recorder()
    receiver.register(HUB, received)
    n = 500

    async def send(bus: PostgresBus, i: int) -> None:
        await bus.publish([HUB, bus.server_id, i])

    await asyncio.gather(*(send(bus, i) for i in range(n) for bus in (a, c)))
    for bus in (a, c):
        assert bus.metrics.messages_published == n
        assert bus.metrics.batches_published <= n // 10  # far fewer notifications than messages
    # Markers sent after everything else: when both arrived, all did.
    await a.publish([HUB, "end"])
    await c.publish([HUB, "end"])
    await received.wait_for(lambda bodies: bodies.count([HUB, "end"]) == 2)
    for bus in (a, c):
        mine = [m[2] for sender, m in received.messages if sender == bus.server_id and len(m) == 3]
        assert mine == list(range(n))  # each once, in publish order
    assert len(received.messages) == 2 * n + 2
    assert receiver.metrics.gaps == 0


async def test_identical_payloads_are_not_deduplicated(new_bus: NewBus) -> None:
    """NOTIFY folds identical payloads within one transaction; the bus must
    never lose a message to that, whether the copies share a batch or not."""
    sender, receiver = await new_bus(), await new_bus()
    received = Recorder()
    receiver.register(HUB, received)
    same = [HUB, "same"]
    await sender.publish(same)
    await sender.publish(same)  # two batches
    await asyncio.gather(sender.publish(same), sender.publish(same))  # one batch
    await sender.publish([HUB, "end"])
    await received.wait_for(lambda bodies: [HUB, "end"] in bodies)
    assert received.bodies == [same] * 4 + [[HUB, "end"]]


async def test_max_pending_publishes_refuses_the_excess_at_once(new_bus: NewBus) -> None:
    sender = await new_bus(max_pending_publishes=3)
    receiver = await new_bus()
    received = Recorder()
    receiver.register(HUB, received)
    futures = [sender.publish([HUB, i]) for i in range(10)]
    # Refused synchronously, before the publisher ran at all.
    assert [f.done() for f in futures] == [False] * 3 + [True] * 7
    for refused in futures[3:]:
        with pytest.raises(BackplaneUnavailableError, match="Too many messages"):
            refused.result()
    await asyncio.gather(*futures[:3])
    await sender.publish([HUB, "end"])  # accepted again once the queue drained
    await received.wait_for(lambda bodies: [HUB, "end"] in bodies)
    assert received.bodies == [[HUB, 0], [HUB, 1], [HUB, 2], [HUB, "end"]]


# -------------------------------------------------------------- isolation


async def test_two_hubs_on_one_bus_never_see_each_others_messages(
    pg_dsn: str, prefix: str, spill_table: str
) -> None:
    opts = options(pg_dsn, prefix, spill_table)
    server1, server2 = PostgresBus(opts), PostgresBus(opts)
    managers: dict[tuple[int, type[Hub]], PostgresHubLifetimeManager] = {}
    for number, bus in ((1, server1), (2, server2)):
        for hub in (SpecHub, OtherHub):
            managers[number, hub] = PostgresHubLifetimeManager(hub, bus)
    for manager in managers.values():
        await manager.start()  # two hubs share each bus
    try:
        conns = {key: FakeConnection(f"c{key[0]}") for key in managers}  # same ids in both hubs
        for key, manager in managers.items():
            await manager.on_connected(conns[key])
            await manager.add_to_group(conns[key].connection_id, "g")
        await managers[1, SpecHub].send_all("Hello", ["World"])
        await managers[1, SpecHub].send_group("g", "Hello", ["World"])
        assert_hello_world(await conns[2, SpecHub].read())
        assert_hello_world(await conns[2, SpecHub].read())
        assert_hello_world(await conns[1, SpecHub].read())
        assert_hello_world(await conns[1, SpecHub].read())
        # Barrier on the other hub, same sending bus: nothing of SpecHub before it.
        await managers[1, OtherHub].send_all("Barrier", ["other"])
        for number in (1, 2):
            message = await conns[number, OtherHub].read()
            assert (message.target, message.arguments) == ("Barrier", ["other"])  # type: ignore[attr-defined]
            assert conns[number, OtherHub].try_read() is None
        assert server1.metrics.batches_published >= 1 and server2.metrics.gaps == 0
    finally:
        for manager in managers.values():
            await manager.close()
    assert not server1.healthy and not server2.healthy
    assert backplane_tasks() == []


async def test_two_prefixes_on_one_database_never_see_each_others_messages(new_bus: NewBus) -> None:
    p1, p2 = f"iso1_{uuid.uuid4().hex}", f"iso2_{uuid.uuid4().hex}"
    send1, recv1 = await new_bus(prefix=p1), await new_bus(prefix=p1)
    send2, recv2 = await new_bus(prefix=p2), await new_bus(prefix=p2)
    assert send1.channel != send2.channel
    got1, got2 = Recorder(), Recorder()
    recv1.register(HUB, got1)
    recv2.register(HUB, got2)  # the same hub key on both
    await send1.publish([HUB, "for 1"])
    await send2.publish([HUB, "for 2"])  # committed after "for 1"
    await send1.publish([HUB, "for 1 again"])  # committed after "for 2"
    await got2.wait_for(lambda bodies: [HUB, "for 2"] in bodies)
    await got1.wait_for(lambda bodies: [HUB, "for 1 again"] in bodies)
    assert got1.bodies == [[HUB, "for 1"], [HUB, "for 1 again"]]
    assert got2.bodies == [[HUB, "for 2"]]


# -------------------------------------------------------------- gaps


async def test_gap_detection(new_bus: NewBus) -> None:
    bus = await new_bus()
    received = Recorder()
    bus.register(HUB, received)
    other = uuid.uuid4().hex
    bus._inbox.put_nowait(encode_batch(other, 1, [[HUB, 1]]))
    bus._inbox.put_nowait(encode_batch(other, 5, [[HUB, 5]]))  # 2, 3 and 4 were missed
    bus._inbox.put_nowait(encode_batch(other, 6, [[HUB, 6]]))
    third = uuid.uuid4().hex
    bus._inbox.put_nowait(encode_batch(third, 41, [[HUB, 41]]))  # first seen: not a gap
    await received.wait_for(lambda bodies: [HUB, 41] in bodies)
    assert received.bodies == [[HUB, 1], [HUB, 5], [HUB, 6], [HUB, 41]]
    assert bus.metrics.gaps == 1
    assert bus.metrics.missed_batches == 3
    assert bus.metrics.batches_received == 4


# --------------------------------------------------- connection loss


async def test_listener_terminated_reconnects_and_messages_flow_again(
    new_bus: NewBus, pg_admin: asyncpg.Connection
) -> None:
    receiver, sender = await new_bus(), await new_bus()
    received = Recorder()
    receiver.register(HUB, received)
    assert receiver.healthy
    assert receiver._listener is not None
    old_pid = receiver._listener.get_server_pid()
    # The listener's backend: its last statement was the LISTEN (or a keepalive probe).
    last = await pg_admin.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", old_pid)
    assert last in (f'LISTEN "{receiver.channel}"', "SELECT 1")
    assert await pg_admin.fetchval("SELECT pg_terminate_backend($1)", old_pid)
    await wait_until(lambda: not receiver.healthy, what="healthy to go False")
    took = await wait_until(lambda: receiver.healthy, what="healthy to come back")
    assert took < 3.0
    assert receiver.metrics.listener_reconnects == 1
    assert receiver._listener is not None and receiver._listener.get_server_pid() != old_pid
    await sender.publish([HUB, "after"])
    await received.wait_for(lambda bodies: bodies == [[HUB, "after"]])


async def test_publish_after_pool_connections_are_killed(
    new_bus: NewBus, pg_dsn: str, pg_admin: asyncpg.Connection
) -> None:
    """Every pooled backend of the sender is terminated. Each publish either
    succeeds (asyncpg replaced the connection) or fails fast with
    BackplaneUnavailableError; never hangs; and publishing recovers."""
    app = f"pgtest_{uuid.uuid4().hex[:12]}"
    publish_timeout = 2.0
    sender = await new_bus(
        dsn=with_application_name(pg_dsn, app), pool_min_size=2, publish_timeout=publish_timeout
    )
    receiver = await new_bus()
    received = Recorder()
    receiver.register(HUB, received)
    assert sender._listener is not None
    listener_pid = sender._listener.get_server_pid()
    killed = await pg_admin.fetch(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> $2",
        app,
        listener_pid,
    )
    assert len(killed) >= 2 and all(r[0] for r in killed)
    outcomes = []
    for i in range(sender.options.pool_max_size + 2):
        started = time.monotonic()
        try:
            await asyncio.wait_for(sender.publish([HUB, i]), publish_timeout + 1.0)
            outcomes.append("ok")
        except BackplaneUnavailableError:
            outcomes.append("refused")
        assert time.monotonic() - started < publish_timeout
        if outcomes[-1] == "ok":
            break
    assert outcomes[-1] == "ok", outcomes
    await received.wait_for(lambda bodies: [HUB, len(outcomes) - 1] in bodies)
    assert sender.healthy  # the listener was left alone
    new_pids = await pg_admin.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> $2", app, listener_pid
    )
    assert new_pids and not {r["pid"] for r in new_pids} & {r[0] for r in killed}


async def test_publish_that_postgres_does_not_commit_in_time_fails_with_unavailable(
    pg_dsn: str, prefix: str, spill_table: str, pg_admin: asyncpg.Connection
) -> None:
    """Postgres too slow (the spill table is locked by another session): the
    send fails with BackplaneUnavailableError after publish_timeout instead
    of hanging, and the backplane works again once the lock is gone."""
    opts = options(pg_dsn, prefix, spill_table, publish_timeout=0.5)
    m1, m2 = manager_on_new_bus(opts), manager_on_new_bus(opts)
    await m1.start()
    await m2.start()
    try:
        c = FakeConnection("c")
        await m2.on_connected(c)
        locker = pg_admin.transaction()
        await locker.start()
        await pg_admin.execute(f"LOCK TABLE {_quote(spill_table)} IN ACCESS EXCLUSIVE MODE")
        try:
            started = time.monotonic()
            with pytest.raises(BackplaneUnavailableError):
                await m1.send_all("Big", ["x" * 20_000])  # must spill, so must wait for the lock
            assert 0.4 < time.monotonic() - started < 2.0
            with pytest.raises(BackplaneUnavailableError):
                await m1.bus.publish([HUB, "y" * 20_000])  # the bus alone: its own deadline
        finally:
            await locker.rollback()
        await m1.send_all("Hello", ["World"])
        while True:  # (whether the timed-out spill committed after all is unknown)
            message = await c.read()
            if message.target == "Hello":  # type: ignore[attr-defined]
                break
        assert_hello_world(message)
    finally:
        await m1.close()
        await m2.close()


async def test_sends_queued_behind_a_stuck_batch_expire_and_are_never_published(
    new_bus: NewBus, pg_admin: asyncpg.Connection, spill_table: str
) -> None:
    """One timer watches the whole publish queue: a batch stuck in Postgres
    and the sends queued behind it all fail after publish_timeout, and the
    queued ones are dropped, so a sender told "failed" never sees its message
    delivered later."""
    sender = await new_bus(publish_timeout=0.5, batch_max_messages=1)  # one send per batch
    receiver = await new_bus()
    received = Recorder()
    receiver.register(HUB, received)
    locker = pg_admin.transaction()
    await locker.start()
    await pg_admin.execute(f"LOCK TABLE {_quote(spill_table)} IN ACCESS EXCLUSIVE MODE")
    try:
        started = time.monotonic()
        stuck = sender.publish([HUB, "big", "y" * 20_000])  # must spill: waits for the lock
        queued = [sender.publish([HUB, "queued", i]) for i in range(3)]  # later batches
        for future in (stuck, *queued):
            with pytest.raises(BackplaneUnavailableError, match=r"within 0\.5s"):
                await asyncio.wait_for(future, 3.0)
        assert 0.4 < time.monotonic() - started < 1.5
        assert sender._pending == []  # the expired sends left the queue
    finally:
        await locker.rollback()
    await sender.publish([HUB, "barrier"])
    await received.wait_for(lambda bodies: [HUB, "barrier"] in bodies)
    assert not [b for b in received.bodies if b[1] == "queued"]


# -------------------------------------------------------------- lifecycle


async def test_close_fails_publishes_in_flight_and_leaves_no_task(new_bus: NewBus) -> None:
    bus = await new_bus()
    assert {t.get_name() for t in backplane_tasks()} == {
        "signalr-pg-consumer",
        "signalr-pg-publisher",
        "signalr-pg-listener",
        "signalr-pg-spill-cleaner",
    }
    in_flight = bus.publish([HUB, "in flight"])
    await wait_until(lambda: not bus._pending, what="the publisher to take the batch")
    queued = bus.publish([HUB, "queued"])
    await bus.close()
    for future in (in_flight, queued):
        assert future.done()
        if future.exception() is not None:  # (the in-flight one may have committed just in time)
            assert isinstance(future.exception(), BackplaneUnavailableError)
    assert isinstance(queued.exception(), BackplaneUnavailableError)
    assert not bus.healthy
    assert backplane_tasks() == []
    with pytest.raises(BackplaneUnavailableError, match="not running"):
        await bus.publish([HUB, "after close"])


async def test_shared_bus_stays_up_until_its_last_user_closes(new_bus: NewBus) -> None:
    bus = await new_bus()
    await bus.start()  # a second hub
    await bus.close()
    assert bus.healthy
    await bus.publish([HUB, "still up"])
    await bus.close()
    assert not bus.healthy
    assert backplane_tasks() == []


async def test_servers_starting_together_on_a_fresh_database(new_bus: NewBus) -> None:
    """Concurrent CREATE TABLE IF NOT EXISTS races in Postgres; starting
    several servers at once on a new spill table must still work."""
    buses = await asyncio.gather(*(new_bus() for _ in range(6)))
    assert all(bus.healthy for bus in buses)
    received = Recorder()
    buses[1].register(HUB, received)
    message = [HUB, "z" * 10_000]  # spills: the table is usable
    await buses[0].publish(message)
    await received.wait_for(lambda bodies: bodies == [message])
