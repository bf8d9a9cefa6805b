"""Client results (ASP.NET Core 7+): a hub method invokes a client method and
awaits its answer.

The server sends an Invocation WITH an invocation id (a 22-character base64
GUID, unique across servers); the client answers with a Completion under
that id. Only the connection the invocation went to may answer it; late
answers (after a timeout) are ignored; a result that does not convert to
the expected type becomes an error in the hub method.

Hub methods used: ``AskCaller()`` invokes ``GetNumber(41)`` on the caller
and returns the int result; ``AskClient(id, method, timeout)`` and
``AskCallerDescribed(method, timeout)`` return a description of what
happened ("result: N", "HubException: ...", "TimeoutError", or the
connection error). Every receive has a deadline.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from .client import RS, Client, HubSocket, Message, json_frame, json_invocation, mp_frame, mp_pack

SERVER_ID = re.compile(r"^[A-Za-z0-9+/]{22}$")


async def ask(sock: HubSocket, target: str, *args: Any, invocation_id: str = "1") -> Message:
    """Call ``target`` and return the server's GetNumber invocation (checked)."""
    await sock.send(sock.invocation(target, *args, invocation_id=invocation_id))
    request = await sock.recv()
    assert request.type == 1, f"expected the client-result invocation, got {request.raw!r}"
    server_id = request.invocation_id
    assert server_id is not None and SERVER_ID.match(server_id), request.raw
    return request


def answer(server_id: str, **fields: Any) -> bytes:
    return json_frame({"type": 3, "invocationId": server_id, **fields})


async def before_probe(sock: HubSocket, probe_id: str = "probe") -> list[Message]:
    """Invoke Echo; return the messages that arrive before its Completion."""
    await sock.send(sock.invocation("Echo", "probe", invocation_id=probe_id))
    before: list[Message] = []
    while True:
        msg = await sock.recv()
        if msg.type == 3 and msg.invocation_id == probe_id:
            assert msg.result == "probe"
            return before
        before.append(msg)


async def connection_id(sock: HubSocket) -> str:
    return str((await sock.invoke("GetConnectionId")).result)


# ------------------------------------------------------------------ JSON


async def test_json_invocation_shape_and_result(client: Client) -> None:
    sock = await client.connect("test", "json")
    request = await ask(sock, "AskCaller")
    server_id = request.invocation_id
    assert list(request.value) == ["type", "invocationId", "target", "arguments"]
    expected = b'{"type":1,"invocationId":"' + str(server_id).encode() + b'",'
    expected += b'"target":"GetNumber","arguments":[41]}' + RS
    assert request.raw == expected
    await sock.send(b'{"type":3,"invocationId":"' + str(server_id).encode() + b'","result":10}' + RS)
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"1","result":10}' + RS


async def test_json_error_answer_fails_the_hub_method(client: Client) -> None:
    sock = await client.connect("test", "json")
    request = await ask(sock, "AskCaller")
    await sock.send(answer(str(request.invocation_id), error="Client went wrong"))
    assert (await sock.recv()).raw == (
        b'{"type":3,"invocationId":"1","error":"An unexpected error occurred invoking \'AskCaller\' on the '
        b'server. HubException: Client went wrong"}' + RS
    )
    assert await before_probe(sock) == []


async def test_error_answer_reaches_the_method_as_hub_exception(client: Client) -> None:
    sock = await client.connect("test", "json")
    request = await ask(sock, "AskCallerDescribed", "GetNumber", 5)
    await sock.send(answer(str(request.invocation_id), error="Error from client"))
    assert (await sock.recv()).result == "HubException: Error from client"


async def test_each_invocation_gets_a_new_id(client: Client) -> None:
    sock = await client.connect("test", "json")
    seen = set()
    for i in range(3):
        request = await ask(sock, "AskCaller", invocation_id=str(i))
        server_id = str(request.invocation_id)
        assert server_id not in seen
        seen.add(server_id)
        await sock.send(answer(server_id, result=i))
        reply = await sock.recv()
        assert (reply.invocation_id, reply.result) == (str(i), i)


async def test_answer_from_another_connection_is_rejected(client: Client) -> None:
    owner = await client.connect("test", "json")
    intruder = await client.connect("test", "json")
    request = await ask(owner, "AskCaller")
    server_id = str(request.invocation_id)
    await intruder.send(answer(server_id, result=99))
    await intruder.send(answer(server_id, error="hijacked"))
    # The intruder gets no reply and its connection is fine; once its Echo
    # returns, both answers have been processed (messages of one connection
    # are handled in order).
    assert await before_probe(intruder) == []
    # The invocation is still pending: the owner's answer is the one that counts.
    await owner.send(answer(server_id, result=10))
    assert (await owner.recv()).raw == b'{"type":3,"invocationId":"1","result":10}' + RS


async def test_late_answer_after_a_timeout_is_ignored(client: Client) -> None:
    sock = await client.connect("test", "json")
    request = await ask(sock, "AskCallerDescribed", "GetNumber", 0.2)
    # No answer: the server gives up after 0.2 s.
    reply = await sock.recv()
    assert (reply.invocation_id, reply.result) == ("1", "TimeoutError")
    await sock.send(answer(str(request.invocation_id), result=10))
    assert await before_probe(sock) == []
    # Still usable for client results too.
    again = await ask(sock, "AskCaller", invocation_id="2")
    await sock.send(answer(str(again.invocation_id), result=5))
    assert (await sock.recv()).raw == b'{"type":3,"invocationId":"2","result":5}' + RS


async def test_result_of_the_wrong_type_is_an_error_in_the_method(client: Client) -> None:
    sock = await client.connect("test", "json")
    request = await ask(sock, "AskCallerDescribed", "GetNumber", 5)
    await sock.send(answer(str(request.invocation_id), result="x"))
    reply = await sock.recv()
    assert reply.invocation_id == "1"
    assert isinstance(reply.result, str)
    assert reply.result.startswith("HubException: Error trying to deserialize result to int. "), reply.result
    assert await before_probe(sock) == []


async def test_answer_for_an_unknown_id_is_ignored(client: Client) -> None:
    sock = await client.connect("test", "json")
    await sock.send(answer("AAAAAAAAAAAAAAAAAAAAAA", result=1))
    await sock.send(answer("not-an-id", error="nobody asked"))
    assert await before_probe(sock) == []


# --------------------------------------------------- another connection


async def test_ask_another_client(client: Client) -> None:
    asker = await client.connect("test", "json")
    target = await client.connect("test", "json")
    target_id = await connection_id(target)
    await asker.send(json_invocation("AskClient", [target_id, "GetNumber", 5], "1"))
    request = await target.recv()
    assert request.type == 1 and request.value["target"] == "GetNumber"
    assert request.value["arguments"] == [41]
    await target.send(answer(str(request.invocation_id), result=7))
    assert (await asker.recv()).raw == b'{"type":3,"invocationId":"1","result":"result: 7"}' + RS


async def test_ask_a_client_that_does_not_exist(client: Client) -> None:
    sock = await client.connect("test", "json")
    reply = await sock.invoke("AskClient", "nope", "GetNumber", 5)
    # The error type name is the server's own; the message is .NET's.
    assert reply.result.endswith("Connection 'nope' does not exist."), reply.result


async def test_ask_a_client_that_disconnects(client: Client) -> None:
    asker = await client.connect("test", "json")
    target = await client.connect("test", "json")
    target_id = await connection_id(target)
    await asker.send(json_invocation("AskClient", [target_id, "GetNumber", 5], "1"))
    request = await target.recv()
    assert request.type == 1
    await target.close()
    reply = await asker.recv()
    assert reply.invocation_id == "1"
    assert reply.result.endswith(f"Connection '{target_id}' disconnected."), reply.result


async def test_ask_from_outside_a_hub(client: Client) -> None:
    """The conformance server's POST /api/ask/{id} uses the hub context."""
    sock = await client.connect("test", "json")
    cid = await connection_id(sock)

    async def post() -> Any:
        async with client.session.post(f"{client.server_url}/api/ask/{cid}") as resp:
            assert resp.status == 200
            return await resp.json()

    response = asyncio.ensure_future(asyncio.wait_for(post(), 5))
    request = await sock.recv()
    assert request.type == 1 and request.value["target"] == "GetNumber"
    await sock.send(answer(str(request.invocation_id), result=12))
    assert await response == {"result": 12}


# ----------------------------------------------------------- MessagePack


async def test_mp_invocation_shape_and_result(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    request = await ask(sock, "AskCaller")
    server_id = str(request.invocation_id).encode()
    expected = bytes.fromhex("96 01 80 b6") + server_id + b"\xa9GetNumber" + bytes.fromhex("91 29 90")
    assert request.raw == mp_frame(expected)
    await sock.send(mp_frame(bytes.fromhex("95 03 80 b6") + server_id + bytes.fromhex("03 0a")))
    assert (await sock.recv()).raw == mp_frame(bytes.fromhex("95 03 80 a1 31 03 0a"))


async def test_mp_error_answer(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    request = await ask(sock, "AskCallerDescribed", "GetNumber", 5)
    await sock.send(mp_frame(mp_pack([3, {}, request.invocation_id, 1, "Error from client"])))
    assert (await sock.recv()).value == [3, {}, "1", 3, "HubException: Error from client"]


async def test_mp_result_of_the_wrong_type(client: Client) -> None:
    sock = await client.connect("test", "messagepack")
    request = await ask(sock, "AskCallerDescribed", "GetNumber", 5)
    await sock.send(mp_frame(mp_pack([3, {}, request.invocation_id, 3, "x"])))
    reply = await sock.recv()
    assert reply.result.startswith("HubException: Error trying to deserialize result to int. "), reply.result
