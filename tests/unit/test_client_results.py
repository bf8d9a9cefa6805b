"""``ClientResultsManager`` (pending client results) and ``new_invocation_id``."""

from __future__ import annotations

import asyncio
import base64
import re

import pytest

from pysignalr_server.errors import ConnectionDisconnectedError, HubException, InvalidOperationError
from pysignalr_server.lifetime.client_results import ClientResultsManager, new_invocation_id
from pysignalr_server.protocol import NO_TYPE, CompletionMessage

BASE64_22 = re.compile(r"^[A-Za-z0-9+/]{22}$")


@pytest.fixture
def results() -> ClientResultsManager:
    return ClientResultsManager()


# ------------------------------------------------------------------- add


async def test_add_registers_a_pending_invocation(results: ClientResultsManager) -> None:
    future = results.add("c1", "inv", int)
    assert not future.done()
    assert len(results) == 1
    assert results.try_get_return_type("inv") is int
    assert results.try_get_return_type("other") is NO_TYPE


async def test_return_type_is_kept_as_given(results: ClientResultsManager) -> None:
    results.add("c1", "a", list[int])
    results.add("c1", "b", NO_TYPE)
    assert results.try_get_return_type("a") == list[int]
    assert results.try_get_return_type("b") is NO_TYPE


# ------------------------------------------------------------ set_result


async def test_result_from_the_right_connection_resolves(results: ClientResultsManager) -> None:
    future = results.add("c1", "inv", int)
    results.set_result("c1", CompletionMessage.with_result("inv", 10))
    assert future.result() == 10
    assert len(results) == 0
    assert results.try_get_return_type("inv") is NO_TYPE


@pytest.mark.parametrize(
    "completion",
    [CompletionMessage.with_result("inv", None), CompletionMessage.empty("inv")],
    ids=["null-result", "void"],
)
async def test_null_and_void_results_resolve_to_none(
    results: ClientResultsManager, completion: CompletionMessage
) -> None:
    future = results.add("c1", "inv", int)
    results.set_result("c1", completion)
    assert future.result() is None


async def test_error_resolves_with_hub_exception(results: ClientResultsManager) -> None:
    future = results.add("c1", "inv", int)
    results.set_result("c1", CompletionMessage.with_error("inv", "Error from client"))
    exc = future.exception()
    assert type(exc) is HubException
    assert str(exc) == "Error from client"
    assert len(results) == 0


async def test_wrong_connection_is_refused_and_the_invocation_stays_pending(
    results: ClientResultsManager,
) -> None:
    future = results.add("c1", "inv", int)
    with pytest.raises(InvalidOperationError) as excinfo:
        results.set_result("c2", CompletionMessage.with_result("inv", 99))
    assert str(excinfo.value) == "Connection ID 'c2' is not valid for invocation ID 'inv'."
    assert not future.done()
    assert results.try_get_return_type("inv") is int
    results.set_result("c1", CompletionMessage.with_result("inv", 10))
    assert future.result() == 10


async def test_unknown_invocation_id_is_ignored(results: ClientResultsManager) -> None:
    future = results.add("c1", "inv", int)
    results.set_result("c1", CompletionMessage.with_result("unknown", 1))
    # Not even a wrong-connection error:
    results.set_result("c2", CompletionMessage.with_error("unknown", "x"))
    assert not future.done()
    assert len(results) == 1


async def test_second_completion_is_ignored(results: ClientResultsManager) -> None:
    future = results.add("c1", "inv", int)
    results.set_result("c1", CompletionMessage.with_result("inv", 1))
    results.set_result("c1", CompletionMessage.with_result("inv", 2))
    results.set_result("c2", CompletionMessage.with_result("inv", 3))  # gone: no wrong-connection error
    assert future.result() == 1


async def test_completion_for_a_cancelled_waiter_is_harmless(results: ClientResultsManager) -> None:
    future = results.add("c1", "inv", int)
    future.cancel()
    results.set_result("c1", CompletionMessage.with_result("inv", 1))
    assert future.cancelled()
    assert len(results) == 0


async def test_pending_invocations_are_independent(results: ClientResultsManager) -> None:
    f1 = results.add("c1", "a", int)
    f2 = results.add("c2", "b", str)
    f3 = results.add("c1", "c", int)
    results.set_result("c2", CompletionMessage.with_error("b", "boom"))
    assert isinstance(f2.exception(), HubException)
    assert not f1.done() and not f3.done()
    results.set_result("c1", CompletionMessage.with_result("c", 3))
    results.set_result("c1", CompletionMessage.with_result("a", 1))
    assert (f1.result(), f3.result()) == (1, 3)


# ---------------------------------------------------------------- remove


async def test_remove_forgets_without_resolving(results: ClientResultsManager) -> None:
    future = results.add("c1", "inv", int)
    results.remove("inv")
    results.remove("inv")  # twice is fine
    results.remove("never-added")
    assert results.try_get_return_type("inv") is NO_TYPE
    assert len(results) == 0
    results.set_result("c1", CompletionMessage.with_result("inv", 1))  # late: ignored
    assert not future.done()  # the caller owns its future (it timed out or was cancelled)


# ------------------------------------------------------- fail_connection


async def test_fail_connection_fails_only_that_connection(results: ClientResultsManager) -> None:
    a = results.add("c1", "a", int)
    b = results.add("c2", "b", int)
    c = results.add("c1", "c", int)
    error = ConnectionDisconnectedError("Connection 'c1' disconnected.")
    results.fail_connection("c1", error)
    assert a.exception() is error and c.exception() is error
    assert not b.done()
    assert len(results) == 1
    assert results.try_get_return_type("a") is NO_TYPE
    assert results.try_get_return_type("b") is int
    # Late answers for the failed ones are ignored.
    results.set_result("c1", CompletionMessage.with_result("a", 1))


async def test_fail_connection_skips_done_futures_and_unknown_connections(
    results: ClientResultsManager,
) -> None:
    cancelled = results.add("c1", "a", int)
    cancelled.cancel()
    results.fail_connection("nobody", RuntimeError("unused"))
    results.fail_connection("c1", RuntimeError("gone"))
    assert cancelled.cancelled()
    assert len(results) == 0


async def test_awaiting_the_future_gives_the_result(results: ClientResultsManager) -> None:
    future = results.add("c1", "inv", int)
    asyncio.get_running_loop().call_soon(results.set_result, "c1", CompletionMessage.with_result("inv", 42))
    assert await asyncio.wait_for(future, 2.0) == 42


# ------------------------------------------------------ new_invocation_id


def test_invocation_id_is_a_22_char_base64_guid() -> None:
    iid = new_invocation_id()
    assert len(iid) == 22
    assert BASE64_22.match(iid), iid
    assert len(base64.b64decode(iid + "==")) == 16


def test_invocation_ids_are_unique() -> None:
    ids = [new_invocation_id() for _ in range(10_000)]
    assert len(set(ids)) == 10_000
    assert all(len(i) == 22 and BASE64_22.match(i) for i in ids)
