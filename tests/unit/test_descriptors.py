"""The hub method table: which methods clients can call, under which names,
with which parameter types."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest

from pysignalr_server import Hub, HubException, hub_method
from pysignalr_server.hub.descriptors import build_method_table
from pysignalr_server.hub.dispatcher import HubDispatcher
from pysignalr_server.protocol.conversion import normalize_name


class ChatHub(Hub):
    async def send_message(self, user: str, text: str) -> None:
        pass

    def sync_method(self, count: int) -> int:
        return count

    async def untyped(self, a, b):  # type: ignore[no-untyped-def]
        return a

    async def typed(
        self, i: int, items: list[str], mapping: dict[str, float], when: dt.datetime, maybe: int | None = None
    ) -> list[int]:
        return []

    async def counter(self, n: int) -> AsyncGenerator[int, None]:
        for i in range(n):
            yield i

    def annotated_stream(self, n: int) -> AsyncIterator[str]:
        raise NotImplementedError

    async def upload(self, name: str, items: AsyncIterator[int], tail: bool) -> None:
        pass

    async def with_keyword(self, a: int, *, flag: bool = False) -> None:
        pass

    @hub_method("CustomName")
    async def renamed(self) -> str:
        return "custom"

    async def on_connected(self) -> None:
        pass

    async def on_disconnected(self, exception: Exception | None) -> None:
        pass

    async def _private(self) -> None:
        pass

    @staticmethod
    def static_helper() -> None:
        pass

    @classmethod
    def class_helper(cls) -> None:
        pass

    @property
    def some_property(self) -> int:
        return 1

    not_a_method = 42


TABLE = build_method_table(ChatHub)


def lookup(name: str) -> Any:
    return TABLE.get(normalize_name(name))


@pytest.mark.parametrize(
    "name", ["SendMessage", "sendMessage", "send_message", "SENDMESSAGE", "Send_Message", "_send_message_"]
)
def test_lookup_ignores_case_and_underscores(name: str) -> None:
    descriptor = lookup(name)
    assert descriptor is not None
    assert descriptor.func is ChatHub.send_message
    assert descriptor.name == "send_message"


def test_exactly_the_public_methods_are_callable() -> None:
    assert {d.func.__name__ for d in TABLE.values()} == {
        "send_message",
        "sync_method",
        "untyped",
        "typed",
        "counter",
        "annotated_stream",
        "upload",
        "with_keyword",
        "renamed",
    }


@pytest.mark.parametrize(
    "name",
    [
        "on_connected",
        "OnConnected",
        "on_disconnected",
        "OnDisconnectedAsync",
        "_private",
        "private",
        "static_helper",
        "class_helper",
        "some_property",
        "not_a_method",
        "context",
        "clients",
        "groups",
        "renamed",
    ],
)
def test_not_callable(name: str) -> None:
    assert lookup(name) is None


def test_base_hub_methods_are_not_callable() -> None:
    assert build_method_table(Hub) == {}

    class Empty(Hub):
        pass

    assert build_method_table(Empty) == {}


def test_hub_method_renames() -> None:
    descriptor = lookup("CustomName")
    assert descriptor is lookup("customname") is lookup("custom_name")
    assert descriptor.name == "CustomName"
    assert descriptor.func is ChatHub.renamed
    assert lookup("renamed") is None


def test_hub_method_needs_a_name() -> None:
    with pytest.raises(ValueError):
        hub_method("")


def test_parameter_types_come_from_annotations() -> None:
    assert lookup("SendMessage").parameter_types == [str, str]
    assert lookup("SyncMethod").parameter_types == [int]
    assert lookup("SyncMethod").return_type is int
    typed = lookup("Typed")
    assert typed.parameter_types == [int, list[str], dict[str, float], dt.datetime, int | None]
    assert typed.return_type == list[int]
    assert lookup("Untyped").parameter_types == [Any, Any]
    assert lookup("Untyped").return_type is Any
    # Keyword-only parameters with defaults are not bound from arguments.
    assert lookup("WithKeyword").parameter_types == [int]


def test_streaming_methods_are_marked() -> None:
    assert lookup("Counter").is_streaming
    assert lookup("Counter").parameter_types == [int]
    assert lookup("AnnotatedStream").is_streaming
    assert not lookup("SendMessage").is_streaming
    assert not lookup("Upload").is_streaming


def test_upload_stream_parameters_are_separate() -> None:
    upload = lookup("Upload")
    assert upload.parameter_types == [str, bool]
    assert upload.stream_parameters == [(1, int)]


def test_dispatcher_uses_the_same_lookup() -> None:
    dispatcher = HubDispatcher(ChatHub, TABLE, detailed_errors=False)
    assert dispatcher.get_parameter_types("sendMessage") == [str, str]
    assert dispatcher.get_parameter_types("customName") == []
    with pytest.raises(HubException, match=r"^Method does not exist\.$"):
        dispatcher.get_parameter_types("OnConnected")
    with pytest.raises(HubException, match=r"^Method does not exist\.$"):
        dispatcher.get_parameter_types("renamed")


def test_subclass_overrides_and_inherits() -> None:
    class Base(Hub):
        async def shared(self, a: int) -> None:
            pass

        async def overridden(self, a: int) -> None:
            pass

    class Derived(Base):
        async def overridden(self, a: str, b: str) -> None:  # type: ignore[override]
            pass

    table = build_method_table(Derived)
    assert set(table) == {"shared", "overridden"}
    assert table["overridden"].func is Derived.overridden
    assert table["overridden"].parameter_types == [str, str]
    assert table["shared"].func is Base.shared


def test_name_collisions_raise() -> None:
    class Colliding(Hub):
        async def send_message(self) -> None:
            pass

        async def sendMessage(self) -> None:
            pass

    with pytest.raises(TypeError) as info:
        build_method_table(Colliding)
    message = str(info.value)
    assert "send_message" in message and "sendMessage" in message and "Colliding" in message
    assert "{" not in message  # the client name is filled in


def test_hub_method_name_collides_with_a_python_name() -> None:
    class Colliding(Hub):
        async def ping(self) -> None:
            pass

        @hub_method("Ping")
        async def other(self) -> None:
            pass

    with pytest.raises(TypeError, match="'Ping'"):
        build_method_table(Colliding)


def test_variadic_parameters_are_refused() -> None:
    class Star(Hub):
        async def many(self, *args: int) -> None:
            pass

    with pytest.raises(TypeError, match=r"\*args"):
        build_method_table(Star)

    class Kw(Hub):
        async def required_keyword(self, *, flag: bool) -> None:
            pass

    with pytest.raises(TypeError, match="keyword-only"):
        build_method_table(Kw)


def test_unresolvable_annotations_are_refused() -> None:
    class Broken(Hub):
        async def method(self, a: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
            pass

    with pytest.raises(TypeError, match="Cannot resolve"):
        build_method_table(Broken)


def test_only_hub_subclasses() -> None:
    with pytest.raises(TypeError):
        build_method_table(object)  # type: ignore[arg-type]
