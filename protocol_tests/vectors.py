"""Wire vectors from the ASP.NET Core SignalR protocol tests (see
``/work/shared/reference/protocol-vectors.md``), as data for the suite.

Only what a black-box client can send or observe is here. Where a vector
depends on the .NET test binder (a hub method that does not exist on the
conformance hub), the row is adapted to a method of ``TestHub`` and the
comment says so.
"""

from __future__ import annotations


def _hex(text: str) -> bytes:
    return bytes.fromhex(text)


# §1 Handshake: invalid requests (payload before 0x1E) and the InvalidDataException text.
HANDSHAKE_INVALID: list[tuple[str, str]] = [
    ("42", "Unexpected JSON Token Type 'Number'. Expected a JSON Object."),
    ('"42"', "Unexpected JSON Token Type 'String'. Expected a JSON Object."),
    ("null", "Unexpected JSON Token Type 'Null'. Expected a JSON Object."),
    ("{}", "Missing required property 'protocol'. Message content: {}"),
    ("[]", "Unexpected JSON Token Type 'Array'. Expected a JSON Object."),
    ('{"protocol":"json"}', 'Missing required property \'version\'. Message content: {"protocol":"json"}'),
    ('{"version":1}', "Missing required property 'protocol'. Message content: {\"version\":1}"),
    (
        '{"type":4,"invocationId":"42","target":"foo","arguments":{}}',
        "Missing required property 'protocol'. Message content: "
        '{"type":4,"invocationId":"42","target":"foo","arguments":{}}',
    ),
    ('{"version":"123"}', "Expected 'version' to be of type Number."),
    ('{"protocol":null,"version":123}', "Expected 'protocol' to be of type String."),
]

# §2d Invalid JSON messages: connection-fatal. (payload before 0x1E, InvalidDataException text)
# Rows marked "source" are the parser checks the reference lists without a literal input.
JSON_INVALID: list[tuple[str, str]] = [
    ("null", "Unexpected JSON Token Type 'Null'. Expected a JSON Object."),
    ('"foo"', "Unexpected JSON Token Type 'String'. Expected a JSON Object."),
    ("[42]", "Unexpected JSON Token Type 'Array'. Expected a JSON Object."),
    ("{}", "Missing required property 'type'."),
    (
        '{"type":1,"headers":{"Foo": 42},"target":"test",arguments:[]}',
        "Expected header 'Foo' to be of type String.",
    ),
    (
        '{"type":1,"headers":{"Foo": true},"target":"test",arguments:[]}',
        "Expected header 'Foo' to be of type String.",
    ),
    (
        '{"type":1,"headers":{"Foo": null},"target":"test",arguments:[]}',
        "Expected header 'Foo' to be of type String.",
    ),
    (
        '{"type":1,"headers":{"Foo": []},"target":"test",arguments:[]}',
        "Expected header 'Foo' to be of type String.",
    ),
    ('{"type":1}', "Missing required property 'target'."),
    ('{"type":1,"invocationId":42}', "Expected 'invocationId' to be of type String."),
    ('{"type":1,"invocationId":"42"}', "Missing required property 'target'."),
    ('{"type":1,"invocationId":"42","target":42}', "Expected 'target' to be of type String."),
    ('{"type":1,"invocationId":"42","target":"foo"}', "Missing required property 'arguments'."),
    (
        '{"type":1,"invocationId":"42","target":"foo","arguments":{}}',
        "Expected 'arguments' to be of type Array.",
    ),
    ('{"type":2}', "Missing required property 'invocationId'."),
    ('{"type":2,"invocationId":42}', "Expected 'invocationId' to be of type String."),
    ('{"type":2,"invocationId":"42"}', "Missing required property 'item'."),
    ('{"type":3}', "Missing required property 'invocationId'."),
    ('{"type":3,"invocationId":42}', "Expected 'invocationId' to be of type String."),
    ('{"type":3,"invocationId":"42","error":[]}', "Expected 'error' to be of type String."),
    ('{"type":4}', "Missing required property 'invocationId'."),
    ('{"type":4,"invocationId":42}', "Expected 'invocationId' to be of type String."),
    ('{"type":4,"invocationId":"42","target":42}', "Expected 'target' to be of type String."),
    ('{"type":4,"invocationId":"42","target":"foo"}', "Missing required property 'arguments'."),
    (
        '{"type":4,"invocationId":"42","target":"foo","arguments":{}}',
        "Expected 'arguments' to be of type Array.",
    ),
    (
        '{"type":3,"invocationId":"42","error":"foo","result":true}',
        "The 'error' and 'result' properties are mutually exclusive.",
    ),
    ("", "Error reading JSON."),
    ("42", "Unexpected JSON Token Type 'Number'. Expected a JSON Object."),
    ('{"type":"foo"}', "Expected 'type' to be of type Number."),
    ('{"type":3,"invocationId":"42","result":true', "Error reading JSON."),
    ('{"type":8,"sequenceId":true}', "Expected 'sequenceId' to be of type Number."),
    ('{"type":9,"sequenceId":"value"}', "Expected 'sequenceId' to be of type Number."),
    # source: Ack/Sequence without sequenceId; streamIds not an array / with a null element.
    ('{"type":8}', "Missing required property 'sequenceId'."),
    ('{"type":9}', "Missing required property 'sequenceId'."),
    ('{"type":1,"target":"Echo","arguments":[1],"streamIds":5}', "Expected 'streamIds' to be of type Array."),
    (
        '{"type":1,"target":"Echo","arguments":[1],"streamIds":[null]}',
        "Null value for 'streamIds' is not valid.",
    ),
    ('{"type":1,"invocationId":"42","target":"foo","arguments":[[}]}', "Error reading JSON."),
]

# §3d Invalid MessagePack payloads: connection-fatal. (name, unframed body, InvalidDataException text)
MP_INVALID: list[tuple[str, bytes, str]] = [
    ("MessageTypeString", _hex("91 a3 66 6f 6f"), "Reading 'messageType' as Int32 failed."),
    ("HeadersNotAMap", _hex("92 01 a3 66 6f 6f"), "Reading map length for 'headers' failed."),
    ("HeaderKeyInt", _hex("92 01 82 2a a3 66 6f 6f"), "Reading 'headers[0].Key' as String failed."),
    ("HeaderValueInt", _hex("92 01 82 a3 66 6f 6f 2a"), "Reading 'headers[0].Value' as String failed."),
    (
        "HeaderKeyArray",
        _hex("92 01 84 a3 66 6f 6f a3 66 6f 6f 90 a3 66 6f 6f"),
        "Reading 'headers[1].Key' as String failed.",
    ),
    (
        "HeaderValueArray",
        _hex("92 01 84 a3 66 6f 6f a3 66 6f 6f a3 66 6f 6f 90"),
        "Reading 'headers[1].Value' as String failed.",
    ),
    ("HeaderKeyEmptyString", _hex("92 01 82 a0 a3 66 6f 6f"), "Null or empty key in header."),
    ("HeaderValueEmptyString", _hex("92 01 82 a3 66 6f 6f a0"), "Null or empty value in header."),
    ("InvocationMissingId", _hex("92 01 80"), "Reading 'invocationId' as String failed."),
    ("InvocationIdBoolean", _hex("91 01 80 c2"), "Reading 'invocationId' as String failed."),
    ("InvocationTargetMissing", _hex("93 01 80 a3 61 62 63"), "Reading 'target' as String failed."),
    ("InvocationTargetInt", _hex("94 01 80 a3 61 62 63 2a"), "Reading 'target' as String failed."),
    (
        "InvocationTargetEmptyString",
        _hex("94 01 80 a3 61 62 63 a0"),
        "Null or empty target for Invocation message.",
    ),
    # Adapted: the .NET row uses target "T" bound by the test binder to (string). The stream ids are read
    # only after the arguments bind, so the target must exist: EchoString(value: str), argument "".
    (
        "InvocationEmptyStringStreamId",
        _hex("96 01 80 a3 61 62 63 aa") + b"EchoString" + _hex("91 a0 91 a0"),
        "Null or empty value in streamIds received.",
    ),
    ("StreamInvocationMissingId", _hex("92 04 80"), "Reading 'invocationId' as String failed."),
    (
        "StreamInvocationEmptyStringId",
        _hex("93 04 80 a0"),
        "Null or empty invocation ID for StreamInvocation message.",
    ),
    ("StreamInvocationIdBoolean", _hex("93 04 80 c2"), "Reading 'invocationId' as String failed."),
    ("StreamInvocationTargetMissing", _hex("93 04 80 a3 61 62 63"), "Reading 'target' as String failed."),
    ("StreamInvocationTargetInt", _hex("94 04 80 a3 61 62 63 2a"), "Reading 'target' as String failed."),
    (
        "StreamInvocationTargetEmptyString",
        _hex("94 04 80 a3 61 62 63 a0"),
        "Null or empty target for StreamInvocation message.",
    ),
    ("StreamItemMissingId", _hex("92 02 80"), "Reading 'invocationId' as String failed."),
    ("StreamItemEmptyStringId", _hex("93 02 80 a0"), "Null or empty invocation ID for StreamItem message."),
    ("StreamItemInvocationIdBoolean", _hex("93 02 80 c2"), "Reading 'invocationId' as String failed."),
    ("CompletionMissingId", _hex("92 03 80"), "Reading 'invocationId' as String failed."),
    ("CompletionEmptyStringId", _hex("93 03 80 a0"), "Null or empty invocation ID for Completion message."),
    ("CompletionIdBoolean", _hex("93 03 80 c2"), "Reading 'invocationId' as String failed."),
    (
        "CompletionResultKindString",
        _hex("94 03 80 a3 78 79 7a a3 78 79 7a"),
        "Reading 'resultKind' as Int32 failed.",
    ),
    ("CompletionResultKindOutOfRange", _hex("94 03 80 a3 78 79 7a 2a"), "Invalid invocation result kind."),
    ("CompletionErrorMissing", _hex("94 03 80 a3 78 79 7a 01"), "Reading 'error' as String failed."),
    ("CompletionErrorInt", _hex("95 03 80 a3 78 79 7a 01 2a"), "Reading 'error' as String failed."),
    ("CancelInvocationMissingId", _hex("92 05 80"), "Reading 'invocationId' as String failed."),
    (
        "CancelInvocationEmptyStringId",
        _hex("93 05 80 a0"),
        "Null or empty invocation ID for CancelInvocation message.",
    ),
    ("AckSequenceIdMissing", _hex("91 08"), "Reading 'sequenceId' as Int64 failed."),
    ("AckSequenceIdNull", _hex("91 08 c0"), "Reading 'sequenceId' as Int64 failed."),
    ("SequenceMessageSequenceIdMissing", _hex("91 09"), "Reading 'sequenceId' as Int64 failed."),
    ("SequenceMessageSequenceIdNull", _hex("91 09 c0"), "Reading 'sequenceId' as Int64 failed."),
]

# Generated from protocol-vectors.md §2 (JSON round-trip table): (name, exact JSON without 0x1E).
JSON_ROUND_TRIP: list[tuple[str, str]] = [
    (
        "InvocationMessage_HasInvocationId",
        '{"type":1,"invocationId":"123","target":"Target","arguments":[1,"Foo"]}',
    ),
    ("InvocationMessage_HasBoolArgument", '{"type":1,"target":"Target","arguments":[true]}'),
    ("InvocationMessage_HasNullArgument", '{"type":1,"target":"Target","arguments":[null]}'),
    (
        "InvocationMessage_HasStreamArgument",
        '{"type":1,"target":"Target","arguments":[],"streamIds":["__test_id__"]}',
    ),
    (
        "InvocationMessage_HasStreamAndNormalArgument",
        '{"type":1,"target":"Target","arguments":[42],"streamIds":["__test_id__"]}',
    ),
    (
        "InvocationMessage_HasMultipleStreams",
        '{"type":1,"target":"Target","arguments":[],"streamIds":["__test_id__","__test_id2__"]}',
    ),
    (
        "InvocationMessage_DateTimeOffsetArgument",
        '{"type":1,"target":"Method","arguments":["2016-05-10T13:51:20+12:34"]}',
    ),
    (
        "InvocationMessage_StringIsoDateArgument",
        '{"type":1,"target":"Method","arguments":["2016-05-10T13:51:20+12:34"]}',
    ),
    ("InvocationMessage_HasNonAsciiArgument", '{"type":1,"target":"Method","arguments":["מחרוזת כלשהי"]}'),
    (
        "InvocationMessage_HasCustomArgumentWithNoCamelCase",
        '{"type":1,"target":"Target","arguments":[{"StringProp":"SignalR!","DoubleProp":6'
        '.2831853071,"IntProp":42,"DateTimeProp":"2017-04-11T00:00:00Z","ByteArrProp":"AQ'
        'ID"}]}',
    ),
    (
        "InvocationMessage_HasCustomArgumentWithNullValueIgnore",
        '{"type":1,"target":"Target","arguments":[{"stringProp":"SignalR!","doubleProp":6'
        '.2831853071,"intProp":42,"dateTimeProp":"2017-04-11T00:00:00Z","byteArrProp":"AQ'
        'ID"}]}',
    ),
    (
        "InvocationMessage_HasCustomArgumentWithNullValueIgnoreAndNoCamelCase",
        '{"type":1,"target":"Target","arguments":[{"StringProp":"SignalR!","DoubleProp":6'
        '.2831853071,"IntProp":42,"DateTimeProp":"2017-04-11T00:00:00Z","NullProp":null,"'
        'ByteArrProp":"AQID"}]}',
    ),
    (
        "InvocationMessage_HasCustomArgumentWithNullValueInclude",
        '{"type":1,"target":"Target","arguments":[{"stringProp":"SignalR!","doubleProp":6'
        '.2831853071,"intProp":42,"dateTimeProp":"2017-04-11T00:00:00Z","nullProp":null,"'
        'byteArrProp":"AQID"}]}',
    ),
    (
        "StreamItemMessage_HasHeaders",
        '{"type":2,"headers":{"Foo":"Bar","KeyWith\\nNew\\r\\nLines":"Still Works","ValueWit'
        'hNewLines":"Also\\nWorks\\r\\nFine"},"invocationId":"123","item":{"stringProp":"Sig'
        'nalR!","doubleProp":6.2831853071,"intProp":42,"dateTimeProp":"2017-04-11T00:00:0'
        '0Z","nullProp":null,"byteArrProp":"AQID"}}',
    ),
    (
        "StreamItemMessage_HasCustomItemWithNoCamelCase",
        '{"type":2,"invocationId":"123","item":{"StringProp":"SignalR!","DoubleProp":6.28'
        '31853071,"IntProp":42,"DateTimeProp":"2017-04-11T00:00:00Z","ByteArrProp":"AQID"'
        "}}",
    ),
    (
        "StreamItemMessage_HasCustomItemWithNullValueIgnore",
        '{"type":2,"invocationId":"123","item":{"stringProp":"SignalR!","doubleProp":6.28'
        '31853071,"intProp":42,"dateTimeProp":"2017-04-11T00:00:00Z","byteArrProp":"AQID"'
        "}}",
    ),
    (
        "StreamItemMessage_HasCustomItemWithNullValueIgnoreAndNoCamelCase",
        '{"type":2,"invocationId":"123","item":{"StringProp":"SignalR!","DoubleProp":6.28'
        '31853071,"IntProp":42,"DateTimeProp":"2017-04-11T00:00:00Z","NullProp":null,"Byt'
        'eArrProp":"AQID"}}',
    ),
    (
        "StreamItemMessage_HasCustomItemWithNullValueInclude",
        '{"type":2,"invocationId":"123","item":{"stringProp":"SignalR!","doubleProp":6.28'
        '31853071,"intProp":42,"dateTimeProp":"2017-04-11T00:00:00Z","nullProp":null,"byt'
        'eArrProp":"AQID"}}',
    ),
    ("StreamItemMessage_HasIntegerItem", '{"type":2,"invocationId":"123","item":1}'),
    ("StreamItemMessage_HasStringItem", '{"type":2,"invocationId":"123","item":"Foo"}'),
    ("StreamItemMessage_HasBoolItem", '{"type":2,"invocationId":"123","item":true}'),
    ("StreamItemMessage_HasNullItem", '{"type":2,"invocationId":"123","item":null}'),
    (
        "CompletionMessage_HasCustomResultWithNoCamelCase",
        '{"type":3,"invocationId":"123","result":{"StringProp":"SignalR!","DoubleProp":6.'
        '2831853071,"IntProp":42,"DateTimeProp":"2017-04-11T00:00:00Z","ByteArrProp":"AQI'
        'D"}}',
    ),
    (
        "CompletionMessage_HasCustomResultWithNullValueIgnore",
        '{"type":3,"invocationId":"123","result":{"stringProp":"SignalR!","doubleProp":6.'
        '2831853071,"intProp":42,"dateTimeProp":"2017-04-11T00:00:00Z","byteArrProp":"AQI'
        'D"}}',
    ),
    (
        "CompletionMessage_HasCustomResultWithNullValueIncludeAndNoCamelCase",
        '{"type":3,"invocationId":"123","result":{"StringProp":"SignalR!","DoubleProp":6.'
        '2831853071,"IntProp":42,"DateTimeProp":"2017-04-11T00:00:00Z","NullProp":null,"B'
        'yteArrProp":"AQID"}}',
    ),
    (
        "CompletionMessage_HasCustomResultWithNullValueInclude",
        '{"type":3,"invocationId":"123","result":{"stringProp":"SignalR!","doubleProp":6.'
        '2831853071,"intProp":42,"dateTimeProp":"2017-04-11T00:00:00Z","nullProp":null,"b'
        'yteArrProp":"AQID"}}',
    ),
    ("CompletionMessage_HasErrorAndCamelCase", '{"type":3,"invocationId":"123"}'),
    (
        "CompletionMessage_HasTestHeadersAndCustomItemResult",
        '{"type":3,"headers":{"Foo":"Bar","KeyWith\\nNew\\r\\nLines":"Still Works","ValueWit'
        'hNewLines":"Also\\nWorks\\r\\nFine"},"invocationId":"123","result":{"stringProp":"S'
        'ignalR!","doubleProp":6.2831853071,"intProp":42,"dateTimeProp":"2017-04-11T00:00'
        ':00Z","nullProp":null,"byteArrProp":"AQID"}}',
    ),
    (
        "CompletionMessage_HasErrorAndHeadersAndCamelCase",
        '{"type":3,"headers":{"Foo":"Bar","KeyWith\\nNew\\r\\nLines":"Still Works","ValueWit'
        'hNewLines":"Also\\nWorks\\r\\nFine"},"invocationId":"123"}',
    ),
    ("CompletionMessage_HasIntegerResult", '{"type":3,"invocationId":"123","result":1}'),
    ("CompletionMessage_HasStringResult", '{"type":3,"invocationId":"123","result":"Foo"}'),
    ("CompletionMessage_HasBoolResult", '{"type":3,"invocationId":"123","result":true}'),
    ("CompletionMessage_HasNullResult", '{"type":3,"invocationId":"123","result":null}'),
    ("CompletionMessage_HasError", '{"type":3,"invocationId":"123","error":"Whoops!"}'),
    (
        "CompletionMessage_HasErrorAndHeaders",
        '{"type":3,"headers":{"Foo":"Bar","KeyWith\\nNew\\r\\nLines":"Still Works","ValueWit'
        'hNewLines":"Also\\nWorks\\r\\nFine"},"invocationId":"123","error":"Whoops!"}',
    ),
    (
        "StreamInvocationMessage_HasHeaders",
        '{"type":4,"headers":{"Foo":"Bar","KeyWith\\nNew\\r\\nLines":"Still Works","ValueWit'
        'hNewLines":"Also\\nWorks\\r\\nFine"},"invocationId":"123","target":"Target","argume'
        'nts":[{"stringProp":"SignalR!","doubleProp":6.2831853071,"intProp":42,"dateTimeP'
        'rop":"2017-04-11T00:00:00Z","nullProp":null,"byteArrProp":"AQID"}]}',
    ),
    (
        "StreamInvocationMessage_HasCustomArgumentWithNoCamelCase",
        '{"type":4,"invocationId":"123","target":"Target","arguments":[{"StringProp":"Sig'
        'nalR!","DoubleProp":6.2831853071,"IntProp":42,"DateTimeProp":"2017-04-11T00:00:0'
        '0Z","ByteArrProp":"AQID"}]}',
    ),
    (
        "StreamInvocationMessage_HasCustomArgumentWithNullValueIgnore",
        '{"type":4,"invocationId":"123","target":"Target","arguments":[{"stringProp":"Sig'
        'nalR!","doubleProp":6.2831853071,"intProp":42,"dateTimeProp":"2017-04-11T00:00:0'
        '0Z","byteArrProp":"AQID"}]}',
    ),
    (
        "StreamInvocationMessage_HasCustomArgumentWithNullValueIgnoreAndNoCamelCase",
        '{"type":4,"invocationId":"123","target":"Target","arguments":[{"StringProp":"Sig'
        'nalR!","DoubleProp":6.2831853071,"IntProp":42,"DateTimeProp":"2017-04-11T00:00:0'
        '0Z","NullProp":null,"ByteArrProp":"AQID"}]}',
    ),
    (
        "StreamInvocationMessage_HasCustomArgumentWithNullValueInclude",
        '{"type":4,"invocationId":"123","target":"Target","arguments":[{"stringProp":"Sig'
        'nalR!","doubleProp":6.2831853071,"intProp":42,"dateTimeProp":"2017-04-11T00:00:0'
        '0Z","nullProp":null,"byteArrProp":"AQID"}]}',
    ),
    (
        "StreamInvocationMessage_HasInvocationId",
        '{"type":4,"invocationId":"123","target":"Target","arguments":[1,"Foo"]}',
    ),
    (
        "StreamInvocationMessage_HasBoolArgument",
        '{"type":4,"invocationId":"123","target":"Target","arguments":[true]}',
    ),
    (
        "StreamInvocationMessage_HasNullArgument",
        '{"type":4,"invocationId":"123","target":"Target","arguments":[null]}',
    ),
    (
        "StreamInvocationMessage_HasStreamArgument",
        '{"type":4,"invocationId":"123","target":"Target","arguments":[],"streamIds":["__test_id__"]}',
    ),
    ("CancelInvocationMessage_HasInvocationId", '{"type":5,"invocationId":"123"}'),
    (
        "CancelInvocationMessage_HasHeaders",
        '{"type":5,"headers":{"Foo":"Bar","KeyWith\\nNew\\r\\nLines":"Still Works","ValueWit'
        'hNewLines":"Also\\nWorks\\r\\nFine"},"invocationId":"123"}',
    ),
    ("PingMessage", '{"type":6}'),
    ("CloseMessage", '{"type":7}'),
    ("CloseMessage_HasError", '{"type":7,"error":"Error!"}'),
    ("CloseMessage_HasErrorEmptyString", '{"type":7,"error":""}'),
    ("CloseMessage_HasErrorWithCamelCase", '{"type":7,"error":"Error!"}'),
    ("CloseMessage_HasAllowReconnect", '{"type":7,"allowReconnect":true}'),
    ("CloseMessage_HasErrorAndAllowReconnect", '{"type":7,"error":"Error!","allowReconnect":true}'),
    ("InvocationMessage_HasFloatArgument_STJ", '{"type":1,"target":"Target","arguments":[1,"Foo",2]}'),
    (
        "InvocationMessage_HasHeaders_STJ",
        '{"type":1,"headers":{"Foo":"Bar","KeyWith\\nNew\\r\\nLines":"Still Works","ValueWit'
        'hNewLines":"Also\\nWorks\\r\\nFine"},"invocationId":"123","target":"Target","argume'
        'nts":[1,"Foo",2]}',
    ),
    ("StreamItemMessage_HasFloatItem_STJ", '{"type":2,"invocationId":"123","item":2}'),
    ("CompletionMessage_HasFloatResult_STJ", '{"type":3,"invocationId":"123","result":2}'),
    (
        "StreamInvocationMessage_HasFloatArgument_STJ",
        '{"type":4,"invocationId":"123","target":"Target","arguments":[1,"Foo",2]}',
    ),
]

# Generated from protocol-vectors.md §3 (BaseTestData + TestData): (name, unframed body).
MP_ROUND_TRIP: list[tuple[str, bytes]] = [
    ("InvocationWithNoHeadersAndNoArgs", _hex("96 01 80 a3 78 79 7a a6 6d 65 74 68 6f 64 90 90")),
    ("InvocationWithNoHeadersNoIdAndNoArgs", _hex("96 01 80 c0 a6 6d 65 74 68 6f 64 90 90")),
    ("InvocationWithNoHeadersNoIdAndSingleIntArg", _hex("96 01 80 c0 a6 6d 65 74 68 6f 64 91 2a 90")),
    (
        "InvocationWithNoHeadersNoIdIntAndStringArgs",
        _hex("96 01 80 c0 a6 6d 65 74 68 6f 64 92 2a a6 73 74 72 69 6e 67 90"),
    ),
    (
        "InvocationWithStreamArgument",
        _hex("96 01 80 c0 a6 54 61 72 67 65 74 90 91 ab 5f 5f 74 65 73 74 5f 69 64 5f 5f"),
    ),
    (
        "InvocationWithStreamAndNormalArgument",
        _hex("96 01 80 c0 a6 54 61 72 67 65 74 91 2a 91 ab 5f 5f 74 65 73 74 5f 69 64 5f 5f"),
    ),
    (
        "InvocationWithMultipleStreams",
        _hex(
            "96 01 80 c0 a6 54 61 72 67 65 74 90 92 ab 5f 5f 74 65 73 74 5f 69 64 5f 5f ac 5f 5f 74 65 "
            "73 74 5f 69 64 32 5f 5f"
        ),
    ),
    ("StreamItemWithNoHeadersAndIntItem", _hex("94 02 80 a3 78 79 7a 2a")),
    ("StreamItemWithNoHeadersAndFloatItem", _hex("94 02 80 a3 78 79 7a ca 42 28 00 00")),
    ("StreamItemWithNoHeadersAndStringItem", _hex("94 02 80 a3 78 79 7a a6 73 74 72 69 6e 67")),
    ("StreamItemWithNoHeadersAndBoolItem", _hex("94 02 80 a3 78 79 7a c3")),
    (
        "CompletionWithNoHeadersAndError",
        _hex("95 03 80 a3 78 79 7a 01 b0 45 72 72 6f 72 20 6e 6f 74 20 66 6f 75 6e 64 21"),
    ),
    (
        "CompletionWithHeadersAndError",
        _hex(
            "95 03 83 a3 46 6f 6f a3 42 61 72 b2 4b 65 79 57 69 74 68 0a 4e 65 77 0d 0a 4c 69 6e 65 73 "
            "ab 53 74 69 6c 6c 20 57 6f 72 6b 73 b1 56 61 6c 75 65 57 69 74 68 4e 65 77 4c 69 6e 65 73 "
            "b0 41 6c 73 6f 0a 57 6f 72 6b 73 0d 0a 46 69 6e 65 a3 78 79 7a 01 b0 45 72 72 6f 72 20 6e "
            "6f 74 20 66 6f 75 6e 64 21"
        ),
    ),
    ("CompletionWithNoHeadersAndNoResult", _hex("94 03 80 a3 78 79 7a 02")),
    (
        "CompletionWithHeadersAndNoResult",
        _hex(
            "94 03 83 a3 46 6f 6f a3 42 61 72 b2 4b 65 79 57 69 74 68 0a 4e 65 77 0d 0a 4c 69 6e 65 73 "
            "ab 53 74 69 6c 6c 20 57 6f 72 6b 73 b1 56 61 6c 75 65 57 69 74 68 4e 65 77 4c 69 6e 65 73 "
            "b0 41 6c 73 6f 0a 57 6f 72 6b 73 0d 0a 46 69 6e 65 a3 78 79 7a 02"
        ),
    ),
    ("CompletionWithNoHeadersAndIntResult", _hex("95 03 80 a3 78 79 7a 03 2a")),
    ("CompletionWithNoHeadersAndFloatResult", _hex("95 03 80 a3 78 79 7a 03 ca 42 28 00 00")),
    ("CompletionWithNoHeadersAndStringResult", _hex("95 03 80 a3 78 79 7a 03 a6 73 74 72 69 6e 67")),
    ("CompletionWithNoHeadersAndBooleanResult", _hex("95 03 80 a3 78 79 7a 03 c3")),
    ("StreamInvocationWithNoHeadersAndNoArgs", _hex("96 04 80 a3 78 79 7a a6 6d 65 74 68 6f 64 90 90")),
    ("StreamInvocationWithNoHeadersAndIntArg", _hex("96 04 80 a3 78 79 7a a6 6d 65 74 68 6f 64 91 2a 90")),
    (
        "StreamInvocationWithStreamArgument",
        _hex("96 04 80 a3 78 79 7a a6 6d 65 74 68 6f 64 90 91 ab 5f 5f 74 65 73 74 5f 69 64 5f 5f"),
    ),
    (
        "StreamInvocationWithStreamAndNormalArgument",
        _hex("96 04 80 a3 78 79 7a a6 6d 65 74 68 6f 64 91 2a 91 ab 5f 5f 74 65 73 74 5f 69 64 5f 5f"),
    ),
    (
        "StreamInvocationWithNoHeadersAndIntAndStringArgs",
        _hex("96 04 80 a3 78 79 7a a6 6d 65 74 68 6f 64 92 2a a6 73 74 72 69 6e 67 90"),
    ),
    ("CancelInvocationWithNoHeaders", _hex("93 05 80 a3 78 79 7a")),
    (
        "CancelInvocationWithHeaders",
        _hex(
            "93 05 83 a3 46 6f 6f a3 42 61 72 b2 4b 65 79 57 69 74 68 0a 4e 65 77 0d 0a 4c 69 6e 65 73 "
            "ab 53 74 69 6c 6c 20 57 6f 72 6b 73 b1 56 61 6c 75 65 57 69 74 68 4e 65 77 4c 69 6e 65 73 "
            "b0 41 6c 73 6f 0a 57 6f 72 6b 73 0d 0a 46 69 6e 65 a3 78 79 7a"
        ),
    ),
    ("Ping", _hex("91 06")),
    ("CloseMessage", _hex("93 07 c0 c2")),
    ("CloseMessage_HasError", _hex("93 07 a6 45 72 72 6f 72 21 c2")),
    ("CloseMessage_HasAllowReconnect", _hex("93 07 c0 c3")),
    ("CloseMessage_HasErrorAndAllowReconnect", _hex("93 07 a6 45 72 72 6f 72 21 c3")),
    ("AckMessage", _hex("92 08 2a")),
    ("SequenceMessage", _hex("92 09 cc 92")),
    ("CompletionWithNoHeadersAndNullResult", _hex("95 03 80 a3 78 79 7a 03 c0")),
    (
        "CompletionWithNoHeadersAndCustomObjectResult",
        _hex(
            "95 03 80 a3 78 79 7a 03 86 aa 53 74 72 69 6e 67 50 72 6f 70 a8 53 69 67 6e 61 6c 52 21 aa "
            "44 6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb 54 42 cf 12 a7 49 6e 74 50 72 6f 70 2a ac 44 "
            "61 74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec 1c 80 a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 "
            "74 65 41 72 72 50 72 6f 70 c4 03 01 02 03"
        ),
    ),
    ("CompletionWithNoHeadersAndEnumResult", _hex("95 03 80 a3 78 79 7a 03 a3 4f 6e 65")),
    ("InvocationWithNoHeadersNoIdAndSingleNullArg", _hex("96 01 80 c0 a6 6d 65 74 68 6f 64 91 c0 90")),
    (
        "InvocationWithNoHeadersNoIdIntAndEnumArgs",
        _hex("96 01 80 c0 a6 6d 65 74 68 6f 64 92 2a a3 4f 6e 65 90"),
    ),
    (
        "InvocationWithNoHeadersNoIdAndCustomObjectArg",
        _hex(
            "96 01 80 c0 a6 6d 65 74 68 6f 64 93 2a a6 73 74 72 69 6e 67 86 aa 53 74 72 69 6e 67 50 72 "
            "6f 70 a8 53 69 67 6e 61 6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb 54 42 cf "
            "12 a7 49 6e 74 50 72 6f 70 2a ac 44 61 74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec 1c 80 a8 "
            "4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 74 65 41 72 72 50 72 6f 70 c4 03 01 02 03 90"
        ),
    ),
    ("StreamItemWithNoHeadersAndNullItem", _hex("94 02 80 a3 78 79 7a c0")),
    ("StreamItemWithNoHeadersAndEnumItem", _hex("94 02 80 a3 78 79 7a a3 4f 6e 65")),
    (
        "StreamItemWithNoHeadersAndCustomObjectItem",
        _hex(
            "94 02 80 a3 78 79 7a 86 aa 53 74 72 69 6e 67 50 72 6f 70 a8 53 69 67 6e 61 6c 52 21 aa 44 "
            "6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb 54 42 cf 12 a7 49 6e 74 50 72 6f 70 2a ac 44 61 "
            "74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec 1c 80 a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 74 "
            "65 41 72 72 50 72 6f 70 c4 03 01 02 03"
        ),
    ),
    (
        "StreamInvocationWithNoHeadersAndEnumArg",
        _hex("96 04 80 a3 78 79 7a a6 6d 65 74 68 6f 64 91 a3 4f 6e 65 90"),
    ),
    ("StreamInvocationWithNoHeadersAndNullArg", _hex("96 04 80 a3 78 79 7a a6 6d 65 74 68 6f 64 91 c0 90")),
    (
        "CompletionWithNoHeadersAndCustomObjectArrayResult",
        _hex(
            "95 03 80 a3 78 79 7a 03 92 86 aa 53 74 72 69 6e 67 50 72 6f 70 a8 53 69 67 6e 61 6c 52 21 "
            "aa 44 6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb 54 42 cf 12 a7 49 6e 74 50 72 6f 70 2a ac "
            "44 61 74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec 1c 80 a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 "
            "79 74 65 41 72 72 50 72 6f 70 c4 03 01 02 03 86 aa 53 74 72 69 6e 67 50 72 6f 70 a8 53 69 "
            "67 6e 61 6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb 54 42 cf 12 a7 49 6e 74 "
            "50 72 6f 70 2a ac 44 61 74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec 1c 80 a8 4e 75 6c 6c 50 "
            "72 6f 70 c0 ab 42 79 74 65 41 72 72 50 72 6f 70 c4 03 01 02 03"
        ),
    ),
    (
        "CompletionWithHeadersAndCustomObjectArrayResult",
        _hex(
            "95 03 83 a3 46 6f 6f a3 42 61 72 b2 4b 65 79 57 69 74 68 0a 4e 65 77 0d 0a 4c 69 6e 65 73 "
            "ab 53 74 69 6c 6c 20 57 6f 72 6b 73 b1 56 61 6c 75 65 57 69 74 68 4e 65 77 4c 69 6e 65 73 "
            "b0 41 6c 73 6f 0a 57 6f 72 6b 73 0d 0a 46 69 6e 65 a3 78 79 7a 03 92 86 aa 53 74 72 69 6e "
            "67 50 72 6f 70 a8 53 69 67 6e 61 6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb "
            "54 42 cf 12 a7 49 6e 74 50 72 6f 70 2a ac 44 61 74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec "
            "1c 80 a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 74 65 41 72 72 50 72 6f 70 c4 03 01 02 03 86 "
            "aa 53 74 72 69 6e 67 50 72 6f 70 a8 53 69 67 6e 61 6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f "
            "70 cb 40 19 21 fb 54 42 cf 12 a7 49 6e 74 50 72 6f 70 2a ac 44 61 74 65 54 69 6d 65 50 72 "
            "6f 70 d6 ff 58 ec 1c 80 a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 74 65 41 72 72 50 72 6f 70 "
            "c4 03 01 02 03"
        ),
    ),
    (
        "InvocationWithNoHeadersNoIdAndArrayOfCustomObjectArgs",
        _hex(
            "96 01 80 c0 a6 6d 65 74 68 6f 64 92 86 aa 53 74 72 69 6e 67 50 72 6f 70 a8 53 69 67 6e 61 "
            "6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb 54 42 cf 12 a7 49 6e 74 50 72 6f "
            "70 2a ac 44 61 74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec 1c 80 a8 4e 75 6c 6c 50 72 6f 70 "
            "c0 ab 42 79 74 65 41 72 72 50 72 6f 70 c4 03 01 02 03 86 aa 53 74 72 69 6e 67 50 72 6f 70 "
            "a8 53 69 67 6e 61 6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb 54 42 cf 12 a7 "
            "49 6e 74 50 72 6f 70 2a ac 44 61 74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec 1c 80 a8 4e 75 "
            "6c 6c 50 72 6f 70 c0 ab 42 79 74 65 41 72 72 50 72 6f 70 c4 03 01 02 03 90"
        ),
    ),
    (
        "InvocationWithHeadersNoIdAndArrayOfCustomObjectArgs",
        _hex(
            "96 01 83 a3 46 6f 6f a3 42 61 72 b2 4b 65 79 57 69 74 68 0a 4e 65 77 0d 0a 4c 69 6e 65 73 "
            "ab 53 74 69 6c 6c 20 57 6f 72 6b 73 b1 56 61 6c 75 65 57 69 74 68 4e 65 77 4c 69 6e 65 73 "
            "b0 41 6c 73 6f 0a 57 6f 72 6b 73 0d 0a 46 69 6e 65 c0 a6 6d 65 74 68 6f 64 92 86 aa 53 74 "
            "72 69 6e 67 50 72 6f 70 a8 53 69 67 6e 61 6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f 70 cb 40 "
            "19 21 fb 54 42 cf 12 a7 49 6e 74 50 72 6f 70 2a ac 44 61 74 65 54 69 6d 65 50 72 6f 70 d6 "
            "ff 58 ec 1c 80 a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 74 65 41 72 72 50 72 6f 70 c4 03 01 "
            "02 03 86 aa 53 74 72 69 6e 67 50 72 6f 70 a8 53 69 67 6e 61 6c 52 21 aa 44 6f 75 62 6c 65 "
            "50 72 6f 70 cb 40 19 21 fb 54 42 cf 12 a7 49 6e 74 50 72 6f 70 2a ac 44 61 74 65 54 69 6d "
            "65 50 72 6f 70 d6 ff 58 ec 1c 80 a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 74 65 41 72 72 50 "
            "72 6f 70 c4 03 01 02 03 90"
        ),
    ),
    (
        "StreamItemWithNoHeadersAndCustomObjectArrayItem",
        _hex(
            "94 02 80 a3 78 79 7a 92 86 aa 53 74 72 69 6e 67 50 72 6f 70 a8 53 69 67 6e 61 6c 52 21 aa "
            "44 6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb 54 42 cf 12 a7 49 6e 74 50 72 6f 70 2a ac 44 "
            "61 74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec 1c 80 a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 "
            "74 65 41 72 72 50 72 6f 70 c4 03 01 02 03 86 aa 53 74 72 69 6e 67 50 72 6f 70 a8 53 69 67 "
            "6e 61 6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb 54 42 cf 12 a7 49 6e 74 50 "
            "72 6f 70 2a ac 44 61 74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec 1c 80 a8 4e 75 6c 6c 50 72 "
            "6f 70 c0 ab 42 79 74 65 41 72 72 50 72 6f 70 c4 03 01 02 03"
        ),
    ),
    (
        "StreamItemWithHeadersAndCustomObjectArrayItem",
        _hex(
            "94 02 83 a3 46 6f 6f a3 42 61 72 b2 4b 65 79 57 69 74 68 0a 4e 65 77 0d 0a 4c 69 6e 65 73 "
            "ab 53 74 69 6c 6c 20 57 6f 72 6b 73 b1 56 61 6c 75 65 57 69 74 68 4e 65 77 4c 69 6e 65 73 "
            "b0 41 6c 73 6f 0a 57 6f 72 6b 73 0d 0a 46 69 6e 65 a3 78 79 7a 92 86 aa 53 74 72 69 6e 67 "
            "50 72 6f 70 a8 53 69 67 6e 61 6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb 54 "
            "42 cf 12 a7 49 6e 74 50 72 6f 70 2a ac 44 61 74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec 1c "
            "80 a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 74 65 41 72 72 50 72 6f 70 c4 03 01 02 03 86 aa "
            "53 74 72 69 6e 67 50 72 6f 70 a8 53 69 67 6e 61 6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f 70 "
            "cb 40 19 21 fb 54 42 cf 12 a7 49 6e 74 50 72 6f 70 2a ac 44 61 74 65 54 69 6d 65 50 72 6f "
            "70 d6 ff 58 ec 1c 80 a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 74 65 41 72 72 50 72 6f 70 c4 "
            "03 01 02 03"
        ),
    ),
    (
        "StreamInvocationWithNoHeadersAndIntStringAndCustomObjectArgs",
        _hex(
            "96 04 80 a3 78 79 7a a6 6d 65 74 68 6f 64 93 2a a6 73 74 72 69 6e 67 86 aa 53 74 72 69 6e "
            "67 50 72 6f 70 a8 53 69 67 6e 61 6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb "
            "54 42 cf 12 a7 49 6e 74 50 72 6f 70 2a ac 44 61 74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec "
            "1c 80 a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 74 65 41 72 72 50 72 6f 70 c4 03 01 02 03 90"
        ),
    ),
    (
        "StreamInvocationWithNoHeadersAndCustomObjectArrayArg",
        _hex(
            "96 04 80 a3 78 79 7a a6 6d 65 74 68 6f 64 92 86 aa 53 74 72 69 6e 67 50 72 6f 70 a8 53 69 "
            "67 6e 61 6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb 54 42 cf 12 a7 49 6e 74 "
            "50 72 6f 70 2a ac 44 61 74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec 1c 80 a8 4e 75 6c 6c 50 "
            "72 6f 70 c0 ab 42 79 74 65 41 72 72 50 72 6f 70 c4 03 01 02 03 86 aa 53 74 72 69 6e 67 50 "
            "72 6f 70 a8 53 69 67 6e 61 6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f 70 cb 40 19 21 fb 54 42 "
            "cf 12 a7 49 6e 74 50 72 6f 70 2a ac 44 61 74 65 54 69 6d 65 50 72 6f 70 d6 ff 58 ec 1c 80 "
            "a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 74 65 41 72 72 50 72 6f 70 c4 03 01 02 03 90"
        ),
    ),
    (
        "StreamInvocationWithHeadersAndCustomObjectArrayArg",
        _hex(
            "96 04 83 a3 46 6f 6f a3 42 61 72 b2 4b 65 79 57 69 74 68 0a 4e 65 77 0d 0a 4c 69 6e 65 73 "
            "ab 53 74 69 6c 6c 20 57 6f 72 6b 73 b1 56 61 6c 75 65 57 69 74 68 4e 65 77 4c 69 6e 65 73 "
            "b0 41 6c 73 6f 0a 57 6f 72 6b 73 0d 0a 46 69 6e 65 a3 78 79 7a a6 6d 65 74 68 6f 64 92 86 "
            "aa 53 74 72 69 6e 67 50 72 6f 70 a8 53 69 67 6e 61 6c 52 21 aa 44 6f 75 62 6c 65 50 72 6f "
            "70 cb 40 19 21 fb 54 42 cf 12 a7 49 6e 74 50 72 6f 70 2a ac 44 61 74 65 54 69 6d 65 50 72 "
            "6f 70 d6 ff 58 ec 1c 80 a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 74 65 41 72 72 50 72 6f 70 "
            "c4 03 01 02 03 86 aa 53 74 72 69 6e 67 50 72 6f 70 a8 53 69 67 6e 61 6c 52 21 aa 44 6f 75 "
            "62 6c 65 50 72 6f 70 cb 40 19 21 fb 54 42 cf 12 a7 49 6e 74 50 72 6f 70 2a ac 44 61 74 65 "
            "54 69 6d 65 50 72 6f 70 d6 ff 58 ec 1c 80 a8 4e 75 6c 6c 50 72 6f 70 c0 ab 42 79 74 65 41 "
            "72 72 50 72 6f 70 c4 03 01 02 03 90"
        ),
    ),
]
