"""MessagePack hub protocol against the ASP.NET Core vectors
(protocol-vectors.md section 3: BaseTestData, TestData, spec examples, 3b-3g).

Bodies in the tables are UNFRAMED, as in the .NET tests; ``frame`` (an
independent varint writer in protocol_support) adds the length prefix."""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any

import pytest
from protocol_support import (
    CUSTOM_BYTES,
    CUSTOM_DATETIME,
    TEST_HEADERS,
    CustomObject,
    CustomObjectDC,
    TableBinder,
    TestEnum,
    binder_for,
    custom_object,
    frame,
)

from pysignalr_server.errors import InvalidDataError
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
    MessagePackHubProtocol,
    SequenceMessage,
    StreamInvocationMessage,
    StreamItemMessage,
)

BINDING_ERROR = (
    "Error binding arguments. Make sure that the types of the provided values "
    "match the types of the hub method being invoked."
)
# The .NET CustomObject, written by MessagePack-CSharp's contractless resolver
# as a map keyed by the PascalCase property names (NullProp included).
CUSTOM = custom_object(camel=False, include_null=True)


@pytest.fixture
def protocol() -> MessagePackHubProtocol:
    return MessagePackHubProtocol()


def b64(name: str, message: HubMessage, encoded: str, binder: TableBinder | None = None) -> Any:
    return pytest.param(message, base64.b64decode(encoded), binder or binder_for(message), id=name)


def hx(name: str, message: HubMessage, hex_body: str, binder: TableBinder | None = None) -> Any:
    return pytest.param(message, bytes.fromhex(hex_body), binder or binder_for(message), id=name)


# ------------------------------------------------ BaseTestData (round trip)

BASE_TEST_DATA = [
    b64(
        "InvocationWithNoHeadersAndNoArgs", InvocationMessage("method", [], "xyz"), "lgGAo3h5eqZtZXRob2SQkA=="
    ),
    b64("InvocationWithNoHeadersNoIdAndNoArgs", InvocationMessage("method", []), "lgGAwKZtZXRob2SQkA=="),
    b64(
        "InvocationWithNoHeadersNoIdAndSingleIntArg",
        InvocationMessage("method", [42]),
        "lgGAwKZtZXRob2SRKpA=",
    ),
    b64(
        "InvocationWithNoHeadersNoIdIntAndStringArgs",
        InvocationMessage("method", [42, "string"]),
        "lgGAwKZtZXRob2SSKqZzdHJpbmeQ",
    ),
    b64(
        "InvocationWithStreamArgument",
        InvocationMessage("Target", [], stream_ids=["__test_id__"]),
        "lgGAwKZUYXJnZXSQkatfX3Rlc3RfaWRfXw==",
    ),
    b64(
        "InvocationWithStreamAndNormalArgument",
        InvocationMessage("Target", [42], stream_ids=["__test_id__"]),
        "lgGAwKZUYXJnZXSRKpGrX190ZXN0X2lkX18=",
    ),
    b64(
        "InvocationWithMultipleStreams",
        InvocationMessage("Target", [], stream_ids=["__test_id__", "__test_id2__"]),
        "lgGAwKZUYXJnZXSQkqtfX3Rlc3RfaWRfX6xfX3Rlc3RfaWQyX18=",
    ),
    b64("StreamItemWithNoHeadersAndIntItem", StreamItemMessage("xyz", 42), "lAKAo3h5eio="),
    b64("StreamItemWithNoHeadersAndStringItem", StreamItemMessage("xyz", "string"), "lAKAo3h5eqZzdHJpbmc="),
    b64("StreamItemWithNoHeadersAndBoolItem", StreamItemMessage("xyz", True), "lAKAo3h5esM="),
    b64(
        "CompletionWithNoHeadersAndError",
        CompletionMessage.with_error("xyz", "Error not found!"),
        "lQOAo3h5egGwRXJyb3Igbm90IGZvdW5kIQ==",
    ),
    b64(
        "CompletionWithHeadersAndError",
        CompletionMessage.with_error("xyz", "Error not found!", headers=TEST_HEADERS),
        "lQODo0Zvb6NCYXKyS2V5V2l0aApOZXcNCkxpbmVzq1N0aWxsIFdvcmtzsVZhbHVlV2l0aE5ld0xpbmVzsEFsc28KV29ya3MNCkZp"
        "bmWjeHl6AbBFcnJvciBub3QgZm91bmQh",
    ),
    b64("CompletionWithNoHeadersAndNoResult", CompletionMessage.empty("xyz"), "lAOAo3h5egI="),
    b64(
        "CompletionWithHeadersAndNoResult",
        CompletionMessage.empty("xyz", headers=TEST_HEADERS),
        "lAODo0Zvb6NCYXKyS2V5V2l0aApOZXcNCkxpbmVzq1N0aWxsIFdvcmtzsVZhbHVlV2l0aE5ld0xpbmVzsEFsc28KV29ya3MNCkZp"
        "bmWjeHl6Ag==",
    ),
    b64("CompletionWithNoHeadersAndIntResult", CompletionMessage.with_result("xyz", 42), "lQOAo3h5egMq"),
    b64(
        "CompletionWithNoHeadersAndStringResult",
        CompletionMessage.with_result("xyz", "string"),
        "lQOAo3h5egOmc3RyaW5n",
    ),
    b64(
        "CompletionWithNoHeadersAndBooleanResult", CompletionMessage.with_result("xyz", True), "lQOAo3h5egPD"
    ),
    b64(
        "StreamInvocationWithNoHeadersAndNoArgs",
        StreamInvocationMessage("xyz", "method", []),
        "lgSAo3h5eqZtZXRob2SQkA==",
    ),
    b64(
        "StreamInvocationWithNoHeadersAndIntArg",
        StreamInvocationMessage("xyz", "method", [42]),
        "lgSAo3h5eqZtZXRob2SRKpA=",
    ),
    b64(
        "StreamInvocationWithStreamArgument",
        StreamInvocationMessage("xyz", "method", [], stream_ids=["__test_id__"]),
        "lgSAo3h5eqZtZXRob2SQkatfX3Rlc3RfaWRfXw==",
    ),
    b64(
        "StreamInvocationWithStreamAndNormalArgument",
        StreamInvocationMessage("xyz", "method", [42], stream_ids=["__test_id__"]),
        "lgSAo3h5eqZtZXRob2SRKpGrX190ZXN0X2lkX18=",
    ),
    b64(
        "StreamInvocationWithNoHeadersAndIntAndStringArgs",
        StreamInvocationMessage("xyz", "method", [42, "string"]),
        "lgSAo3h5eqZtZXRob2SSKqZzdHJpbmeQ",
    ),
    b64("CancelInvocationWithNoHeaders", CancelInvocationMessage("xyz"), "kwWAo3h5eg=="),
    b64(
        "CancelInvocationWithHeaders",
        CancelInvocationMessage("xyz", headers=TEST_HEADERS),
        "kwWDo0Zvb6NCYXKyS2V5V2l0aApOZXcNCkxpbmVzq1N0aWxsIFdvcmtzsVZhbHVlV2l0aE5ld0xpbmVzsEFsc28KV29ya3MNCkZp"
        "bmWjeHl6",
    ),
    b64("Ping", PING, "kQY="),
    b64("CloseMessage", CloseMessage(), "kwfAwg=="),
    b64("CloseMessage_HasError", CloseMessage("Error!"), "kwemRXJyb3Ihwg=="),
    b64("CloseMessage_HasAllowReconnect", CloseMessage(None, allow_reconnect=True), "kwfAww=="),
    b64(
        "CloseMessage_HasErrorAndAllowReconnect",
        CloseMessage("Error!", allow_reconnect=True),
        "kwemRXJyb3Ihww==",
    ),
    b64("AckMessage", AckMessage(42), "kggq"),
    b64("SequenceMessage", SequenceMessage(146), "kgnMkg=="),
]

# ------------------------------------------------- TestData (round trip)

CUSTOM_OBJECT_ARRAY_RESULT = (
    "lQOAo3h5egOShqpTdHJpbmdQcm9wqFNpZ25hbFIhqkRvdWJsZVByb3DLQBkh+1RCzxKnSW50UHJvcCqsRGF0ZVRpbWVQcm9w1v9Y7ByA"
    "qE51bGxQcm9wwKtCeXRlQXJyUHJvcMQDAQIDhqpTdHJpbmdQcm9wqFNpZ25hbFIhqkRvdWJsZVByb3DLQBkh+1RCzxKnSW50UHJvcCqs"
    "RGF0ZVRpbWVQcm9w1v9Y7ByAqE51bGxQcm9wwKtCeXRlQXJyUHJvcMQDAQID"
)
TEST_DATA = [
    b64("CompletionWithNoHeadersAndNullResult", CompletionMessage.with_result("xyz", None), "lQOAo3h5egPA"),
    b64(
        "CompletionWithNoHeadersAndCustomObjectResult",
        CompletionMessage.with_result("xyz", CUSTOM),
        "lQOAo3h5egOGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELPEqdJbnRQcm9wKqxEYXRlVGltZVByb3DW/1js"
        "HICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgM=",
    ),
    # Enum vectors, with the member already turned into its name: see also
    # test_enum_member_is_written_as_its_name below.
    b64(
        "CompletionWithNoHeadersAndEnumResult",
        CompletionMessage.with_result("xyz", "One"),
        "lQOAo3h5egOjT25l",
    ),
    b64(
        "InvocationWithNoHeadersNoIdAndSingleNullArg",
        InvocationMessage("method", [None]),
        "lgGAwKZtZXRob2SRwJA=",
    ),
    b64(
        "InvocationWithNoHeadersNoIdIntAndEnumArgs",
        InvocationMessage("method", [42, "One"]),
        "lgGAwKZtZXRob2SSKqNPbmWQ",
    ),
    b64(
        "InvocationWithNoHeadersNoIdAndCustomObjectArg",
        InvocationMessage("method", [42, "string", CUSTOM]),
        "lgGAwKZtZXRob2STKqZzdHJpbmeGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELPEqdJbnRQcm9wKqxEYXRl"
        "VGltZVByb3DW/1jsHICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgOQ",
    ),
    b64("StreamItemWithNoHeadersAndNullItem", StreamItemMessage("xyz", None), "lAKAo3h5esA="),
    b64("StreamItemWithNoHeadersAndEnumItem", StreamItemMessage("xyz", "One"), "lAKAo3h5eqNPbmU="),
    b64(
        "StreamItemWithNoHeadersAndCustomObjectItem",
        StreamItemMessage("xyz", CUSTOM),
        "lAKAo3h5eoaqU3RyaW5nUHJvcKhTaWduYWxSIapEb3VibGVQcm9wy0AZIftUQs8Sp0ludFByb3AqrERhdGVUaW1lUHJvcNb/WOwc"
        "gKhOdWxsUHJvcMCrQnl0ZUFyclByb3DEAwECAw==",
    ),
    b64(
        "StreamInvocationWithNoHeadersAndEnumArg",
        StreamInvocationMessage("xyz", "method", ["One"]),
        "lgSAo3h5eqZtZXRob2SRo09uZZA=",
    ),
    b64(
        "StreamInvocationWithNoHeadersAndNullArg",
        StreamInvocationMessage("xyz", "method", [None]),
        "lgSAo3h5eqZtZXRob2SRwJA=",
    ),
    b64(
        "CompletionWithNoHeadersAndCustomObjectArrayResult",
        CompletionMessage.with_result("xyz", [CUSTOM, CUSTOM]),
        CUSTOM_OBJECT_ARRAY_RESULT,
    ),
    b64(
        "CompletionWithHeadersAndCustomObjectArrayResult",
        CompletionMessage.with_result("xyz", [CUSTOM, CUSTOM], headers=TEST_HEADERS),
        "lQODo0Zvb6NCYXKyS2V5V2l0aApOZXcNCkxpbmVzq1N0aWxsIFdvcmtzsVZhbHVlV2l0aE5ld0xpbmVzsEFsc28KV29ya3MNCkZp"
        "bmWjeHl6A5KGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELPEqdJbnRQcm9wKqxEYXRlVGltZVByb3DW/1js"
        "HICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgOGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELPEqdJbnRQ"
        "cm9wKqxEYXRlVGltZVByb3DW/1jsHICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgM=",
    ),
    b64(
        "InvocationWithNoHeadersNoIdAndArrayOfCustomObjectArgs",
        InvocationMessage("method", [CUSTOM, CUSTOM]),
        "lgGAwKZtZXRob2SShqpTdHJpbmdQcm9wqFNpZ25hbFIhqkRvdWJsZVByb3DLQBkh+1RCzxKnSW50UHJvcCqsRGF0ZVRpbWVQcm9w"
        "1v9Y7ByAqE51bGxQcm9wwKtCeXRlQXJyUHJvcMQDAQIDhqpTdHJpbmdQcm9wqFNpZ25hbFIhqkRvdWJsZVByb3DLQBkh+1RCzxKn"
        "SW50UHJvcCqsRGF0ZVRpbWVQcm9w1v9Y7ByAqE51bGxQcm9wwKtCeXRlQXJyUHJvcMQDAQIDkA==",
    ),
    b64(
        "InvocationWithHeadersNoIdAndArrayOfCustomObjectArgs",
        InvocationMessage("method", [CUSTOM, CUSTOM], headers=TEST_HEADERS),
        "lgGDo0Zvb6NCYXKyS2V5V2l0aApOZXcNCkxpbmVzq1N0aWxsIFdvcmtzsVZhbHVlV2l0aE5ld0xpbmVzsEFsc28KV29ya3MNCkZp"
        "bmXApm1ldGhvZJKGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELPEqdJbnRQcm9wKqxEYXRlVGltZVByb3DW"
        "/1jsHICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgOGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELPEqdJ"
        "bnRQcm9wKqxEYXRlVGltZVByb3DW/1jsHICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgOQ",
    ),
    b64(
        "StreamItemWithNoHeadersAndCustomObjectArrayItem",
        StreamItemMessage("xyz", [CUSTOM, CUSTOM]),
        "lAKAo3h5epKGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELPEqdJbnRQcm9wKqxEYXRlVGltZVByb3DW/1js"
        "HICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgOGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELPEqdJbnRQ"
        "cm9wKqxEYXRlVGltZVByb3DW/1jsHICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgM=",
    ),
    b64(
        "StreamItemWithHeadersAndCustomObjectArrayItem",
        StreamItemMessage("xyz", [CUSTOM, CUSTOM], headers=TEST_HEADERS),
        "lAKDo0Zvb6NCYXKyS2V5V2l0aApOZXcNCkxpbmVzq1N0aWxsIFdvcmtzsVZhbHVlV2l0aE5ld0xpbmVzsEFsc28KV29ya3MNCkZp"
        "bmWjeHl6koaqU3RyaW5nUHJvcKhTaWduYWxSIapEb3VibGVQcm9wy0AZIftUQs8Sp0ludFByb3AqrERhdGVUaW1lUHJvcNb/WOwc"
        "gKhOdWxsUHJvcMCrQnl0ZUFyclByb3DEAwECA4aqU3RyaW5nUHJvcKhTaWduYWxSIapEb3VibGVQcm9wy0AZIftUQs8Sp0ludFBy"
        "b3AqrERhdGVUaW1lUHJvcNb/WOwcgKhOdWxsUHJvcMCrQnl0ZUFyclByb3DEAwECAw==",
    ),
    b64(
        "StreamInvocationWithNoHeadersAndIntStringAndCustomObjectArgs",
        StreamInvocationMessage("xyz", "method", [42, "string", CUSTOM]),
        "lgSAo3h5eqZtZXRob2STKqZzdHJpbmeGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELPEqdJbnRQcm9wKqxE"
        "YXRlVGltZVByb3DW/1jsHICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgOQ",
    ),
    b64(
        "StreamInvocationWithNoHeadersAndCustomObjectArrayArg",
        StreamInvocationMessage("xyz", "method", [CUSTOM, CUSTOM]),
        "lgSAo3h5eqZtZXRob2SShqpTdHJpbmdQcm9wqFNpZ25hbFIhqkRvdWJsZVByb3DLQBkh+1RCzxKnSW50UHJvcCqsRGF0ZVRpbWVQ"
        "cm9w1v9Y7ByAqE51bGxQcm9wwKtCeXRlQXJyUHJvcMQDAQIDhqpTdHJpbmdQcm9wqFNpZ25hbFIhqkRvdWJsZVByb3DLQBkh+1RC"
        "zxKnSW50UHJvcCqsRGF0ZVRpbWVQcm9w1v9Y7ByAqE51bGxQcm9wwKtCeXRlQXJyUHJvcMQDAQIDkA==",
    ),
    b64(
        "StreamInvocationWithHeadersAndCustomObjectArrayArg",
        StreamInvocationMessage("xyz", "method", [CUSTOM, CUSTOM], headers=TEST_HEADERS),
        "lgSDo0Zvb6NCYXKyS2V5V2l0aApOZXcNCkxpbmVzq1N0aWxsIFdvcmtzsVZhbHVlV2l0aE5ld0xpbmVzsEFsc28KV29ya3MNCkZp"
        "bmWjeHl6pm1ldGhvZJKGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELPEqdJbnRQcm9wKqxEYXRlVGltZVBy"
        "b3DW/1jsHICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgOGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELP"
        "EqdJbnRQcm9wKqxEYXRlVGltZVByb3DW/1jsHICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgOQ",
    ),
]

# ------------------------------------ HubProtocol.md examples (round trip)

SPEC_EXAMPLES = [
    hx(
        "Spec_Invocation",
        InvocationMessage("method", [42], "xyz"),
        "96 01 80 a3 78 79 7a a6 6d 65 74 68 6f 64 91 2a 90",
    ),
    hx(
        "Spec_NonBlockingInvocation",
        InvocationMessage("method", [42]),
        "96 01 80 c0 a6 6d 65 74 68 6f 64 91 2a 90",
    ),
    hx(
        "Spec_StreamInvocation",
        StreamInvocationMessage("xyz", "method", [42]),
        "96 04 80 a3 78 79 7a a6 6d 65 74 68 6f 64 91 2a 90",
    ),
    hx("Spec_StreamItem", StreamItemMessage("xyz", 42), "94 02 80 a3 78 79 7a 2a"),
    hx(
        "Spec_CompletionError",
        CompletionMessage.with_error("xyz", "Error"),
        "95 03 80 a3 78 79 7a 01 a5 45 72 72 6f 72",
    ),
    hx("Spec_CompletionVoid", CompletionMessage.empty("xyz"), "94 03 80 a3 78 79 7a 02"),
    hx("Spec_CompletionNonVoid", CompletionMessage.with_result("xyz", 42), "95 03 80 a3 78 79 7a 03 2a"),
    hx("Spec_CancelInvocation", CancelInvocationMessage("xyz"), "93 05 80 a3 78 79 7a"),
    hx("Spec_Ping", PING, "91 06"),
    hx("Spec_CloseWithAllowReconnect", CloseMessage("xyz", allow_reconnect=True), "93 07 a3 78 79 7a c3"),
    hx(
        "Spec_InvocationWithHeaders",
        InvocationMessage("method", [42], "xyz", headers={"x": "y", "z": "z"}),
        "96 01 82 a1 78 a1 79 a1 7a a1 7a a3 78 79 7a a6 6d 65 74 68 6f 64 91 2a 90",
    ),
]

ROUND_TRIP = BASE_TEST_DATA + TEST_DATA + SPEC_EXAMPLES


@pytest.mark.parametrize(("message", "body", "binder"), ROUND_TRIP)
def test_write_message_matches_vector(
    protocol: MessagePackHubProtocol, message: HubMessage, body: bytes, binder: TableBinder
) -> None:
    assert protocol.write_message(message) == frame(body)


@pytest.mark.parametrize(("message", "body", "binder"), ROUND_TRIP)
def test_parse_message_matches_vector(
    protocol: MessagePackHubProtocol, message: HubMessage, body: bytes, binder: TableBinder
) -> None:
    assert protocol.parse_message(body, binder) == message


# -------------------------------------------------------- parse-only vectors

# The float32 vectors (``ca 42 28 00 00``, 42.0f in .NET) cannot be written
# byte for byte: Python has no float32 and msgpack packs a float as float64
# (``cb ...``). Both encodings are valid MessagePack for the same value, so
# only parsing is checked. The other rows are spec examples whose encoding
# Python's packer chooses differently (2-element Close; ``cc 24`` where a
# fixint suffices) or that have no equivalent in the writer.
PARSE_ONLY = [
    hx(
        "StreamItemWithNoHeadersAndFloatItem",
        StreamItemMessage("xyz", 42.0),
        "94 02 80 a3 78 79 7a ca 42 28 00 00",
    ),
    hx(
        "CompletionWithNoHeadersAndFloatResult",
        CompletionMessage.with_result("xyz", 42.0),
        "95 03 80 a3 78 79 7a 03 ca 42 28 00 00",
    ),
    hx("Spec_CloseTwoElements", CloseMessage("xyz"), "92 07 a3 78 79 7a"),
    hx("Spec_CloseJsClient", CloseMessage(), "92 07 c0"),
    hx("Spec_Ack", AckMessage(36), "92 08 cc 24"),
    hx("Spec_Sequence", SequenceMessage(19), "92 09 cc 13"),
    # The JS client writes 5-element invocations when there are no streams.
    hx(
        "JsClient_FiveElementInvocation",
        InvocationMessage("method", [42], "xyz"),
        "95 01 80 a3 78 79 7a a6 6d 65 74 68 6f 64 91 2a",
    ),
    hx(
        "JsClient_FiveElementStreamInvocation",
        StreamInvocationMessage("xyz", "method", [42]),
        "95 04 80 a3 78 79 7a a6 6d 65 74 68 6f 64 91 2a",
    ),
]


@pytest.mark.parametrize(("message", "body", "binder"), PARSE_ONLY)
def test_parse_only_vectors(
    protocol: MessagePackHubProtocol, message: HubMessage, body: bytes, binder: TableBinder
) -> None:
    assert protocol.parse_message(body, binder) == message


def test_float32_parses_as_float(protocol: MessagePackHubProtocol) -> None:
    message = protocol.parse_message(bytes.fromhex("94 02 80 a3 78 79 7a ca 42 28 00 00"), TableBinder())
    assert isinstance(message, StreamItemMessage)
    assert type(message.item) is float


# ------------------------------------------------------------------ enums

ENUM_VECTORS = [
    b64(
        "CompletionWithNoHeadersAndEnumResult",
        CompletionMessage.with_result("xyz", TestEnum.One),
        "lQOAo3h5egOjT25l",
    ),
    b64(
        "InvocationWithNoHeadersNoIdIntAndEnumArgs",
        InvocationMessage("method", [42, TestEnum.One]),
        "lgGAwKZtZXRob2SSKqNPbmWQ",
        TableBinder({"method": [int, TestEnum]}),
    ),
    b64("StreamItemWithNoHeadersAndEnumItem", StreamItemMessage("xyz", TestEnum.One), "lAKAo3h5eqNPbmU="),
    b64(
        "StreamInvocationWithNoHeadersAndEnumArg",
        StreamInvocationMessage("xyz", "method", [TestEnum.One]),
        "lgSAo3h5eqZtZXRob2SRo09uZZA=",
        TableBinder({"method": [TestEnum]}),
    ),
]


@pytest.mark.parametrize(("message", "body", "binder"), ENUM_VECTORS)
def test_enum_member_is_written_as_its_name(
    protocol: MessagePackHubProtocol, message: HubMessage, body: bytes, binder: TableBinder
) -> None:
    """.NET's SignalR resolver writes enums as their NAME (``a3 4f 6e 65`` =
    "One" for ``TestEnum.One``, whose value is 1)."""
    assert protocol.write_message(message) == frame(body)


@pytest.mark.parametrize(("message", "body", "binder"), ENUM_VECTORS)
def test_enum_name_binds_to_enum_type(
    protocol: MessagePackHubProtocol, message: HubMessage, body: bytes, binder: TableBinder
) -> None:
    binder = TableBinder(binder.params, default_return=TestEnum, default_stream_item=TestEnum)
    assert protocol.parse_message(body, binder) == message


# ---------------------------------------------------------------- 3b / 3c


def test_parse_message_with_extra_data(protocol: MessagePackHubProtocol) -> None:
    body = bytes.fromhex("98 01 80 a3 78 79 7a a6 6d 65 74 68 6f 64 90 90 c3 a2 65 78")
    assert protocol.parse_message(body, TableBinder({"method": []})) == InvocationMessage("method", [], "xyz")


def test_parser_does_not_consume_partial_data(protocol: MessagePackHubProtocol) -> None:
    result = protocol.split(b"\x05\x01", None)
    assert result.records == []
    assert result.rest == b"\x05\x01"
    assert result.error is None


@pytest.mark.parametrize("body", ["91 63", "92 0a 80"], ids=["type99", "type10"])
def test_unknown_message_type_is_ignored(protocol: MessagePackHubProtocol, body: str) -> None:
    assert protocol.parse_message(bytes.fromhex(body), TableBinder()) is None


# --------------------------------------------------------------------- 3d

INVALID = [
    pytest.param("91 a3 66 6f 6f", "Reading 'messageType' as Int32 failed.", id="MessageTypeString"),
    pytest.param("92 01 a3 66 6f 6f", "Reading map length for 'headers' failed.", id="HeadersNotAMap"),
    pytest.param("92 01 82 2a a3 66 6f 6f", "Reading 'headers[0].Key' as String failed.", id="HeaderKeyInt"),
    pytest.param(
        "92 01 82 a3 66 6f 6f 2a", "Reading 'headers[0].Value' as String failed.", id="HeaderValueInt"
    ),
    pytest.param(
        "92 01 84 a3 66 6f 6f a3 66 6f 6f 90 a3 66 6f 6f",
        "Reading 'headers[1].Key' as String failed.",
        id="HeaderKeyArray",
    ),
    pytest.param(
        "92 01 84 a3 66 6f 6f a3 66 6f 6f a3 66 6f 6f 90",
        "Reading 'headers[1].Value' as String failed.",
        id="HeaderValueArray",
    ),
    pytest.param("92 01 82 a0 a3 66 6f 6f", "Null or empty key in header.", id="HeaderKeyEmptyString"),
    pytest.param("92 01 82 a3 66 6f 6f a0", "Null or empty value in header.", id="HeaderValueEmptyString"),
    pytest.param("92 01 80", "Reading 'invocationId' as String failed.", id="InvocationMissingId"),
    pytest.param("91 01 80 c2", "Reading 'invocationId' as String failed.", id="InvocationIdBoolean"),
    pytest.param("93 01 80 a3 61 62 63", "Reading 'target' as String failed.", id="InvocationTargetMissing"),
    pytest.param("94 01 80 a3 61 62 63 2a", "Reading 'target' as String failed.", id="InvocationTargetInt"),
    pytest.param(
        "94 01 80 a3 61 62 63 a0",
        "Null or empty target for Invocation message.",
        id="InvocationTargetEmptyString",
    ),
    pytest.param(
        "96 01 80 a3 61 62 63 a1 54 91 a0 91 a0",
        "Null or empty value in streamIds received.",
        id="InvocationEmptyStringStreamId",
    ),
    pytest.param("92 04 80", "Reading 'invocationId' as String failed.", id="StreamInvocationMissingId"),
    pytest.param(
        "93 04 80 a0",
        "Null or empty invocation ID for StreamInvocation message.",
        id="StreamInvocationEmptyStringId",
    ),
    pytest.param("93 04 80 c2", "Reading 'invocationId' as String failed.", id="StreamInvocationIdBoolean"),
    pytest.param(
        "93 04 80 a3 61 62 63", "Reading 'target' as String failed.", id="StreamInvocationTargetMissing"
    ),
    pytest.param(
        "94 04 80 a3 61 62 63 2a", "Reading 'target' as String failed.", id="StreamInvocationTargetInt"
    ),
    pytest.param(
        "94 04 80 a3 61 62 63 a0",
        "Null or empty target for StreamInvocation message.",
        id="StreamInvocationTargetEmptyString",
    ),
    pytest.param("92 02 80", "Reading 'invocationId' as String failed.", id="StreamItemMissingId"),
    pytest.param(
        "93 02 80 a0", "Null or empty invocation ID for StreamItem message.", id="StreamItemEmptyStringId"
    ),
    pytest.param(
        "93 02 80 c2", "Reading 'invocationId' as String failed.", id="StreamItemInvocationIdBoolean"
    ),
    pytest.param("92 03 80", "Reading 'invocationId' as String failed.", id="CompletionMissingId"),
    pytest.param(
        "93 03 80 a0", "Null or empty invocation ID for Completion message.", id="CompletionEmptyStringId"
    ),
    pytest.param("93 03 80 c2", "Reading 'invocationId' as String failed.", id="CompletionIdBoolean"),
    pytest.param(
        "94 03 80 a3 78 79 7a a3 78 79 7a",
        "Reading 'resultKind' as Int32 failed.",
        id="CompletionResultKindString",
    ),
    pytest.param(
        "94 03 80 a3 78 79 7a 2a", "Invalid invocation result kind.", id="CompletionResultKindOutOfRange"
    ),
    pytest.param("94 03 80 a3 78 79 7a 01", "Reading 'error' as String failed.", id="CompletionErrorMissing"),
    pytest.param("95 03 80 a3 78 79 7a 01 2a", "Reading 'error' as String failed.", id="CompletionErrorInt"),
    pytest.param("92 05 80", "Reading 'invocationId' as String failed.", id="CancelInvocationMissingId"),
    pytest.param(
        "93 05 80 a0",
        "Null or empty invocation ID for CancelInvocation message.",
        id="CancelInvocationEmptyStringId",
    ),
    pytest.param("91 08", "Reading 'sequenceId' as Int64 failed.", id="AckSequenceIdMissing"),
    pytest.param("91 08 c0", "Reading 'sequenceId' as Int64 failed.", id="AckSequenceIdNull"),
    pytest.param("91 09", "Reading 'sequenceId' as Int64 failed.", id="SequenceMessageSequenceIdMissing"),
    pytest.param("91 09 c0", "Reading 'sequenceId' as Int64 failed.", id="SequenceMessageSequenceIdNull"),
]


@pytest.mark.parametrize(("body", "error"), INVALID)
def test_invalid_messages(protocol: MessagePackHubProtocol, body: str, error: str) -> None:
    binder = TableBinder(default_params=[str], default_return=str)
    # The .NET test frames the body and parses the framed buffer; do the same.
    result = protocol.split(frame(bytes.fromhex(body)), None)
    assert result.error is None
    (record,) = result.records
    with pytest.raises(InvalidDataError, match=re.escape(error) + "$"):
        protocol.parse_message(record, binder)


# --------------------------------------------------------------------- 3e

# "{t}" is the message type: 01 for the Invocation vectors, 04 for the
# StreamInvocation vectors (same five cases, same messages).
ARGUMENT_BINDING = [
    (
        "InvocationArgumentArrayMissing",
        "94 {t} 80 a3 61 62 63 a3 78 79 7a",
        "Reading array length for 'arguments' failed.",
    ),
    (
        "InvocationArgumentArrayNotAnArray",
        "95 {t} 80 a3 61 62 63 a3 78 79 7a 2a",
        "Reading array length for 'arguments' failed.",
    ),
    (
        "InvocationArgumentArraySizeMismatchEmpty",
        "95 {t} 80 a3 61 62 63 a3 78 79 7a 90",
        "Invocation provides 0 argument(s) but target expects 1.",
    ),
    (
        "InvocationArgumentArraySizeMismatchTooLarge",
        "95 {t} 80 a3 61 62 63 a3 78 79 7a 92 a1 61 a1 62",
        "Invocation provides 2 argument(s) but target expects 1.",
    ),
    ("InvocationArgumentTypeMismatch", "95 {t} 80 a3 61 62 63 a3 78 79 7a 91 2a", BINDING_ERROR),
]


def _binding_cases() -> list[Any]:
    out = []
    for name, template, error in ARGUMENT_BINDING:
        for type_byte, kind, is_stream in (("01", "Invocation", False), ("04", "StreamInvocation", True)):
            body = template.format(t=type_byte)
            out.append(pytest.param(body, error, is_stream, id=name.replace("Invocation", kind, 1)))
    return out


@pytest.mark.parametrize(("body", "error", "is_stream"), _binding_cases())
def test_argument_binding_errors(
    protocol: MessagePackHubProtocol, body: str, error: str, is_stream: bool
) -> None:
    message = protocol.parse_message(bytes.fromhex(body), TableBinder({"xyz": [str]}))
    assert isinstance(message, InvocationBindingFailureMessage)
    assert message.target == "xyz"
    assert message.invocation_id == "abc"
    assert message.is_stream is is_stream
    assert isinstance(message.error, InvalidDataError)
    assert str(message.error) == error


# --------------------------------------------------------------------- 3f

SIZES = [
    pytest.param(
        InvocationMessage("Target", [1]),
        15,
        "0e 96 01 80 c0 a6 54 61 72 67 65 74 91 01 90",
        id="Invocation_NoId",
    ),
    pytest.param(
        InvocationMessage("Target", [1], "1"),
        16,
        "0f 96 01 80 a1 31 a6 54 61 72 67 65 74 91 01 90",
        id="Invocation_WithId",
    ),
    pytest.param(
        InvocationMessage("Target", [1], "1", ["2"]),
        18,
        "11 96 01 80 a1 31 a6 54 61 72 67 65 74 91 01 91 a1 32",
        id="Invocation_WithIdAndStreamId",
    ),
    pytest.param(CloseMessage(), 5, "04 93 07 c0 c2", id="Close_Empty"),
    pytest.param(CloseMessage("error"), 10, "09 93 07 a5 65 72 72 6f 72 c2", id="Close_WithError"),
    pytest.param(StreamItemMessage("1", None), 7, "06 94 02 80 a1 31 c0", id="StreamItem_Null"),
    pytest.param(StreamItemMessage("1", 1), 7, "06 94 02 80 a1 31 01", id="StreamItem_Int"),
    pytest.param(CompletionMessage.empty("1"), 7, "06 94 03 80 a1 31 02", id="Completion_Empty"),
    pytest.param(
        CompletionMessage.with_result("1", 1), 8, "07 95 03 80 a1 31 03 01", id="Completion_WithResult"
    ),
    pytest.param(
        CompletionMessage.with_error("1", "error"),
        13,
        "0c 95 03 80 a1 31 01 a5 65 72 72 6f 72",
        id="Completion_WithError",
    ),
    pytest.param(
        StreamInvocationMessage("1", "target", []),
        15,
        "0e 96 04 80 a1 31 a6 74 61 72 67 65 74 90 90",
        id="StreamInvocation",
    ),
    pytest.param(
        StreamInvocationMessage("1", "target", [], ["2"]),
        17,
        "10 96 04 80 a1 31 a6 74 61 72 67 65 74 90 91 a1 32",
        id="StreamInvocation_WithStreamId",
    ),
    pytest.param(CancelInvocationMessage("1"), 6, "05 93 05 80 a1 31", id="CancelInvocation"),
    pytest.param(PING, 3, "02 91 06", id="Ping"),
]


@pytest.mark.parametrize(("message", "size", "framed"), SIZES)
def test_message_size(protocol: MessagePackHubProtocol, message: HubMessage, size: int, framed: str) -> None:
    written = protocol.write_message(message)
    assert len(written) == size
    assert written == bytes.fromhex(framed)


# --------------------------------------------------------------------- 3g


def test_serializer_can_serialize_types_with_no_default_ctor(protocol: MessagePackHubProtocol) -> None:
    # .NET uses ReadOnlyCollection<int>; the Python counterpart is a tuple.
    written = protocol.write_message(CompletionMessage.with_result("0", (42,)))
    assert written == frame(bytes.fromhex("95 03 80 a1 30 03 91 2a"))
    assert protocol.parse_message(written[1:], TableBinder()) == CompletionMessage.with_result("0", [42])


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2017, 4, 11),
        dt.datetime(2017, 4, 11, tzinfo=dt.UTC),
        dt.datetime(2017, 4, 11, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ],
    ids=["naive", "utc", "offset"],
)
def test_datetime_of_any_kind_round_trips_as_utc(
    protocol: MessagePackHubProtocol, value: dt.datetime
) -> None:
    """DateTime of any Kind is written as timestamp ext -1 (seconds since the
    epoch, UTC; naive is taken as UTC) and read back as a UTC datetime.
    (.NET's DateTimeOffset [timestamp, offsetMinutes] array is .NET-specific
    and has no Python counterpart.)"""
    written = protocol.write_message(StreamItemMessage("xyz", value))
    assert written == frame(bytes.fromhex("94 02 80 a3 78 79 7a d6 ff 58 ec 1c 80"))
    message = protocol.parse_message(written[1:], TableBinder())
    assert isinstance(message, StreamItemMessage)
    assert message.item == CUSTOM_DATETIME
    assert message.item.utcoffset() == dt.timedelta(0)


# ------------------------------------------------- payload objects binding

CUSTOM_OBJECT_BODIES = [
    pytest.param(
        "lQOAo3h5egOGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELPEqdJbnRQcm9wKqxEYXRlVGltZVByb3DW/1js"
        "HICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgM=",
        "Completion",
        id="CompletionWithNoHeadersAndCustomObjectResult",
    ),
    pytest.param(
        "lAKAo3h5eoaqU3RyaW5nUHJvcKhTaWduYWxSIapEb3VibGVQcm9wy0AZIftUQs8Sp0ludFByb3AqrERhdGVUaW1lUHJvcNb/WOwc"
        "gKhOdWxsUHJvcMCrQnl0ZUFyclByb3DEAwECAw==",
        "StreamItem",
        id="StreamItemWithNoHeadersAndCustomObjectItem",
    ),
    pytest.param(
        "lgGAwKZtZXRob2STKqZzdHJpbmeGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELPEqdJbnRQcm9wKqxEYXRl"
        "VGltZVByb3DW/1jsHICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgOQ",
        "Invocation",
        id="InvocationWithNoHeadersNoIdAndCustomObjectArg",
    ),
    pytest.param(
        "lgSAo3h5eqZtZXRob2STKqZzdHJpbmeGqlN0cmluZ1Byb3CoU2lnbmFsUiGqRG91YmxlUHJvcMtAGSH7VELPEqdJbnRQcm9wKqxE"
        "YXRlVGltZVByb3DW/1jsHICoTnVsbFByb3DAq0J5dGVBcnJQcm9wxAMBAgOQ",
        "StreamInvocation",
        id="StreamInvocationWithNoHeadersAndIntStringAndCustomObjectArgs",
    ),
]


@pytest.mark.parametrize("cls", [CustomObject, CustomObjectDC], ids=["attrs", "dataclass"])
@pytest.mark.parametrize(("encoded", "kind"), CUSTOM_OBJECT_BODIES)
def test_custom_object_vector_binds_to_class(
    protocol: MessagePackHubProtocol, encoded: str, kind: str, cls: type
) -> None:
    """The PascalCase CustomObject maps bind to snake_case attrs/dataclass
    types, with ``bin`` bytes and timestamp datetimes."""
    expected_obj = cls("SignalR!", 6.2831853071, 42, CUSTOM_DATETIME, CUSTOM_BYTES, None)
    binder = TableBinder({"method": [int, str, cls]}, default_return=cls, default_stream_item=cls)
    expected: HubMessage = {
        "Completion": CompletionMessage.with_result("xyz", expected_obj),
        "StreamItem": StreamItemMessage("xyz", expected_obj),
        "Invocation": InvocationMessage("method", [42, "string", expected_obj]),
        "StreamInvocation": StreamInvocationMessage("xyz", "method", [42, "string", expected_obj]),
    }[kind]
    assert protocol.parse_message(base64.b64decode(encoded), binder) == expected


@pytest.mark.parametrize("cls", [CustomObject, CustomObjectDC], ids=["attrs", "dataclass"])
@pytest.mark.parametrize("camel", [False, True], ids=["PascalCase", "camelCase"])
def test_custom_object_map_binds_to_class(protocol: MessagePackHubProtocol, cls: type, camel: bool) -> None:
    payload = custom_object(camel=camel, include_null=False)
    body = protocol.write_message(StreamItemMessage("1", payload))[1:]
    message = protocol.parse_message(body, TableBinder(default_stream_item=cls))
    assert message == StreamItemMessage("1", cls("SignalR!", 6.2831853071, 42, CUSTOM_DATETIME, CUSTOM_BYTES))
    assert isinstance(message, StreamItemMessage)
    assert type(message.item.byte_arr_prop) is bytes


@pytest.mark.parametrize("cls", [CustomObject, CustomObjectDC], ids=["attrs", "dataclass"])
def test_class_instance_is_written_as_map(protocol: MessagePackHubProtocol, cls: type) -> None:
    obj = cls("SignalR!", 6.2831853071, 42, CUSTOM_DATETIME, CUSTOM_BYTES, None)
    written = protocol.write_message(CompletionMessage.with_result("1", obj))
    assert protocol.parse_message(written[1:], TableBinder(default_return=cls)) == (
        CompletionMessage.with_result("1", obj)
    )


def test_no_type_keeps_values_as_parsed(protocol: MessagePackHubProtocol) -> None:
    body = base64.b64decode(CUSTOM_OBJECT_ARRAY_RESULT)
    message = protocol.parse_message(body, TableBinder(default_return=NO_TYPE))
    assert message == CompletionMessage.with_result("xyz", [CUSTOM, CUSTOM])
