"""``InMemoryHubLifetimeManager`` with fake connections.

The first five tests are the single-manager cases of ASP.NET Core's
HubLifetimeManagerTestsBase (backplane-anatomy.md §2.1 #1-#5); the rest cover
users, the multi-target sends, groups, a failing connection (ScaleoutHub
LifetimeManagerTests #14, which the in-memory manager must pass too) and
serializing a broadcast once per protocol.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import msgpack
import pytest

from pysignalr_server.lifetime import DefaultHubLifetimeManager, InMemoryHubLifetimeManager
from pysignalr_server.protocol import HubMessage, JsonHubProtocol, MessagePackHubProtocol
from pysignalr_server.protocol.base import HubProtocol
from pysignalr_server.protocol.serialized import SerializedHubMessage


class CountingJson(JsonHubProtocol):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write_message(self, message: HubMessage) -> bytes:
        self.writes += 1
        return super().write_message(message)


class CountingMessagePack(MessagePackHubProtocol):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write_message(self, message: HubMessage) -> bytes:
        self.writes += 1
        return super().write_message(message)


JSON = JsonHubProtocol()
MSGPACK = MessagePackHubProtocol()


class FakeConnection:
    """What the manager sees of a hub connection; collects decoded messages."""

    def __init__(self, connection_id: str, user: str | None = None, protocol: HubProtocol = JSON) -> None:
        self.connection_id = connection_id
        self.user_identifier = user
        self.protocol = protocol
        self.frames: list[bytes] = []

    def write_serialized(self, message: SerializedHubMessage) -> bool:
        self.frames.append(message.get(self.protocol))
        return True

    @property
    def received(self) -> list[tuple[str, list[Any]]]:
        """(target, arguments) of every invocation received, in order."""
        out = []
        for frame in self.frames:
            if self.protocol.name == "json":
                assert frame.endswith(b"\x1e")
                doc = json.loads(frame[:-1])
                assert doc["type"] == 1 and "invocationId" not in doc
                out.append((doc["target"], doc["arguments"]))
            else:
                length, body = frame[0], frame[1:]
                assert length == len(body)
                item = msgpack.unpackb(body, raw=False)
                assert item[0] == 1 and item[2] is None
                out.append((item[3], item[4]))
        return out


class FailingConnection(FakeConnection):
    def write_serialized(self, message: SerializedHubMessage) -> bool:
        raise RuntimeError("boom: the transport is broken")


HELLO = ("Hello", ["World"])


@pytest.fixture
def manager() -> InMemoryHubLifetimeManager:
    return InMemoryHubLifetimeManager()


async def connect(manager: InMemoryHubLifetimeManager, *connections: FakeConnection) -> None:
    for connection in connections:
        await manager.on_connected(connection)


# ------------------------------------------------ §2.1 #1-#5 (.NET test base)


async def test_send_all_writes_to_all_connections(manager: InMemoryHubLifetimeManager) -> None:
    c1, c2 = FakeConnection("c1"), FakeConnection("c2")
    await connect(manager, c1, c2)
    await manager.send_all("Hello", ["World"])
    assert c1.received == [HELLO]
    assert c2.received == [HELLO]


async def test_send_all_skips_disconnected_connections(manager: InMemoryHubLifetimeManager) -> None:
    c1, c2 = FakeConnection("c1"), FakeConnection("c2")
    await connect(manager, c1, c2)
    await manager.on_disconnected(c2)
    await manager.send_all("Hello", ["World"])
    assert c1.received == [HELLO]
    assert c2.frames == []


async def test_send_group_writes_to_group_members_only(manager: InMemoryHubLifetimeManager) -> None:
    c1, c2 = FakeConnection("c1"), FakeConnection("c2")
    await connect(manager, c1, c2)
    await manager.add_to_group("c1", "group")
    await manager.send_group("group", "Hello", ["World"])
    assert c1.received == [HELLO]
    assert c2.frames == []


async def test_send_group_except_skips_excluded(manager: InMemoryHubLifetimeManager) -> None:
    c1, c2 = FakeConnection("c1"), FakeConnection("c2")
    await connect(manager, c1, c2)
    await manager.add_to_group("c1", "group1")
    await manager.add_to_group("c2", "group1")
    await manager.send_group_except("group1", "Hello", ["World"], ["c2"])
    assert c1.received == [HELLO]
    assert c2.frames == []


async def test_send_connection_writes_to_that_connection(manager: InMemoryHubLifetimeManager) -> None:
    c1, c2 = FakeConnection("c1"), FakeConnection("c2")
    await connect(manager, c1, c2)
    await manager.send_connection("c1", "Hello", ["World"])
    assert c1.received == [HELLO]
    assert c2.frames == []


# ------------------------------------------------------------------- users


async def test_send_user_reaches_every_connection_of_the_user(manager: InMemoryHubLifetimeManager) -> None:
    a1, a2, b = FakeConnection("a1", "userA"), FakeConnection("a2", "userA"), FakeConnection("b", "userB")
    await connect(manager, a1, a2, b)
    await manager.send_user("userA", "Hello", ["World"])
    assert a1.received == [HELLO]
    assert a2.received == [HELLO]
    assert b.frames == []


async def test_user_still_receives_after_one_of_its_connections_disconnects(
    manager: InMemoryHubLifetimeManager,
) -> None:
    a1, a2 = FakeConnection("a1", "userA"), FakeConnection("a2", "userA")
    await connect(manager, a1, a2)
    await manager.on_disconnected(a1)
    await manager.send_user("userA", "Hello", ["World"])
    assert a1.frames == []
    assert a2.received == [HELLO]
    await manager.on_disconnected(a2)
    await manager.send_user("userA", "Hello", ["again"])
    assert a2.received == [HELLO]


async def test_send_users_deduplicates_and_skips_unknown(manager: InMemoryHubLifetimeManager) -> None:
    a, b, c = FakeConnection("a", "userA"), FakeConnection("b", "userB"), FakeConnection("c", "userC")
    anonymous = FakeConnection("anon", None)
    await connect(manager, a, b, c, anonymous)
    await manager.send_users(["userA", "userB", "userA", "nobody"], "Hello", ["World"])
    assert a.received == [HELLO]
    assert b.received == [HELLO]
    assert c.frames == [] and anonymous.frames == []


async def test_empty_user_identifier_is_not_a_user(manager: InMemoryHubLifetimeManager) -> None:
    c = FakeConnection("c", "")
    await connect(manager, c)
    await manager.send_user("", "Hello", ["World"])
    assert c.frames == []


# ------------------------------------------------------ multi-target sends


async def test_send_groups_delivers_once_per_named_group(manager: InMemoryHubLifetimeManager) -> None:
    # ASP.NET Core's managers deliver once per group name, duplicates included.
    c1, c2, c3 = FakeConnection("c1"), FakeConnection("c2"), FakeConnection("c3")
    await connect(manager, c1, c2, c3)
    for group in ("g1", "g2"):
        await manager.add_to_group("c1", group)
    await manager.add_to_group("c2", "g2")
    await manager.send_groups(["g1", "g2", "g1", "missing"], "Hello", ["World"])
    assert c1.received == [HELLO, HELLO, HELLO]  # g1, g2 and g1 again
    assert c2.received == [HELLO]
    assert c3.frames == []


async def test_send_all_except(manager: InMemoryHubLifetimeManager) -> None:
    c1, c2, c3 = FakeConnection("c1"), FakeConnection("c2"), FakeConnection("c3")
    await connect(manager, c1, c2, c3)
    await manager.send_all_except("Hello", ["World"], ["c2", "unknown"])
    assert c1.received == [HELLO]
    assert c2.frames == []
    assert c3.received == [HELLO]


async def test_send_connections_deduplicates_and_skips_unknown(manager: InMemoryHubLifetimeManager) -> None:
    c1, c2, c3 = FakeConnection("c1"), FakeConnection("c2"), FakeConnection("c3")
    await connect(manager, c1, c2, c3)
    await manager.send_connections(["c1", "c3", "c1", "gone"], "Hello", ["World"])
    assert c1.received == [HELLO]
    assert c2.frames == []
    assert c3.received == [HELLO]


async def test_send_connection_to_unknown_id_is_a_no_op(manager: InMemoryHubLifetimeManager) -> None:
    c1 = FakeConnection("c1")
    await connect(manager, c1)
    await manager.send_connection("nobody", "Hello", ["World"])
    assert c1.frames == []


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.send_connection(None, "Hello", []),
        lambda m: m.send_group(None, "Hello", []),
        lambda m: m.send_group_except(None, "Hello", [], []),
        lambda m: m.add_to_group("c1", None),
        lambda m: m.remove_from_group("c1", None),
    ],
)
async def test_null_names_are_rejected(manager: InMemoryHubLifetimeManager, call: Any) -> None:
    with pytest.raises(ValueError):
        await call(manager)


# ------------------------------------------------------------------ groups


async def test_remove_from_group(manager: InMemoryHubLifetimeManager) -> None:
    c1, c2 = FakeConnection("c1"), FakeConnection("c2")
    await connect(manager, c1, c2)
    await manager.add_to_group("c1", "g")
    await manager.add_to_group("c2", "g")
    await manager.remove_from_group("c1", "g")
    await manager.send_group("g", "Hello", ["World"])
    assert c1.frames == []
    assert c2.received == [HELLO]


async def test_remove_from_group_not_joined_does_nothing(manager: InMemoryHubLifetimeManager) -> None:
    c1 = FakeConnection("c1")
    await connect(manager, c1)
    await manager.remove_from_group("c1", "never-joined")
    await manager.remove_from_group("unknown", "never-joined")
    await manager.send_all("Hello", ["World"])
    assert c1.received == [HELLO]


async def test_adding_twice_delivers_once(manager: InMemoryHubLifetimeManager) -> None:
    c1 = FakeConnection("c1")
    await connect(manager, c1)
    await manager.add_to_group("c1", "g")
    await manager.add_to_group("c1", "g")
    await manager.send_group("g", "Hello", ["World"])
    assert c1.received == [HELLO]


async def test_group_names_are_case_sensitive(manager: InMemoryHubLifetimeManager) -> None:
    c1 = FakeConnection("c1")
    await connect(manager, c1)
    await manager.add_to_group("c1", "Group")
    await manager.send_group("group", "Hello", ["World"])
    assert c1.frames == []


async def test_adding_an_unknown_connection_does_nothing(manager: InMemoryHubLifetimeManager) -> None:
    await manager.add_to_group("ghost", "g")
    c1 = FakeConnection("c1")
    await connect(manager, c1)
    await manager.add_to_group("c1", "g")
    await manager.send_group("g", "Hello", ["World"])
    assert c1.received == [HELLO]


async def test_disconnect_removes_connection_from_its_groups(manager: InMemoryHubLifetimeManager) -> None:
    c1, c2 = FakeConnection("c1"), FakeConnection("c2")
    await connect(manager, c1, c2)
    for group in ("g1", "g2"):
        await manager.add_to_group("c1", group)
    await manager.add_to_group("c2", "g2")
    await manager.on_disconnected(c1)
    await manager.send_groups(["g1", "g2"], "Hello", ["World"])
    assert c1.frames == []
    assert c2.received == [HELLO]
    # Reconnecting with the same id does not bring the old memberships back.
    await manager.on_connected(c1)
    await manager.send_group("g1", "Hello", ["again"])
    assert c1.frames == []


async def test_disconnecting_twice_is_harmless(manager: InMemoryHubLifetimeManager) -> None:
    c1, c2 = FakeConnection("c1", "u"), FakeConnection("c2", "u")
    await connect(manager, c1, c2)
    await manager.on_disconnected(c1)
    await manager.on_disconnected(c1)
    await manager.send_user("u", "Hello", ["World"])
    assert c2.received == [HELLO]


# ----------------------------------------------------- a failing connection


async def test_failing_connection_does_not_stop_delivery_to_others(
    manager: InMemoryHubLifetimeManager, caplog: pytest.LogCaptureFixture
) -> None:
    """ScaleoutHubLifetimeManagerTests #14 on one manager: the bad connection
    is written to first, the good one still gets both messages, and the send
    itself does not fail."""
    bad, good = FailingConnection("bad"), FakeConnection("good")
    await connect(manager, bad, good)
    for c in (bad, good):
        await manager.add_to_group(c.connection_id, "group")
    with caplog.at_level(logging.ERROR):
        await manager.send_group("group", "Hello", ["World"])
        await manager.send_group("group", "Hello", ["World"])
        await manager.send_all("Hello", ["all"])
        await manager.send_connections(["bad", "good"], "Hello", ["some"])
        await manager.send_connection("bad", "Hello", ["one"])  # must not raise either
    assert good.received == [HELLO, HELLO, ("Hello", ["all"]), ("Hello", ["some"])]
    failures = [r for r in caplog.records if "bad" in r.getMessage()]
    assert len(failures) == 5
    assert all(r.exc_info is not None and "boom" in str(r.exc_info[1]) for r in failures)


# ------------------------------------------------- serialize once per protocol


async def test_broadcast_serializes_once_per_protocol(manager: InMemoryHubLifetimeManager) -> None:
    json_protocol, msgpack_protocol = CountingJson(), CountingMessagePack()
    connections = [
        FakeConnection("j1", protocol=json_protocol),
        FakeConnection("j2", protocol=json_protocol),
        FakeConnection("m1", protocol=msgpack_protocol),
        FakeConnection("m2", protocol=msgpack_protocol),
    ]
    await connect(manager, *connections)
    await manager.send_all("Hello", ["World"])
    assert (json_protocol.writes, msgpack_protocol.writes) == (1, 1)
    assert all(c.received == [HELLO] for c in connections)
    # The same bytes object is queued on every connection of a protocol.
    assert connections[0].frames[0] is connections[1].frames[0]
    assert connections[2].frames[0] is connections[3].frames[0]
    assert connections[2].frames[0] == b"\x12\x96\x01\x80\xc0\xa5Hello\x91\xa5World\x90"
    assert connections[0].frames[0] == b'{"type":1,"target":"Hello","arguments":["World"]}\x1e'


async def test_protocols_no_longer_in_use_are_not_serialized(manager: InMemoryHubLifetimeManager) -> None:
    json_protocol, msgpack_protocol = CountingJson(), CountingMessagePack()
    j, m = FakeConnection("j", protocol=json_protocol), FakeConnection("m", protocol=msgpack_protocol)
    await connect(manager, j, m)
    await manager.on_disconnected(m)
    await manager.send_all("Hello", ["World"])
    assert (json_protocol.writes, msgpack_protocol.writes) == (1, 0)


async def test_nothing_is_serialized_without_targets(manager: InMemoryHubLifetimeManager) -> None:
    json_protocol = CountingJson()
    await connect(manager, FakeConnection("j", protocol=json_protocol))
    await manager.send_group("empty", "Hello", ["World"])
    await manager.send_user("nobody", "Hello", ["World"])
    await manager.send_connection("nobody", "Hello", ["World"])
    assert json_protocol.writes == 0


async def test_unserializable_arguments_fail_the_send_before_any_delivery(
    manager: InMemoryHubLifetimeManager,
) -> None:
    c1, c2 = FakeConnection("c1"), FakeConnection("c2", protocol=MSGPACK)
    await connect(manager, c1, c2)
    with pytest.raises(TypeError):
        await manager.send_all("Hello", [object()])
    assert c1.frames == [] and c2.frames == []


def test_default_manager_is_the_in_memory_one() -> None:
    assert DefaultHubLifetimeManager is InMemoryHubLifetimeManager
