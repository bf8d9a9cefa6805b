"""Streaming in both directions (wire-protocol.md MESSAGES/ERRORS,
protocol-vectors.md §5), with raw JSON and MessagePack messages.

Server-to-client: exact StreamItem and void Completion bytes, cancellation
(CancelInvocation ends the stream with a void Completion and runs the
method's cleanup), duplicate invocation ids, the wrong invocation kind, and
the error texts with and without detailed errors.

Client-to-server (uploads): an Invocation or StreamInvocation names its
``streamIds``; the client then sends StreamItems and a Completion under
each stream id. Items are delivered in order, an error Completion surfaces
in the method as ``HubException``, and the stream count must match the
method.

"No reply" is proved by invoking ``Echo`` afterwards: nothing but its
Completion may arrive first. Every receive has a deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from .client import RS, Client, HubSocket, Message, json_frame, mp_frame, mp_pack

STREAM_ERROR = "An error occurred on the server while streaming results."


# ------------------------------------------------------------------ helpers


def stream_invocation(
    sock: HubSocket,
    invocation_id: str,
    target: str,
    arguments: list[Any],
    stream_ids: list[str] | None = None,
) -> bytes:
    """A StreamInvocation (type 4) in the negotiated protocol."""
    if sock.protocol == "messagepack":
        return mp_frame(mp_pack([4, {}, invocation_id, target, arguments, stream_ids or []]))
    doc: dict[str, Any] = {"type": 4, "invocationId": invocation_id, "target": target, "arguments": arguments}
    if stream_ids is not None:
        doc["streamIds"] = stream_ids
    return json_frame(doc)


def invocation(
    sock: HubSocket,
    invocation_id: str | None,
    target: str,
    arguments: list[Any],
    stream_ids: list[str] | None = None,
) -> bytes:
    """An Invocation (type 1), with ``streamIds`` when given."""
    if sock.protocol == "messagepack":
        return mp_frame(mp_pack([1, {}, invocation_id, target, arguments, stream_ids or []]))
    doc: dict[str, Any] = {"type": 1}
    if invocation_id is not None:
        doc["invocationId"] = invocation_id
    doc["target"] = target
    doc["arguments"] = arguments
    if stream_ids is not None:
        doc["streamIds"] = stream_ids
    return json_frame(doc)


def stream_item(sock: HubSocket, stream_id: str, item: Any) -> bytes:
    if sock.protocol == "messagepack":
        return mp_frame(mp_pack([2, {}, stream_id, item]))
    return json_frame({"type": 2, "invocationId": stream_id, "item": item})


def stream_complete(sock: HubSocket, stream_id: str, error: str | None = None) -> bytes:
    if sock.protocol == "messagepack":
        return mp_frame(mp_pack([3, {}, stream_id, 2] if error is None else [3, {}, stream_id, 1, error]))
    doc: dict[str, Any] = {"type": 3, "invocationId": stream_id}
    if error is not None:
        doc["error"] = error
    return json_frame(doc)


def cancel(sock: HubSocket, invocation_id: str) -> bytes:
    if sock.protocol == "messagepack":
        return mp_frame(mp_pack([5, {}, invocation_id]))
    return json_frame({"type": 5, "invocationId": invocation_id})


def item_of(msg: Message) -> Any:
    v = msg.value
    return v["item"] if isinstance(v, dict) else v[3]


def is_void_completion(msg: Message) -> bool:
    v = msg.value
    if isinstance(v, dict):
        return v.get("type") == 3 and "error" not in v and "result" not in v
    return msg.type == 3 and v[3] == 2


def target_of(msg: Message) -> str:
    v = msg.value
    return str(v["target"] if isinstance(v, dict) else v[3])


def arguments_of(msg: Message) -> list[Any]:
    v = msg.value
    return list(v["arguments"] if isinstance(v, dict) else v[4])


async def read_stream(sock: HubSocket, invocation_id: str, within: float = 5.0) -> tuple[list[Any], Message]:
    """The items of stream ``invocation_id`` up to its Completion (returned);
    any other message fails."""
    items: list[Any] = []
    while True:
        msg = await sock.recv(within)
        assert msg.invocation_id == invocation_id, f"unexpected message {msg.raw!r}"
        if msg.type == 3:
            return items, msg
        assert msg.type == 2, f"unexpected message {msg.raw!r}"
        items.append(item_of(msg))


async def before_probe(sock: HubSocket, probe_id: str = "probe") -> list[Message]:
    """Invoke Echo; return the messages that arrive before its Completion."""
    await sock.send(invocation(sock, probe_id, "Echo", ["probe"]))
    before: list[Message] = []
    while True:
        msg = await sock.recv()
        if msg.type == 3 and msg.invocation_id == probe_id:
            assert msg.result == "probe"
            return before
        before.append(msg)


PROTOCOLS = ["json", "messagepack"]


# ---------------------------------------------------- server-to-client


async def test_json_counter_exact_bytes(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(b'{"type":4,"invocationId":"1","target":"Counter","arguments":[3,0]}' + RS)
    received = [(await sock.recv()).raw for _ in range(4)]
    assert received == [
        b'{"type":2,"invocationId":"1","item":0}' + RS,
        b'{"type":2,"invocationId":"1","item":1}' + RS,
        b'{"type":2,"invocationId":"1","item":2}' + RS,
        b'{"type":3,"invocationId":"1"}' + RS,
    ]
    assert await before_probe(sock) == []


async def test_mp_counter_exact_bytes(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send(mp_frame(bytes.fromhex("96 04 80 a1 31 a7") + b"Counter" + bytes.fromhex("92 03 00 90")))
    received = [await sock.recv() for _ in range(4)]
    assert [m.raw for m in received] == [
        mp_frame(bytes.fromhex("94 02 80 a1 31 00")),
        mp_frame(bytes.fromhex("94 02 80 a1 31 01")),
        mp_frame(bytes.fromhex("94 02 80 a1 31 02")),
        mp_frame(bytes.fromhex("94 03 80 a1 31 02")),
    ]
    assert all(m.frame == "binary" for m in received)
    assert await before_probe(sock) == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_empty_stream_sends_only_the_void_completion(client: Client, protocol: str) -> None:
    sock = await client.connect("test", protocol)
    await sock.send(stream_invocation(sock, "1", "EmptyStream", []))
    items, completion = await read_stream(sock, "1")
    assert items == []
    assert is_void_completion(completion)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_method_returning_an_async_iterator_streams(client: Client, protocol: str) -> None:
    sock = await client.connect("test", protocol)
    await sock.send(stream_invocation(sock, "s", "IteratorMethod", [3]))
    items, completion = await read_stream(sock, "s")
    assert items == [0, 10, 20]
    assert is_void_completion(completion)


async def test_two_streams_run_side_by_side(client: Client) -> None:
    sock = await client.connect("test", "json")
    batch = stream_invocation(sock, "a", "Counter", [3, 0]) + stream_invocation(sock, "b", "Counter", [2, 0])
    await sock.send(batch)  # one frame
    items: dict[str, list[Any]] = {"a": [], "b": []}
    done: set[str] = set()
    while done != {"a", "b"}:
        msg = await sock.recv()
        iid = msg.invocation_id
        assert iid in items, msg.raw
        if msg.type == 3:
            assert is_void_completion(msg)
            done.add(iid)
        else:
            assert iid not in done
            items[iid].append(item_of(msg))
    assert items == {"a": [0, 1, 2], "b": [0, 1]}


# --------------------------------------------------------- cancellation


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_cancel_stops_the_stream_and_runs_its_cleanup(client: Client, protocol: str) -> None:
    sock = await client.connect("test", protocol)
    await sock.send(stream_invocation(sock, "1", "Infinite", [0.01]))
    first = await sock.recv()
    assert first.type == 2 and first.invocation_id == "1" and item_of(first) == 0
    await sock.send(cancel(sock, "1"))
    # Items already on their way may still arrive; then the void Completion
    # and the method's finally block (Clients.Caller "StreamCanceled"), in
    # either order, both exactly once.
    completion: Message | None = None
    canceled: Message | None = None
    items = 1
    while completion is None or canceled is None:
        msg = await sock.recv()
        if msg.type == 2 and msg.invocation_id == "1":
            assert completion is None, "a StreamItem after the Completion"
            assert item_of(msg) == items
            items += 1
        elif msg.type == 3:
            assert completion is None and msg.invocation_id == "1", msg.raw
            completion = msg
        elif msg.type == 1:
            assert canceled is None, msg.raw
            canceled = msg
        else:
            raise AssertionError(f"unexpected message {msg.raw!r}")
    if protocol == "json":
        assert completion.raw == b'{"type":3,"invocationId":"1"}' + RS
    else:
        assert completion.raw == mp_frame(bytes.fromhex("94 03 80 a1 31 02"))
    assert target_of(canceled) == "StreamCanceled"
    (count,) = arguments_of(canceled)
    assert isinstance(count, int) and 0 < count <= items
    # Nothing more from the stream: the Echo reply is the next message.
    assert await before_probe(sock) == []


async def test_cancel_signals_the_cancellation_token(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(stream_invocation(sock, "w", "WatchToken", []))
    started = await sock.recv()
    assert started.raw == b'{"type":2,"invocationId":"w","item":"started"}' + RS
    await sock.send(cancel(sock, "w"))
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"w"}' + RS
    assert await before_probe(sock) == []  # "never delivered" is never delivered


@pytest.mark.parametrize("invocation_id", ["unknown", "done"])
async def test_cancel_of_unknown_or_finished_stream_is_ignored(client: Client, invocation_id: str) -> None:
    sock = await client.connect("test", "json")
    await sock.send(stream_invocation(sock, "done", "Counter", [1, 0]))
    assert (await read_stream(sock, "done"))[0] == [0]
    await sock.send(cancel(sock, invocation_id))
    assert await before_probe(sock) == []


async def test_cancel_of_a_non_streaming_invocation_still_completes_it(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(invocation(sock, "1", "Wait", [0.2]) + cancel(sock, "1"))
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"1","result":0.2}' + RS


# ------------------------------------------------------ invocation errors


async def test_duplicate_stream_invocation_id_is_refused(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(stream_invocation(sock, "1", "WatchToken", []))
    assert (await sock.recv()).raw == b'{"type":2,"invocationId":"1","item":"started"}' + RS
    await sock.send(stream_invocation(sock, "1", "Counter", [3, 0]))
    assert (await sock.recv()).raw == (
        b'{"type":3,"invocationId":"1","error":"Invocation ID \'1\' is already in use."}' + RS
    )
    # The first stream is untouched: it still runs and can be cancelled ...
    await sock.send(cancel(sock, "1"))
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"1"}' + RS
    # ... and afterwards the id is free again.
    await sock.send(stream_invocation(sock, "1", "Counter", [2, 0]))
    items, completion = await read_stream(sock, "1")
    assert items == [0, 1] and is_void_completion(completion)


async def test_streaming_method_with_an_invocation_is_refused(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(b'{"type":1,"invocationId":"1","target":"Counter","arguments":[3,0]}' + RS)
    assert (await sock.recv()).raw == (
        b'{"type":3,"invocationId":"1","error":"The client attempted to invoke the streaming '
        b"'Counter' method with a non-streaming invocation.\"}" + RS
    )
    # Without an invocation id there is nobody to tell.
    await sock.send(b'{"type":1,"target":"Counter","arguments":[3,0]}' + RS)
    assert await before_probe(sock) == []


async def test_non_streaming_method_with_a_stream_invocation_is_refused(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(b'{"type":4,"invocationId":"1","target":"Add","arguments":[1,2]}' + RS)
    assert (await sock.recv()).raw == (
        b'{"type":3,"invocationId":"1","error":"The client attempted to invoke the non-streaming '
        b"'Add' method with a streaming invocation.\"}" + RS
    )
    assert await before_probe(sock) == []


async def test_mp_wrong_invocation_kinds(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send(invocation(sock, "1", "Counter", [3, 0]))
    assert (await sock.recv()).value == [
        3,
        {},
        "1",
        1,
        "The client attempted to invoke the streaming 'Counter' method with a non-streaming invocation.",
    ]
    await sock.send(stream_invocation(sock, "2", "Add", [1, 2]))
    assert (await sock.recv()).value == [
        3,
        {},
        "2",
        1,
        "The client attempted to invoke the non-streaming 'Add' method with a streaming invocation.",
    ]


# ------------------------------------------------------------ stream errors


@pytest.mark.parametrize("hub", ["test", "detailed"])
async def test_hub_exception_in_a_stream_is_always_detailed(client: Client, hub: str) -> None:
    sock = await client.connect(hub, "json")
    await sock.send(stream_invocation(sock, "1", "ThrowingStream", [2, "boom"]))
    items, completion = await read_stream(sock, "1")
    assert items == [0, 1]
    assert completion.raw == (
        b'{"type":3,"invocationId":"1","error":"An error occurred on the server while streaming results. '
        b'HubException: boom"}' + RS
    )


async def test_other_exception_in_a_stream_hides_detail(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(stream_invocation(sock, "1", "FailingStream", [2]))
    items, completion = await read_stream(sock, "1")
    assert items == [0, 1]
    assert completion.raw == b'{"type":3,"invocationId":"1","error":"' + STREAM_ERROR.encode() + b'"}' + RS
    assert await before_probe(sock) == []


async def test_other_exception_in_a_stream_detailed(client: Client) -> None:
    sock = await client.connect("detailed", "json")
    await sock.send(stream_invocation(sock, "1", "FailingStream", [2]))
    items, completion = await read_stream(sock, "1")
    assert items == [0, 1]
    # The exception type name is the server's own; only the shape is portable.
    error = completion.error
    assert error is not None
    assert error.startswith(STREAM_ERROR + " ")
    assert error.endswith(": stream failed")


async def test_mp_stream_error(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    await sock.send(stream_invocation(sock, "1", "ThrowingStream", [1, "boom"]))
    items, completion = await read_stream(sock, "1")
    assert items == [0]
    assert completion.value == [3, {}, "1", 1, STREAM_ERROR + " HubException: boom"]


# ------------------------------------------------------ client-to-server


async def test_json_upload_exact_messages(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(b'{"type":1,"invocationId":"1","target":"Upload","arguments":[],"streamIds":["s1"]}' + RS)
    for item in ("a", "b", "c"):
        await sock.send(b'{"type":2,"invocationId":"s1","item":"' + item.encode() + b'"}' + RS)
    await sock.send(b'{"type":3,"invocationId":"s1"}' + RS)
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"1","result":"abc"}' + RS
    assert await before_probe(sock) == []


async def test_upload_in_one_frame(client: Client) -> None:
    sock = await client.connect("test", "json")
    batch = invocation(sock, "1", "Upload", [], ["s1"])
    batch += b"".join(stream_item(sock, "s1", c) for c in "hello") + stream_complete(sock, "s1")
    await sock.send(batch)
    assert (await sock.recv()).result == "hello"


async def test_upload_error_completion_reaches_the_method(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(invocation(sock, "1", "UploadError", [], ["s1"]))
    await sock.send(b'{"type":2,"invocationId":"s1","item":"a"}' + RS)
    await sock.send(b'{"type":3,"invocationId":"s1","error":"Something bad"}' + RS)
    reply = await sock.recv()
    assert reply.raw == b'{"type":3,"invocationId":"1","result":"HubException: Something bad"}' + RS


async def test_upload_error_completion_fails_a_method_that_does_not_catch(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(invocation(sock, "1", "Upload", [], ["s1"]))
    await sock.send(b'{"type":3,"invocationId":"s1","error":"Something bad"}' + RS)
    assert (await sock.recv()).raw == (
        b'{"type":3,"invocationId":"1","error":"An unexpected error occurred invoking \'Upload\' on the '
        b'server. HubException: Something bad"}' + RS
    )
    assert await before_probe(sock) == []


@pytest.mark.parametrize(
    ("target", "stream_ids", "detail"),
    [
        ("Upload", None, "Client sent 0 stream(s), Hub method expects 1."),
        ("Upload", [], "Client sent 0 stream(s), Hub method expects 1."),
        ("Upload", ["s1", "s2"], "Client sent 2 stream(s), Hub method expects 1."),
        ("UploadTwo", ["s1"], "Client sent 1 stream(s), Hub method expects 2."),
        ("Add", ["s1"], "Client sent 1 stream(s), Hub method expects 0."),
    ],
    ids=["none", "empty", "two-for-one", "one-for-two", "one-for-zero"],
)
async def test_stream_count_mismatch(
    client: Client, target: str, stream_ids: list[str] | None, detail: str
) -> None:
    sock = await client.connect("test", "json")
    args: list[Any] = [1, 2] if target == "Add" else []
    await sock.send(invocation(sock, "1", target, args, stream_ids))
    reply = await sock.recv()
    assert reply.value == {
        "type": 3,
        "invocationId": "1",
        "error": f"An unexpected error occurred invoking '{target}' on the server. HubException: {detail}",
    }
    # Items the client goes on to send are for streams that do not exist.
    for sid in stream_ids or ():
        await sock.send(stream_item(sock, sid, "x") + stream_complete(sock, sid))
    assert await before_probe(sock) == []


async def test_stream_count_mismatch_exact_bytes(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(b'{"type":1,"invocationId":"1","target":"Upload","arguments":[]}' + RS)
    assert (await sock.recv()).raw == (
        b'{"type":3,"invocationId":"1","error":"An unexpected error occurred invoking \'Upload\' on the '
        b'server. HubException: Client sent 0 stream(s), Hub method expects 1."}' + RS
    )


async def test_stream_item_for_unknown_stream_is_ignored(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(b'{"type":2,"invocationId":"nope","item":"a"}' + RS)
    await sock.send(b'{"type":3,"invocationId":"nope"}' + RS)
    await sock.send(b'{"type":3,"invocationId":"nope","error":"x"}' + RS)
    assert await before_probe(sock) == []
    # An upload afterwards works as usual.
    await sock.send(invocation(sock, "1", "Upload", [], ["s1"]) + stream_item(sock, "s1", "ok"))
    await sock.send(stream_complete(sock, "s1"))
    assert (await sock.recv()).result == "ok"


async def test_stream_items_after_completion_are_ignored(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(invocation(sock, "1", "Upload", [], ["s1"]) + stream_item(sock, "s1", "a"))
    await sock.send(stream_complete(sock, "s1") + stream_item(sock, "s1", "late"))
    assert (await sock.recv()).result == "a"
    assert await before_probe(sock) == []


async def test_mp_upload_sum_with_six_element_invocation(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    body = bytes.fromhex("96 01 80 a1 31 a9") + b"UploadSum" + bytes.fromhex("91 a5") + b"total"
    body += bytes.fromhex("91 a2") + b"s1"
    await sock.send(mp_frame(body))
    for n in (1, 2, 3):
        await sock.send(mp_frame(bytes.fromhex("94 02 80 a2") + b"s1" + bytes([n])))
    await sock.send(mp_frame(bytes.fromhex("94 03 80 a2") + b"s1" + bytes.fromhex("02")))
    reply = await sock.recv()
    assert reply.raw == mp_frame(bytes.fromhex("95 03 80 a1 31 03 a7") + b"total:6")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_upload_two_streams(client: Client, protocol: str) -> None:
    sock = await client.connect("test", protocol)
    await sock.send(invocation(sock, "1", "UploadTwo", [], ["s1", "s2"]))
    for item in ("a", "b"):
        await sock.send(stream_item(sock, "s1", item))
    await sock.send(stream_complete(sock, "s1"))
    for n in (1, 2):
        await sock.send(stream_item(sock, "s2", n))
    await sock.send(stream_complete(sock, "s2"))
    assert (await sock.recv()).result == [["a", "b"], [1, 2]]


async def test_upload_item_of_the_wrong_type_fails_the_stream(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(invocation(sock, "1", "UploadSum", ["x"], ["s1"]))
    await sock.send(stream_item(sock, "s1", 1) + stream_item(sock, "s1", "not a number"))
    await sock.send(stream_complete(sock, "s1"))
    reply = await sock.recv()
    assert reply.type == 3 and reply.invocation_id == "1"
    assert reply.error is not None
    prefix = "An unexpected error occurred invoking 'UploadSum' on the server. HubException: "
    assert reply.error.startswith(prefix), reply.error
    assert await before_probe(sock) == []


async def test_method_that_ends_without_reading_its_stream_does_not_stall_the_connection(
    client: Client,
) -> None:
    """UploadTwo reads its first stream before the second. The first fails,
    so the method ends without reading the second, while more items than a
    stream buffers (stream_buffer_capacity, 10) are already waiting for it.
    The connection must go on reading: the Echo afterwards is answered."""
    sock = await client.connect("test", "json")
    batch = invocation(sock, "1", "UploadTwo", [], ["s1", "s2"])
    batch += stream_item(sock, "s1", "a") + stream_complete(sock, "s1", "bad")
    batch += b"".join(stream_item(sock, "s2", n) for n in range(15))
    await sock.send(batch)  # one frame: all of it is read before the method runs
    assert (await sock.recv()).value == {
        "type": 3,
        "invocationId": "1",
        "error": "An unexpected error occurred invoking 'UploadTwo' on the server. HubException: bad",
    }
    await sock.send(stream_item(sock, "s2", 99) + stream_complete(sock, "s2"))
    assert await before_probe(sock) == []


async def test_reused_stream_id_belongs_to_the_new_invocation(client: Client) -> None:
    """A stream id whose stream the client completed may be used again by a
    later invocation, even while the first method still runs; the first
    method ending must not take the new stream with it."""
    sock = await client.connect("test", "json")
    await sock.send(
        invocation(sock, "1", "UploadTwo", [], ["s1", "s2"])
        + stream_item(sock, "s1", "x")
        + stream_complete(sock, "s1")
        + invocation(sock, "2", "Upload", [], ["s1"])  # s1 again, UploadTwo still waits for s2
        + stream_item(sock, "s1", "b")
        + stream_item(sock, "s2", 5)
        + stream_complete(sock, "s2")
    )
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"1","result":[["x"],[5]]}' + RS
    await sock.send(stream_item(sock, "s1", "c") + stream_complete(sock, "s1"))
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"2","result":"bc"}' + RS


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_upload_into_a_stream(client: Client, protocol: str) -> None:
    """A StreamInvocation with streamIds: items go up and come back doubled."""
    sock = await client.connect("test", protocol)
    await sock.send(stream_invocation(sock, "1", "UploadToStream", [], ["s1"]))
    await sock.send(stream_item(sock, "s1", 1))
    first = await sock.recv()
    assert first.type == 2 and item_of(first) == 2  # streamed while the upload is still open
    for n in (2, 3):
        await sock.send(stream_item(sock, "s1", n))
    await sock.send(stream_complete(sock, "s1"))
    items, completion = await read_stream(sock, "1")
    assert items == [4, 6]
    assert is_void_completion(completion)


# ------------------------------------------------------------ backpressure


async def test_slow_reader_gets_every_item_in_order(client: Client) -> None:
    """A client that starts Counter(1000, 0) and reads nothing for a while:
    the server waits for the transport (at most stream_buffer_capacity items
    queued) instead of overflowing and closing, and then delivers all 1000
    items in order.

    The "while" is another connection's Wait(0.5) round trip: the test waits
    for that reply (an event with a deadline) and does not read the stream
    socket meanwhile.
    """
    sock = await client.connect("test", "json")
    other = await client.connect("test", "json")
    await sock.send(stream_invocation(sock, "1", "Counter", [1000, 0]))
    assert (await other.invoke("Wait", 0.5, within=5)).result == 0.5
    items, completion = await read_stream(sock, "1", within=10)
    assert items == list(range(1000))
    assert completion.raw == b'{"type":3,"invocationId":"1"}' + RS
    assert await before_probe(sock) == []


async def test_streams_on_many_connections_at_once(client: Client) -> None:
    socks = await asyncio.gather(*(client.connect("test", p) for p in PROTOCOLS * 3))
    for sock in socks:
        await sock.send(stream_invocation(sock, "1", "Counter", [50, 0]))
    results = await asyncio.gather(*(read_stream(sock, "1") for sock in socks))
    for items, completion in results:
        assert items == list(range(50))
        assert is_void_completion(completion)


async def test_stream_larger_than_the_send_buffer_is_paced_not_dropped(client: Client) -> None:
    """Counter(50000, 0) writes about 2 MB of items, more than a server can
    sensibly queue for one client (this one closes a client with more than
    1 MB waiting). Its items come from a generator that never awaits, so only
    per-stream backpressure (stream_buffer_capacity) keeps the queue short:
    without it the connection is dropped even for a client that reads at
    once. Here the client also reads nothing during another connection's
    Wait(0.5) round trip."""
    sock = await client.connect("test", "json")
    other = await client.connect("test", "json")
    count = 50_000
    await sock.send(stream_invocation(sock, "1", "Counter", [count, 0]))
    assert (await other.invoke("Wait", 0.5, within=5)).result == 0.5
    items, completion = await read_stream(sock, "1", within=20)
    assert items == list(range(count))
    assert is_void_completion(completion)
    assert await before_probe(sock) == []
