"""The backplane's wire format (sans-IO): batches, channel names, quoting.

No database needed except for the last tests, which check that the names
these functions produce are accepted by a real Postgres as they are.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib

import asyncpg
import msgpack
import pytest

from pysignalr_server.postgres.bus import _quote
from pysignalr_server.postgres.protocol import (
    ACK,
    ADD,
    GROUP,
    INVOCATION,
    RECEIPT,
    RESULT,
    TO_GROUPS,
    channel_name,
    decode_batch,
    encode_batch,
    notification_origin,
    packed_batch,
    spill_header,
)

SERVER = "0123456789abcdef0123456789abcdef"

BATCHES = [
    [],
    [["hub.Key", ACK, SERVER, 7]],
    [
        [
            "hub.Key",
            INVOCATION,
            TO_GROUPS,
            ["g1", "*", "%"],
            ["excluded"],
            {"json": b'{"type":1,"target":"Hello","arguments":["World"]}\x1e', "messagepack": b"\x12\x96"},
            None,
            None,
        ],
        ["hub.Key", GROUP, ADD, "gröup", "conn", 2**31 + 5, SERVER],
        ["hub.Key", RESULT, SERVER, "inv+/id", None, True, {"nested": [1, 2.5, None, "ü"]}, "json"],
        ["hub.Key", RECEIPT, SERVER, "inv"],
    ],
    [["h", INVOCATION, 0, [], [], {"json": bytes(range(256)) * 40}, "id", SERVER]],
]


@pytest.mark.parametrize("messages", BATCHES)
@pytest.mark.parametrize("seq", [1, 127, 128, 2**32 + 1])
def test_text_round_trip(messages: list[list[object]], seq: int) -> None:
    text = encode_batch(SERVER, seq, messages)
    assert isinstance(text, str) and text.isascii()
    assert "\x00" not in text  # NOTIFY payloads are text: no NUL
    assert decode_batch(text) == (SERVER, seq, messages)


@pytest.mark.parametrize("messages", BATCHES)
def test_spill_form_round_trip_and_equals_the_notified_form(messages: list[list[object]]) -> None:
    raw = packed_batch(SERVER, 9, messages)
    assert isinstance(raw, bytes)
    assert decode_batch(raw) == (SERVER, 9, messages)
    header, body = encode_batch(SERVER, 9, messages).split(":")
    assert header == SERVER and base64.b64decode(body) == raw


def test_bytes_stay_bytes_and_strings_stay_strings() -> None:
    _, _, [message] = decode_batch(encode_batch(SERVER, 1, [["h", b"\x00\xff", "\x00text"]]))
    assert message == ["h", b"\x00\xff", "\x00text"]
    assert type(message[1]) is bytes and type(message[2]) is str


def test_batch_layout_is_server_seq_messages() -> None:
    raw = packed_batch(SERVER, 3, [["h", ACK, SERVER, 1]])
    assert msgpack.unpackb(raw, raw=False) == [SERVER, 3, [["h", ACK, SERVER, 1]]]


def test_encoded_length_is_the_header_plus_the_base64_of_the_packed_length() -> None:
    """What the spill threshold measures: len(text) = len(id) + 1 + 4 * ceil(packed / 3)."""
    for n in range(0, 50):
        messages = [["h", "x" * n]]
        packed = len(packed_batch(SERVER, 1, messages))
        assert len(encode_batch(SERVER, 1, messages)) == len(SERVER) + 1 + 4 * -(-packed // 3)


def test_the_origin_is_read_without_decoding_the_batch() -> None:
    """Every server hears its own notifications: the header names the
    sender, for batches and for spilled ones alike."""
    text = encode_batch(SERVER, 5, [["h", "x"]])
    assert notification_origin(text) == (SERVER, text[len(SERVER) + 1 :])
    assert decode_batch(notification_origin(text)[1]) == (SERVER, 5, [["h", "x"]])
    assert notification_origin(spill_header(SERVER) + "42") == (SERVER, "S42")


# ----------------------------------------------------------- channel names


def test_short_prefix_is_used_as_is() -> None:
    assert channel_name("signalr") == "signalr_backplane"
    assert channel_name("MyApp") == "MyApp_backplane"  # case kept (it is quoted)


@pytest.mark.parametrize(
    "prefix",
    [
        "p" * 53,  # 63 bytes with "_backplane": kept
        "p" * 54,  # 64 bytes: hashed
        "x" * 500,
        "é" * 40,  # 2 bytes a character
        "日本語のプレフィックス" * 5,  # 3 bytes a character
        "🙂" * 30,  # 4 bytes a character
        "a" * 39 + "é" * 20,  # a multi-byte character straddles the cut
    ],
)
def test_channel_is_at_most_63_utf8_bytes_and_deterministic(prefix: str) -> None:
    name = channel_name(prefix)
    assert 0 < len(name.encode("utf-8")) <= 63
    assert channel_name(prefix) == name
    full = f"{prefix}_backplane"
    if len(full.encode("utf-8")) <= 63:
        assert name == full
    else:
        digest = hashlib.sha256(full.encode("utf-8")).hexdigest()[:16]
        assert name.endswith("_" + digest)
        assert full.startswith(name[: -len(digest) - 1])  # readable head, no broken character


def test_different_prefixes_give_different_channels() -> None:
    prefixes = [
        "a",
        "A",
        "b",
        "x" * 100,
        "x" * 100 + "y",
        "x" * 99 + "y",
        "é" * 40,
        "é" * 41,
        "p" * 53,
        "p" * 54,
        "p" * 55,
    ]
    names = [channel_name(p) for p in prefixes]
    assert len(set(names)) == len(prefixes)
    # Long prefixes sharing their first 40 bytes still differ.
    long = [channel_name("shared-head-" * 10 + str(i)) for i in range(1000)]
    assert len(set(long)) == 1000


# ------------------------------------------------------------ table quoting


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("signalr_spill", '"signalr_spill"'),
        ("Spill", '"Spill"'),
        ('we"ird', '"we""ird"'),
        ('"', '""""'),
        ("a.b", '"a.b"'),  # one identifier, not schema.table
        ("drop table x; --", '"drop table x; --"'),
    ],
)
def test_spill_table_name_is_quoted(name: str, quoted: str) -> None:
    assert _quote(name) == quoted


@pytest.mark.parametrize("name", ['We"ird Spill; --', "Spill.Table", "spïll"])
async def test_quoted_spill_table_names_are_real_identifiers(
    pg_admin: asyncpg.Connection, prefix: str, name: str
) -> None:
    table = f"{name}_{prefix}"
    await pg_admin.execute(f"CREATE TABLE {_quote(table)} (id int)")
    try:
        stored = await pg_admin.fetchval("SELECT relname FROM pg_class WHERE relname = $1", table)
        assert stored == table  # exactly that name: case, quote, dot and all
    finally:
        await pg_admin.execute(f"DROP TABLE {_quote(table)}")


@pytest.mark.parametrize("prefix_body", ["p" * 53, "p" * 54, "é" * 40, "🙂" * 30])
async def test_postgres_accepts_the_channel_names(pg_admin: asyncpg.Connection, prefix_body: str) -> None:
    """pg_notify refuses names of 64 bytes or more; LISTEN would truncate
    them silently. The names given are accepted whole by both."""
    channel = channel_name(prefix_body)
    received: list[tuple[str, str]] = []
    arrived = asyncio.Event()

    def on_notify(_conn: object, _pid: int, ch: str, payload: str) -> None:
        received.append((ch, payload))
        arrived.set()

    await pg_admin.add_listener(channel, on_notify)
    try:
        await pg_admin.execute("SELECT pg_notify($1, 'ping')", channel)
        await asyncio.wait_for(arrived.wait(), 5)
        assert received == [(channel, "ping")]
    finally:
        await pg_admin.remove_listener(channel, on_notify)


async def test_postgres_refuses_a_64_byte_channel(pg_admin: asyncpg.Connection) -> None:
    """Why channel_name shortens: the limit is real."""
    with pytest.raises(asyncpg.PostgresError, match="channel name too long"):
        await pg_admin.execute("SELECT pg_notify($1, 'x')", "c" * 64)
    await pg_admin.execute("SELECT pg_notify($1, 'x')", "c" * 63)
