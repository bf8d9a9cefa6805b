"""JSON hub protocol against the ASP.NET Core vectors (protocol-vectors.md
sections 2, 2b, 2c, 2d, 2e and 2f)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from protocol_support import (
    CUSTOM_BYTES,
    CUSTOM_DATETIME,
    EXPECTED_CUSTOM_OBJECT,
    TEST_HEADERS,
    CustomObject,
    CustomObjectDC,
    TableBinder,
    binder_for,
    custom_object,
)

from pysignalr_server.errors import HubException, InvalidDataError
from pysignalr_server.protocol import (
    NO_TYPE,
    PING,
    AckMessage,
    CancelInvocationMessage,
    CloseMessage,
    CompletionMessage,
    HubMessage,
    InvocationBindingFailureMessage,
    InvocationMessage,
    JsonHubProtocol,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)

RS = b"\x1e"
BINDING_ERROR = (
    "Error binding arguments. Make sure that the types of the provided values "
    "match the types of the hub method being invoked."
)
OFFSET_1234 = dt.timezone(dt.timedelta(hours=12, minutes=34))
DATE_WITH_OFFSET = dt.datetime(2016, 5, 10, 13, 51, 20, tzinfo=OFFSET_1234)
HEADERS_JSON = (
    '"headers":{"Foo":"Bar","KeyWith\\nNew\\r\\nLines":"Still Works",'
    '"ValueWithNewLines":"Also\\nWorks\\r\\nFine"}'
)

# The CustomObject payload as JSON text, per naming/null flag combination.
CUSTOM_NO_CAMEL_IGNORE_NULL = (
    '{"StringProp":"SignalR!","DoubleProp":6.2831853071,"IntProp":42,'
    '"DateTimeProp":"2017-04-11T00:00:00Z","ByteArrProp":"AQID"}'
)
CUSTOM_CAMEL_IGNORE_NULL = (
    '{"stringProp":"SignalR!","doubleProp":6.2831853071,"intProp":42,'
    '"dateTimeProp":"2017-04-11T00:00:00Z","byteArrProp":"AQID"}'
)
CUSTOM_NO_CAMEL_INCLUDE_NULL = (
    '{"StringProp":"SignalR!","DoubleProp":6.2831853071,"IntProp":42,'
    '"DateTimeProp":"2017-04-11T00:00:00Z","NullProp":null,"ByteArrProp":"AQID"}'
)
CUSTOM_CAMEL_INCLUDE_NULL = (
    '{"stringProp":"SignalR!","doubleProp":6.2831853071,"intProp":42,'
    '"dateTimeProp":"2017-04-11T00:00:00Z","nullProp":null,"byteArrProp":"AQID"}'
)
# (camel, include_null) -> JSON text of the payload
CUSTOM_JSON = {
    (False, False): CUSTOM_NO_CAMEL_IGNORE_NULL,
    (True, False): CUSTOM_CAMEL_IGNORE_NULL,
    (False, True): CUSTOM_NO_CAMEL_INCLUDE_NULL,
    (True, True): CUSTOM_CAMEL_INCLUDE_NULL,
}


@pytest.fixture
def protocol() -> JsonHubProtocol:
    return JsonHubProtocol()


def rt(
    name: str,
    message: HubMessage,
    text: str,
    *,
    parsed: HubMessage | None = None,
    binder: TableBinder | None = None,
) -> Any:
    """A round-trip vector: ``message`` writes exactly ``text`` + RS and
    ``text`` parses to ``parsed`` (default: ``message``)."""
    parsed = message if parsed is None else parsed
    return pytest.param(message, text, parsed, binder or binder_for(parsed), id=name)


def custom_vectors() -> list[Any]:
    """The CustomObject vectors for the four message kinds and four flag sets.

    On the wire the datetime and bytes are strings; parsed without a target
    type they stay strings, so the expected parse uses the wire form.
    """
    flag_names = {
        (False, False): "WithNoCamelCase",
        (True, False): "WithNullValueIgnore",
        (False, True): "WithNullValueIgnoreAndNoCamelCase",
        (True, True): "WithNullValueInclude",
    }
    completion_flag_names = dict(flag_names)
    completion_flag_names[(False, True)] = "WithNullValueIncludeAndNoCamelCase"
    out = []
    for (camel, include_null), suffix in flag_names.items():
        obj = custom_object(camel=camel, include_null=include_null)
        wire = custom_object(camel=camel, include_null=include_null, json_wire=True)
        payload = CUSTOM_JSON[(camel, include_null)]
        out.append(
            rt(
                f"InvocationMessage_HasCustomArgument{suffix}",
                InvocationMessage("Target", [obj]),
                f'{{"type":1,"target":"Target","arguments":[{payload}]}}',
                parsed=InvocationMessage("Target", [wire]),
            )
        )
        out.append(
            rt(
                f"StreamItemMessage_HasCustomItem{suffix}",
                StreamItemMessage("123", obj),
                f'{{"type":2,"invocationId":"123","item":{payload}}}',
                parsed=StreamItemMessage("123", wire),
            )
        )
        out.append(
            rt(
                f"CompletionMessage_HasCustomResult{completion_flag_names[(camel, include_null)]}",
                CompletionMessage.with_result("123", obj),
                f'{{"type":3,"invocationId":"123","result":{payload}}}',
                parsed=CompletionMessage.with_result("123", wire),
            )
        )
        out.append(
            rt(
                f"StreamInvocationMessage_HasCustomArgument{suffix}",
                StreamInvocationMessage("123", "Target", [obj]),
                f'{{"type":4,"invocationId":"123","target":"Target","arguments":[{payload}]}}',
                parsed=StreamInvocationMessage("123", "Target", [wire]),
            )
        )
    return out


CAMEL_NULL = custom_object(camel=True, include_null=True)
CAMEL_NULL_WIRE = custom_object(camel=True, include_null=True, json_wire=True)

ROUND_TRIP = [
    rt(
        "InvocationMessage_HasInvocationId",
        InvocationMessage("Target", [1, "Foo"], "123"),
        '{"type":1,"invocationId":"123","target":"Target","arguments":[1,"Foo"]}',
    ),
    rt(
        "InvocationMessage_HasBoolArgument",
        InvocationMessage("Target", [True]),
        '{"type":1,"target":"Target","arguments":[true]}',
    ),
    rt(
        "InvocationMessage_HasNullArgument",
        InvocationMessage("Target", [None]),
        '{"type":1,"target":"Target","arguments":[null]}',
    ),
    rt(
        "InvocationMessage_HasStreamArgument",
        InvocationMessage("Target", [], stream_ids=["__test_id__"]),
        '{"type":1,"target":"Target","arguments":[],"streamIds":["__test_id__"]}',
    ),
    rt(
        "InvocationMessage_HasStreamAndNormalArgument",
        InvocationMessage("Target", [42], stream_ids=["__test_id__"]),
        '{"type":1,"target":"Target","arguments":[42],"streamIds":["__test_id__"]}',
    ),
    rt(
        "InvocationMessage_HasMultipleStreams",
        InvocationMessage("Target", [], stream_ids=["__test_id__", "__test_id2__"]),
        '{"type":1,"target":"Target","arguments":[],"streamIds":["__test_id__","__test_id2__"]}',
    ),
    rt(
        "InvocationMessage_DateTimeOffsetArgument",
        InvocationMessage("Method", [DATE_WITH_OFFSET]),
        '{"type":1,"target":"Method","arguments":["2016-05-10T13:51:20+12:34"]}',
        binder=TableBinder({"Method": [dt.datetime]}),
    ),
    rt(
        "InvocationMessage_StringIsoDateArgument",
        InvocationMessage("Method", ["2016-05-10T13:51:20+12:34"]),
        '{"type":1,"target":"Method","arguments":["2016-05-10T13:51:20+12:34"]}',
    ),
    rt(
        "InvocationMessage_HasNonAsciiArgument",
        InvocationMessage("Method", ["מחרוזת כלשהי"]),
        '{"type":1,"target":"Method","arguments":["מחרוזת כלשהי"]}',
    ),
    *custom_vectors(),
    rt(
        "StreamItemMessage_HasHeaders",
        StreamItemMessage("123", CAMEL_NULL, headers=TEST_HEADERS),
        f'{{"type":2,{HEADERS_JSON},"invocationId":"123","item":{CUSTOM_CAMEL_INCLUDE_NULL}}}',
        parsed=StreamItemMessage("123", CAMEL_NULL_WIRE, headers=TEST_HEADERS),
    ),
    rt(
        "StreamItemMessage_HasIntegerItem",
        StreamItemMessage("123", 1),
        '{"type":2,"invocationId":"123","item":1}',
    ),
    rt(
        "StreamItemMessage_HasStringItem",
        StreamItemMessage("123", "Foo"),
        '{"type":2,"invocationId":"123","item":"Foo"}',
    ),
    rt(
        "StreamItemMessage_HasBoolItem",
        StreamItemMessage("123", True),
        '{"type":2,"invocationId":"123","item":true}',
    ),
    rt(
        "StreamItemMessage_HasNullItem",
        StreamItemMessage("123", None),
        '{"type":2,"invocationId":"123","item":null}',
    ),
    rt(
        "CompletionMessage_HasErrorAndCamelCase",
        CompletionMessage.empty("123"),
        '{"type":3,"invocationId":"123"}',
    ),
    rt(
        "CompletionMessage_HasTestHeadersAndCustomItemResult",
        CompletionMessage.with_result("123", CAMEL_NULL, headers=TEST_HEADERS),
        f'{{"type":3,{HEADERS_JSON},"invocationId":"123","result":{CUSTOM_CAMEL_INCLUDE_NULL}}}',
        parsed=CompletionMessage.with_result("123", CAMEL_NULL_WIRE, headers=TEST_HEADERS),
    ),
    rt(
        "CompletionMessage_HasErrorAndHeadersAndCamelCase",
        CompletionMessage.empty("123", headers=TEST_HEADERS),
        f'{{"type":3,{HEADERS_JSON},"invocationId":"123"}}',
    ),
    rt(
        "CompletionMessage_HasIntegerResult",
        CompletionMessage.with_result("123", 1),
        '{"type":3,"invocationId":"123","result":1}',
    ),
    rt(
        "CompletionMessage_HasStringResult",
        CompletionMessage.with_result("123", "Foo"),
        '{"type":3,"invocationId":"123","result":"Foo"}',
    ),
    rt(
        "CompletionMessage_HasBoolResult",
        CompletionMessage.with_result("123", True),
        '{"type":3,"invocationId":"123","result":true}',
    ),
    rt(
        "CompletionMessage_HasNullResult",
        CompletionMessage.with_result("123", None),
        '{"type":3,"invocationId":"123","result":null}',
    ),
    rt(
        "CompletionMessage_HasError",
        CompletionMessage.with_error("123", "Whoops!"),
        '{"type":3,"invocationId":"123","error":"Whoops!"}',
    ),
    rt(
        "CompletionMessage_HasErrorAndHeaders",
        CompletionMessage.with_error("123", "Whoops!", headers=TEST_HEADERS),
        f'{{"type":3,{HEADERS_JSON},"invocationId":"123","error":"Whoops!"}}',
    ),
    rt(
        "StreamInvocationMessage_HasHeaders",
        StreamInvocationMessage("123", "Target", [CAMEL_NULL], headers=TEST_HEADERS),
        f'{{"type":4,{HEADERS_JSON},"invocationId":"123","target":"Target",'
        f'"arguments":[{CUSTOM_CAMEL_INCLUDE_NULL}]}}',
        parsed=StreamInvocationMessage("123", "Target", [CAMEL_NULL_WIRE], headers=TEST_HEADERS),
    ),
    rt(
        "StreamInvocationMessage_HasInvocationId",
        StreamInvocationMessage("123", "Target", [1, "Foo"]),
        '{"type":4,"invocationId":"123","target":"Target","arguments":[1,"Foo"]}',
    ),
    rt(
        "StreamInvocationMessage_HasBoolArgument",
        StreamInvocationMessage("123", "Target", [True]),
        '{"type":4,"invocationId":"123","target":"Target","arguments":[true]}',
    ),
    rt(
        "StreamInvocationMessage_HasNullArgument",
        StreamInvocationMessage("123", "Target", [None]),
        '{"type":4,"invocationId":"123","target":"Target","arguments":[null]}',
    ),
    rt(
        "StreamInvocationMessage_HasStreamArgument",
        StreamInvocationMessage("123", "Target", [], stream_ids=["__test_id__"]),
        '{"type":4,"invocationId":"123","target":"Target","arguments":[],"streamIds":["__test_id__"]}',
    ),
    rt(
        "CancelInvocationMessage_HasInvocationId",
        CancelInvocationMessage("123"),
        '{"type":5,"invocationId":"123"}',
    ),
    rt(
        "CancelInvocationMessage_HasHeaders",
        CancelInvocationMessage("123", headers=TEST_HEADERS),
        f'{{"type":5,{HEADERS_JSON},"invocationId":"123"}}',
    ),
    rt("PingMessage", PING, '{"type":6}'),
    rt("CloseMessage", CloseMessage(), '{"type":7}'),
    rt("CloseMessage_HasError", CloseMessage("Error!"), '{"type":7,"error":"Error!"}'),
    rt("CloseMessage_HasErrorEmptyString", CloseMessage(""), '{"type":7,"error":""}'),
    rt("CloseMessage_HasErrorWithCamelCase", CloseMessage("Error!"), '{"type":7,"error":"Error!"}'),
    rt(
        "CloseMessage_HasAllowReconnect",
        CloseMessage(None, allow_reconnect=True),
        '{"type":7,"allowReconnect":true}',
    ),
    rt(
        "CloseMessage_HasErrorAndAllowReconnect",
        CloseMessage("Error!", allow_reconnect=True),
        '{"type":7,"error":"Error!","allowReconnect":true}',
    ),
    # 2b: derived from the .NET writer.
    rt("AckMessage", AckMessage(42), '{"type":8,"sequenceId":42}'),
    rt("SequenceMessage", SequenceMessage(146), '{"type":9,"sequenceId":146}'),
]


@pytest.mark.parametrize(("message", "text", "parsed", "binder"), ROUND_TRIP)
def test_write_message_matches_vector(
    protocol: JsonHubProtocol, message: HubMessage, text: str, parsed: HubMessage, binder: TableBinder
) -> None:
    assert protocol.write_message(message) == text.encode("utf-8") + RS


@pytest.mark.parametrize(("message", "text", "parsed", "binder"), ROUND_TRIP)
def test_parse_message_matches_vector(
    protocol: JsonHubProtocol, message: HubMessage, text: str, parsed: HubMessage, binder: TableBinder
) -> None:
    assert protocol.parse_message(text.encode("utf-8"), binder) == parsed


# [STJ] float vectors: .NET writes the float 2.0f as ``2``. Python's json
# writes a float 2.0 as ``2.0`` (a different but equivalent JSON number), so
# the exact bytes are checked by writing the int 2, and parsing is checked
# with a binder that asks for ``float`` (the .NET parameter type).
FLOAT_BINDER = TableBinder(
    {"Target": [NO_TYPE, NO_TYPE, float]}, default_return=float, default_stream_item=float
)
STJ_FLOAT = [
    pytest.param(
        InvocationMessage("Target", [1, "Foo", 2]),
        '{"type":1,"target":"Target","arguments":[1,"Foo",2]}',
        InvocationMessage("Target", [1, "Foo", 2.0]),
        id="InvocationMessage_HasFloatArgument",
    ),
    pytest.param(
        InvocationMessage("Target", [1, "Foo", 2], "123", headers=TEST_HEADERS),
        f'{{"type":1,{HEADERS_JSON},"invocationId":"123","target":"Target","arguments":[1,"Foo",2]}}',
        InvocationMessage("Target", [1, "Foo", 2.0], "123", headers=TEST_HEADERS),
        id="InvocationMessage_HasHeaders",
    ),
    pytest.param(
        StreamItemMessage("123", 2),
        '{"type":2,"invocationId":"123","item":2}',
        StreamItemMessage("123", 2.0),
        id="StreamItemMessage_HasFloatItem",
    ),
    pytest.param(
        CompletionMessage.with_result("123", 2),
        '{"type":3,"invocationId":"123","result":2}',
        CompletionMessage.with_result("123", 2.0),
        id="CompletionMessage_HasFloatResult",
    ),
    pytest.param(
        StreamInvocationMessage("123", "Target", [1, "Foo", 2]),
        '{"type":4,"invocationId":"123","target":"Target","arguments":[1,"Foo",2]}',
        StreamInvocationMessage("123", "Target", [1, "Foo", 2.0]),
        id="StreamInvocationMessage_HasFloatArgument",
    ),
]


@pytest.mark.parametrize(("message", "text", "parsed"), STJ_FLOAT)
def test_stj_float_vector_write(
    protocol: JsonHubProtocol, message: HubMessage, text: str, parsed: HubMessage
) -> None:
    assert protocol.write_message(message) == text.encode("utf-8") + RS


@pytest.mark.parametrize(("message", "text", "parsed"), STJ_FLOAT)
def test_stj_float_vector_parse(
    protocol: JsonHubProtocol, message: HubMessage, text: str, parsed: HubMessage
) -> None:
    result = protocol.parse_message(text.encode("utf-8"), FLOAT_BINDER)
    assert result == parsed
    if isinstance(result, InvocationMessage | StreamInvocationMessage):
        value = result.arguments[2]
    elif isinstance(result, StreamItemMessage):
        value = result.item
    else:
        assert isinstance(result, CompletionMessage)
        value = result.result
    assert type(value) is float


# ---------------------------------------------------------------- 2c


OUT_OF_ORDER = [
    pytest.param(
        '{ "arguments": ["2016-05-10T13:51:20+12:34"], "type":1, "target": "Method" }',
        InvocationMessage("Method", ["2016-05-10T13:51:20+12:34"]),
        TableBinder({"Method": [NO_TYPE]}),
        id="InvocationMessage_StringIsoDateArgumentFirst",
    ),
    pytest.param(
        '{ "arguments": ["2016-05-10T13:51:20+12:34"], "type":1, "target": "Method" }',
        InvocationMessage("Method", [DATE_WITH_OFFSET]),
        TableBinder({"Method": [dt.datetime]}),
        id="InvocationMessage_DateTimeOffsetArgumentFirst",
    ),
    pytest.param(
        '{ "arguments": [1,2], "type":1, "target": "Method" }',
        InvocationMessage("Method", [1, 2]),
        TableBinder({"Method": [int, int]}),
        id="InvocationMessage_IntegerArrayArgumentFirst",
    ),
    pytest.param(
        '{ "type":4, "arguments": [1,2], "target": "Method", "invocationId": "3" }',
        StreamInvocationMessage("3", "Method", [1, 2]),
        TableBinder({"Method": [int, int]}),
        id="StreamInvocationMessage_IntegerArrayArgumentFirst",
    ),
    pytest.param(
        '{ "type":3, "result": 10, "invocationId": "15" }',
        CompletionMessage.with_result("15", 10),
        TableBinder(return_types={"15": int}),
        id="CompletionMessage_ResultFirst",
    ),
    pytest.param(
        '{ "item": "foo", "invocationId": "1a", "type":2 }',
        StreamItemMessage("1a", "foo"),
        TableBinder(stream_item_types={"1a": str}),
        id="StreamItemMessage_ItemFirst",
    ),
    # What the JS client really sends (type last), protocol-vectors.md section 6.
    pytest.param(
        '{"target":"Echo","arguments":["hi"],"invocationId":"0","type":1}',
        InvocationMessage("Echo", ["hi"], "0"),
        TableBinder({"Echo": [str]}),
        id="JsClientInvocation_TypeLast",
    ),
]


@pytest.mark.parametrize(("text", "expected", "binder"), OUT_OF_ORDER)
def test_parse_out_of_order_json(
    protocol: JsonHubProtocol, text: str, expected: HubMessage, binder: TableBinder
) -> None:
    assert protocol.parse_message(text.encode("utf-8"), binder) == expected


def test_extra_items_in_message_are_ignored(protocol: JsonHubProtocol) -> None:
    text = b'{"type":1,"invocationId":"42","target":"foo","arguments":[],"extraParameter":"1"}'
    assert protocol.parse_message(text, TableBinder({"foo": []})) == InvocationMessage("foo", [], "42")


@pytest.mark.parametrize(
    "text", [b'{"type":99}', b'{"type":10,"invocationId":"1"}'], ids=["type99", "type10"]
)
def test_unknown_message_type_is_ignored(protocol: JsonHubProtocol, text: bytes) -> None:
    assert protocol.parse_message(text, TableBinder()) is None


# ---------------------------------------------------------------- 2d

INT_THEN_STRING_HEADER = '{"type":1,"headers":{"Foo": %s},"target":"test",arguments:[]}'

INVALID = [
    pytest.param("null", "Unexpected JSON Token Type 'Null'. Expected a JSON Object.", id="null"),
    pytest.param('"foo"', "Unexpected JSON Token Type 'String'. Expected a JSON Object.", id="string"),
    pytest.param("[42]", "Unexpected JSON Token Type 'Array'. Expected a JSON Object.", id="array"),
    pytest.param("{}", "Missing required property 'type'.", id="empty_object"),
    pytest.param(
        INT_THEN_STRING_HEADER % "42", "Expected header 'Foo' to be of type String.", id="header_number"
    ),
    pytest.param(
        INT_THEN_STRING_HEADER % "true", "Expected header 'Foo' to be of type String.", id="header_true"
    ),
    pytest.param(
        INT_THEN_STRING_HEADER % "null", "Expected header 'Foo' to be of type String.", id="header_null"
    ),
    pytest.param(
        INT_THEN_STRING_HEADER % "[]", "Expected header 'Foo' to be of type String.", id="header_array"
    ),
    pytest.param('{"type":1}', "Missing required property 'target'.", id="invocation_no_target"),
    pytest.param(
        '{"type":1,"invocationId":42}',
        "Expected 'invocationId' to be of type String.",
        id="invocation_id_number",
    ),
    pytest.param(
        '{"type":1,"invocationId":"42"}', "Missing required property 'target'.", id="invocation_id_no_target"
    ),
    pytest.param(
        '{"type":1,"invocationId":"42","target":42}',
        "Expected 'target' to be of type String.",
        id="invocation_target_number",
    ),
    pytest.param(
        '{"type":1,"invocationId":"42","target":"foo"}',
        "Missing required property 'arguments'.",
        id="invocation_no_arguments",
    ),
    pytest.param(
        '{"type":1,"invocationId":"42","target":"foo","arguments":{}}',
        "Expected 'arguments' to be of type Array.",
        id="invocation_arguments_object",
    ),
    pytest.param('{"type":2}', "Missing required property 'invocationId'.", id="stream_item_no_id"),
    pytest.param(
        '{"type":2,"invocationId":42}',
        "Expected 'invocationId' to be of type String.",
        id="stream_item_id_number",
    ),
    pytest.param(
        '{"type":2,"invocationId":"42"}', "Missing required property 'item'.", id="stream_item_no_item"
    ),
    pytest.param('{"type":3}', "Missing required property 'invocationId'.", id="completion_no_id"),
    pytest.param(
        '{"type":3,"invocationId":42}',
        "Expected 'invocationId' to be of type String.",
        id="completion_id_number",
    ),
    pytest.param(
        '{"type":3,"invocationId":"42","error":[]}',
        "Expected 'error' to be of type String.",
        id="completion_error_array",
    ),
    pytest.param('{"type":4}', "Missing required property 'invocationId'.", id="stream_invocation_no_id"),
    pytest.param(
        '{"type":4,"invocationId":42}',
        "Expected 'invocationId' to be of type String.",
        id="stream_invocation_id_number",
    ),
    pytest.param(
        '{"type":4,"invocationId":"42","target":42}',
        "Expected 'target' to be of type String.",
        id="stream_invocation_target_number",
    ),
    pytest.param(
        '{"type":4,"invocationId":"42","target":"foo"}',
        "Missing required property 'arguments'.",
        id="stream_invocation_no_arguments",
    ),
    pytest.param(
        '{"type":4,"invocationId":"42","target":"foo","arguments":{}}',
        "Expected 'arguments' to be of type Array.",
        id="stream_invocation_arguments_object",
    ),
    pytest.param(
        '{"type":3,"invocationId":"42","error":"foo","result":true}',
        "The 'error' and 'result' properties are mutually exclusive.",
        id="completion_error_and_result",
    ),
    pytest.param("", "Error reading JSON.", id="stj_empty"),
    pytest.param("42", "Unexpected JSON Token Type 'Number'. Expected a JSON Object.", id="stj_number"),
    pytest.param('{"type":"foo"}', "Expected 'type' to be of type Number.", id="stj_type_string"),
    pytest.param(
        '{"type":3,"invocationId":"42","result":true', "Error reading JSON.", id="stj_unterminated_object"
    ),
    pytest.param(
        '{"type":8,"sequenceId":true}',
        "Expected 'sequenceId' to be of type Number.",
        id="stj_ack_sequence_id_bool",
    ),
    pytest.param(
        '{"type":9,"sequenceId":"value"}',
        "Expected 'sequenceId' to be of type Number.",
        id="stj_sequence_sequence_id_string",
    ),
    # "(source)" rows: from the JsonHubProtocol.cs reader.
    pytest.param('{"type":8}', "Missing required property 'sequenceId'.", id="ack_no_sequence_id"),
    pytest.param('{"type":9}', "Missing required property 'sequenceId'.", id="sequence_no_sequence_id"),
    pytest.param(
        '{"type":1,"target":"foo","arguments":[],"streamIds":{}}',
        "Expected 'streamIds' to be of type Array.",
        id="stream_ids_object",
    ),
    pytest.param(
        '{"type":1,"target":"foo","arguments":[],"streamIds":"x"}',
        "Expected 'streamIds' to be of type Array.",
        id="stream_ids_string",
    ),
    # .NET checks ``reader.TokenType != StartArray`` so null is rejected too.
    pytest.param(
        '{"type":1,"target":"foo","arguments":[],"streamIds":null}',
        "Expected 'streamIds' to be of type Array.",
        id="stream_ids_null",
    ),
    pytest.param(
        '{"type":1,"target":"foo","arguments":[],"streamIds":[null]}',
        "Null value for 'streamIds' is not valid.",
        id="stream_ids_null_element",
    ),
]


@pytest.mark.parametrize(("text", "error"), INVALID)
def test_invalid_messages(protocol: JsonHubProtocol, text: str, error: str) -> None:
    with pytest.raises(InvalidDataError, match=re.escape(error) + "$"):
        protocol.parse_message(text.encode("utf-8"), TableBinder(default_params=[]))


def test_invalid_json_in_arguments_is_a_read_error(protocol: JsonHubProtocol) -> None:
    text = b'{"type":1,"invocationId":"42","target":"foo","arguments":[[}]}'
    with pytest.raises(InvalidDataError, match=re.escape("Error reading JSON.") + "$"):
        protocol.parse_message(text, TableBinder({"foo": [list[int]]}))


# ---------------------------------------------------------------- 2e

COUNT_0 = "Invocation provides 0 argument(s) but target expects 2."
BINDING_FAILURES = [
    pytest.param(
        '{"type":1,"invocationId":"42","target":"foo","arguments":[]}',
        COUNT_0,
        False,
        id="invocation_no_args",
    ),
    pytest.param(
        '{"type":1,"arguments":[], "invocationId":"42","target":"foo"}',
        COUNT_0,
        False,
        id="invocation_no_args_arguments_first",
    ),
    pytest.param(
        '{"type":1,"invocationId":"42","target":"foo","arguments":[ "abc", "xyz"]}',
        BINDING_ERROR,
        False,
        id="invocation_wrong_types",
    ),
    pytest.param(
        '{"type":1,"invocationId":"42","arguments":[ "abc", "xyz"], "target":"foo"}',
        BINDING_ERROR,
        False,
        id="invocation_wrong_types_arguments_first",
    ),
    pytest.param(
        '{"type":4,"invocationId":"42","target":"foo","arguments":[]}',
        COUNT_0,
        True,
        id="stream_invocation_no_args",
    ),
    pytest.param(
        '{"type":4,"invocationId":"42","target":"foo","arguments":[ "abc", "xyz"]}',
        BINDING_ERROR,
        True,
        id="stream_invocation_wrong_types",
    ),
    pytest.param(
        '{"type":1,"invocationId":"42","target":"foo","arguments":[1,"",{"1":1,"2":2}]}',
        "Invocation provides 3 argument(s) but target expects 2.",
        False,
        id="invocation_too_many_args",
    ),
    pytest.param(
        '{"type":1,"invocationId":"42","target":"foo","arguments":[1,[1]]}',
        BINDING_ERROR,
        False,
        id="invocation_array_for_string",
    ),
    pytest.param(
        '{"type":1,"invocationId":"42","target":"foo","arguments":[1,[]]}',
        BINDING_ERROR,
        False,
        id="invocation_empty_array_for_string",
    ),
]


@pytest.mark.parametrize(("text", "error", "is_stream"), BINDING_FAILURES)
def test_argument_binding_errors(protocol: JsonHubProtocol, text: str, error: str, is_stream: bool) -> None:
    message = protocol.parse_message(text.encode("utf-8"), TableBinder({"foo": [int, str]}))
    assert isinstance(message, InvocationBindingFailureMessage)
    assert message.target == "foo"
    assert message.invocation_id == "42"
    assert message.is_stream is is_stream
    assert isinstance(message.error, InvalidDataError)
    assert str(message.error) == error


def test_read_to_end_of_argument_array_on_error(protocol: JsonHubProtocol) -> None:
    text = b'{"type":1,"invocationId":"42","target":"foo","arguments":[[],{"target":"foo2"}]}'
    message = protocol.parse_message(text, TableBinder({"foo": [str]}))
    assert isinstance(message, InvocationBindingFailureMessage)
    assert message.target == "foo"
    assert message.invocation_id == "42"


def test_unknown_method_is_a_binding_failure(protocol: JsonHubProtocol) -> None:
    text = b'{"type":1,"invocationId":"42","target":"missing","arguments":[]}'
    message = protocol.parse_message(text, TableBinder())
    assert isinstance(message, InvocationBindingFailureMessage)
    assert message.target == "missing"
    assert isinstance(message.error, HubException)
    assert str(message.error) == "Method does not exist."


# ---------------------------------------------------------------- 2f

SIZES = [
    pytest.param(InvocationMessage("Target", [1]), 45, id="Invocation_NoId"),
    pytest.param(InvocationMessage("Target", [1], "1"), 64, id="Invocation_WithId"),
    pytest.param(InvocationMessage("Target", [1], "1", ["2"]), 82, id="Invocation_WithIdAndStreamIds"),
    pytest.param(CloseMessage(), 11, id="Close_Empty"),
    pytest.param(CloseMessage("error"), 27, id="Close_WithError"),
    pytest.param(StreamItemMessage("1", None), 42, id="StreamItem_Null"),
    pytest.param(StreamItemMessage("1", 1), 39, id="StreamItem_Int"),
    pytest.param(CompletionMessage.empty("1"), 30, id="Completion_Empty"),
    pytest.param(CompletionMessage.with_result("1", 1), 41, id="Completion_WithResult"),
    pytest.param(CompletionMessage.with_error("1", "error"), 46, id="Completion_WithError"),
    pytest.param(StreamInvocationMessage("1", "target", []), 63, id="StreamInvocation"),
    pytest.param(StreamInvocationMessage("1", "target", [], ["2"]), 81, id="StreamInvocation_WithStreamId"),
    pytest.param(CancelInvocationMessage("1"), 30, id="CancelInvocation"),
    pytest.param(PING, 11, id="Ping"),
]


@pytest.mark.parametrize(("message", "size"), SIZES)
def test_message_size(protocol: JsonHubProtocol, message: HubMessage, size: int) -> None:
    assert len(protocol.write_message(message)) == size


# ------------------------------------------------- payload objects binding


def _custom_object_messages(payload: str, cls: type, expected: Any) -> list[Any]:
    """(wire text, binder, expected message) for each message kind carrying ``payload``."""
    return [
        (
            f'{{"type":1,"target":"Target","arguments":[{payload}]}}',
            TableBinder({"Target": [cls]}),
            InvocationMessage("Target", [expected]),
        ),
        (
            f'{{"type":4,"invocationId":"1","target":"T","arguments":[{payload}]}}',
            TableBinder({"T": [cls]}),
            StreamInvocationMessage("1", "T", [expected]),
        ),
        (
            f'{{"type":2,"invocationId":"123","item":{payload}}}',
            TableBinder(stream_item_types={"123": cls}),
            StreamItemMessage("123", expected),
        ),
        (
            f'{{"type":3,"invocationId":"123","result":{payload}}}',
            TableBinder(return_types={"123": cls}),
            CompletionMessage.with_result("123", expected),
        ),
    ]


@pytest.mark.parametrize(
    "kind", [0, 1, 2, 3], ids=["Invocation", "StreamInvocation", "StreamItem", "Completion"]
)
@pytest.mark.parametrize("cls", [CustomObject, CustomObjectDC], ids=["attrs", "dataclass"])
@pytest.mark.parametrize(
    ("camel", "include_null"),
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["PascalIgnoreNull", "camelIgnoreNull", "PascalIncludeNull", "camelIncludeNull"],
)
def test_custom_object_binds_to_class(
    protocol: JsonHubProtocol, kind: int, cls: type, camel: bool, include_null: bool
) -> None:
    """The CustomObject vectors' payloads bind to snake_case attrs/dataclass
    types from PascalCase or camelCase maps, with base64 bytes and ISO dates."""
    expected = cls("SignalR!", 6.2831853071, 42, CUSTOM_DATETIME, CUSTOM_BYTES, None)
    text, binder, message = _custom_object_messages(CUSTOM_JSON[(camel, include_null)], cls, expected)[kind]
    assert protocol.parse_message(text.encode("utf-8"), binder) == message


def test_bound_custom_object_field_types(protocol: JsonHubProtocol) -> None:
    text = f'{{"type":1,"target":"Target","arguments":[{CUSTOM_CAMEL_INCLUDE_NULL}]}}'.encode()
    message = protocol.parse_message(text, TableBinder({"Target": [CustomObject]}))
    assert isinstance(message, InvocationMessage)
    (obj,) = message.arguments
    assert obj == EXPECTED_CUSTOM_OBJECT
    assert type(obj.byte_arr_prop) is bytes
    assert obj.date_time_prop.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("cls", [CustomObject, CustomObjectDC], ids=["attrs", "dataclass"])
def test_class_instance_is_written_as_map(protocol: JsonHubProtocol, cls: type) -> None:
    obj = cls("SignalR!", 6.2831853071, 42, CUSTOM_DATETIME, CUSTOM_BYTES, None)
    written = protocol.write_message(CompletionMessage.with_result("1", obj))
    parsed = protocol.parse_message(written[:-1], TableBinder(return_types={"1": cls}))
    assert parsed == CompletionMessage.with_result("1", obj)
