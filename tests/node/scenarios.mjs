#!/usr/bin/env node
// Interop scenarios driven by the official JavaScript SignalR client.
//
//   node scenarios.mjs <baseUrl> <json|messagepack> <scenario> [--skip-negotiation]
//                      [--transport=WebSockets|ServerSentEvents|LongPolling]
//
// Talks to the hubs of protocol_tests/conformance_server.py over one forced
// transport (HttpTransportType.<name>; WebSockets by default, the only one
// allowed with --skip-negotiation), then prints exactly ONE JSON line on
// stdout: {"ok":true,"scenario":...,"result":{...}} and exits 0, or
// {"ok":false,"scenario":...,"error":"..."} and exits 1. Client logs go to
// stderr only, so stdout stays parseable. Every wait has a deadline; there
// are no bare sleeps.

import { createRequire } from "node:module";
import process from "node:process";

import {
    DefaultHttpClient,
    HttpClient,
    HttpTransportType,
    HubConnectionBuilder,
    HubConnectionState,
    JsonHubProtocol,
    LogLevel,
    MessageType,
    Subject,
    TransferFormat,
} from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

// The WebSocket and EventSource implementations @microsoft/signalr itself
// loads in Node 20 (it require()s "ws" and "eventsource"); the token
// recorder wraps them to see what the client puts on the wire.
const require = createRequire(import.meta.url);
const NodeWebSocket = require("ws");
const NodeEventSource = require("eventsource");

const TRANSPORTS = ["WebSockets", "ServerSentEvents", "LongPolling"];
const USAGE =
    "usage: node scenarios.mjs <baseUrl> <json|messagepack> <scenario> [--skip-negotiation] " +
    `[--transport=${TRANSPORTS.join("|")}]`;
const WAIT_MS = 5000; // deadline of one wait (a message, a close, an invocation)
const LARGE_STREAM_MS = 10000; // deadline of the 10,000-item stream
const NON_ASCII = "héllo ✓ 日本語 🎉";
const DATE_ISO = "2017-04-11T00:00:00Z";

// ------------------------------------------------------------------ helpers

const stderrLogger = {
    log(level, message) {
        if (level >= LogLevel.Warning) {
            process.stderr.write(`[signalr ${LogLevel[level]}] ${message}\n`);
        }
    },
};

/**
 * Marks `promise` as handled and returns it: a scenario may start a call,
 * await something else, and await the call later. If the call fails first
 * (say, it times out), Node must not die of an unhandled rejection before
 * the scenario prints its JSON line; awaiting the promise still throws.
 */
function handled(promise) {
    promise.catch(() => {});
    return promise;
}

function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    });
    return handled(Promise.race([promise, timeout]).finally(() => clearTimeout(timer)));
}

/**
 * The error message of a promise that must reject; rejects if it resolves.
 * (A timeout is returned as its message, so the assertion shows it.)
 */
function errorOf(promise, what) {
    return handled(
        withTimeout(promise, WAIT_MS, what).then(
            (value) => {
                throw new Error(`${what} resolved with ${JSON.stringify(value)} but should have failed`);
            },
            (err) => (err instanceof Error ? err.message : String(err)),
        ),
    );
}

/** JSON-safe description of a value whose JS type matters (undefined, bytes, dates). */
function describe(value) {
    if (value === undefined) {
        return { type: "undefined" };
    }
    if (value === null) {
        return { type: "null" };
    }
    if (value instanceof Uint8Array) {
        return { type: "Uint8Array", bytes: Array.from(value) };
    }
    if (value instanceof Date) {
        return { type: "Date", iso: value.toISOString(), epochMs: value.getTime() };
    }
    return { type: typeof value, value };
}

/**
 * Short text for a received message, for order assertions: `own` is the id
 * of the stream under test, shown as "stream"; other ids show as "other".
 */
function summarize(message, own) {
    const id = message.invocationId === own ? "stream" : "other";
    switch (message.type) {
        case MessageType.Invocation:
            return `Invocation(${message.target}${message.invocationId === undefined ? "" : ", with id"})`;
        case MessageType.StreamItem:
            return `StreamItem(${id}, ${JSON.stringify(message.item)})`;
        case MessageType.Completion:
            if (message.error !== undefined && message.error !== null) {
                return `Completion(${id}, error=${JSON.stringify(message.error)})`;
            }
            if (message.result !== undefined) {
                return `Completion(${id}, result=${JSON.stringify(message.result)})`;
            }
            return `Completion(${id})`;
        default:
            return `type ${message.type}`;
    }
}

function randomSuffix() {
    return Math.random().toString(36).slice(2, 10);
}

/**
 * The hub protocol of a client (JSON or MessagePack), wrapped to record every
 * message the client parses, before HubConnection dispatches it. That shows
 * what the server sent even where the client drops it silently (items or the
 * Completion of a stream the client already disposed).
 */
class RecordingProtocol {
    constructor(inner, onMessage) {
        this._inner = inner;
        this._onMessage = onMessage;
        this.name = inner.name;
        this.version = inner.version;
        this.transferFormat = inner.transferFormat;
    }

    parseMessages(input, logger) {
        const messages = this._inner.parseMessages(input, logger);
        for (const message of messages) {
            this._onMessage(message);
        }
        return messages;
    }

    writeMessage(message) {
        return this._inner.writeMessage(message);
    }
}

/**
 * HubConnection._replaceStreamingParams of @microsoft/signalr 10.0.11 without
 * its skip: the original does `args.splice(i, 1)` and still increments i, so
 * a stream argument right after another one is sent as a plain argument.
 * Installed on ONE connection object (the "patched" client of `uploads`)
 * to send two uploads in one invocation; everything else is the stock client.
 */
function replaceStreamingParamsWithoutSkipping(args) {
    const streams = [];
    const streamIds = [];
    let i = 0;
    while (i < args.length) {
        if (this._isObservable(args[i])) {
            const streamId = this._invocationId;
            this._invocationId++;
            streams[streamId] = args[i];
            streamIds.push(streamId.toString());
            args.splice(i, 1);
        } else {
            i++;
        }
    }
    return [streams, streamIds];
}

class Client {
    constructor(name, connection) {
        this.name = name;
        this.connection = connection;
        this.wire = []; // every message received, in order (see RecordingProtocol)
        this.inbox = [];
        this.other = []; // server-to-client calls to targets other than "Receive"
        this._waiters = [];
        this.closeEvents = [];
        connection.on("Receive", (...args) => {
            this.inbox.push(args.length === 1 ? args[0] : args);
            this._check();
        });
        connection.on("Custom", (...args) => {
            this.other.push({ target: "Custom", args });
            this._check();
        });
        connection.onclose((error) => {
            this.closeEvents.push(error === undefined ? null : error instanceof Error ? error.message : String(error));
            this._check();
        });
    }

    _check() {
        this._waiters = this._waiters.filter(({ predicate, resolve }) => {
            if (predicate(this)) {
                resolve();
                return false;
            }
            return true;
        });
    }

    /** Resolves once predicate(this) is true (checked now and after each event). */
    waitUntil(predicate, what, ms = WAIT_MS) {
        if (predicate(this)) {
            return Promise.resolve();
        }
        return withTimeout(
            new Promise((resolve) => this._waiters.push({ predicate, resolve })),
            ms,
            `${this.name}: ${what}`,
        );
    }

    /** Registers `handler` for `target` and records each call in `other` (before calling it). */
    handle(target, handler = () => undefined) {
        this.connection.on(target, (...args) => {
            this.other.push({ target, args });
            this._check();
            return handler(...args);
        });
    }

    /** Called by RecordingProtocol for each received message. */
    _received(message) {
        this.wire.push(message);
        this._check();
    }

    /** Messages received for one invocation or stream id (items and its Completion). */
    wireFor(invocationId) {
        return this.wire.filter(
            (m) => (m.type === MessageType.StreamItem || m.type === MessageType.Completion) && m.invocationId === invocationId,
        );
    }

    /**
     * Subscribes to the server stream `method(...args)` and resolves once it
     * ends: {items, error} with error null when it completed.
     */
    streamAll(method, ...args) {
        return this.streamWithin(WAIT_MS, method, ...args);
    }

    streamWithin(ms, method, ...args) {
        const items = [];
        return withTimeout(
            new Promise((resolve) => {
                this.connection.stream(method, ...args).subscribe({
                    next: (item) => items.push(item),
                    complete: () => resolve({ items, error: null }),
                    error: (err) => resolve({ items, error: err instanceof Error ? err.message : String(err) }),
                });
            }),
            ms,
            `${this.name}: stream ${method}`,
        );
    }

    waitForMessage(message) {
        return this.waitUntil((c) => c.inbox.includes(message), `Receive(${JSON.stringify(message)})`);
    }

    waitForCloseCount(count) {
        return this.waitUntil((c) => c.closeEvents.length >= count, `onclose #${count}`);
    }

    invoke(method, ...args) {
        return withTimeout(this.connection.invoke(method, ...args), WAIT_MS, `${this.name}: invoke ${method}`);
    }

    start() {
        return withTimeout(this.connection.start(), WAIT_MS, `${this.name}: start`);
    }

    stop() {
        return withTimeout(this.connection.stop(), WAIT_MS, `${this.name}: stop`);
    }
}

/**
 * The HttpClient a TokenRecorder puts under the client's own token handling
 * (the client wraps it in its AccessTokenHttpClient, which adds the header).
 */
class RecordingHttpClient extends HttpClient {
    constructor(inner, recorder) {
        super();
        this._inner = inner;
        this._recorder = recorder;
    }

    send(request) {
        let kind = request.method.toLowerCase(); // "delete" ends a long-polling connection
        if (request.method === "POST") {
            kind = request.url.includes("/negotiate?") ? "negotiate" : "send";
        } else if (request.method === "GET") {
            kind = "poll";
        }
        this._recorder.record(kind, request.url, request.headers);
        return this._inner.send(request);
    }

    getCookieString(url) {
        return this._inner.getCookieString(url);
    }
}

/**
 * Records where a client puts its access token on every request it makes:
 * per kind ("negotiate", "websocket", "eventsource", "poll", "send",
 * "delete") the distinct carriers seen: "header" (Authorization: Bearer
 * <token>), "query" (access_token=<token> in the URL), both ("header+query")
 * or "none". It hands the client wrapped WebSocket/EventSource constructors
 * (the same "ws" and "eventsource" modules the client loads itself) and a
 * recording HttpClient, so the client's own token logic is what is observed.
 */
class TokenRecorder {
    constructor(token) {
        this.token = token;
        this._seen = new Map();
    }

    record(kind, url, headers) {
        const carriers = [];
        const authorization = headers?.Authorization;
        if (authorization !== undefined) {
            carriers.push(authorization === `Bearer ${this.token}` ? "header" : `header(${authorization})`);
        }
        const query = new URL(url).searchParams.get("access_token");
        if (query !== null) {
            carriers.push(query === this.token ? "query" : `query(${query})`);
        }
        if (!this._seen.has(kind)) {
            this._seen.set(kind, new Set());
        }
        this._seen.get(kind).add(carriers.length ? carriers.join("+") : "none");
    }

    summary() {
        return Object.fromEntries([...this._seen.entries()].sort().map(([kind, set]) => [kind, [...set].sort()]));
    }

    options() {
        const recorder = this;
        function WebSocket(url, protocols, options) {
            recorder.record("websocket", url, options?.headers);
            return new NodeWebSocket(url, protocols, options);
        }
        Object.assign(WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
        function EventSource(url, init) {
            recorder.record("eventsource", url, init?.headers);
            return new NodeEventSource(url, init);
        }
        const httpClient = new RecordingHttpClient(new DefaultHttpClient(stderrLogger), this);
        return { httpClient, WebSocket, EventSource };
    }
}

/** The client-side transport object in use ("LongPollingTransport", ...) or null. */
function transportClass(client) {
    return client.connection.connection?.transport?.constructor?.name ?? null;
}

class Scenario {
    constructor(baseUrl, protocol, skipNegotiation, transport) {
        this.baseUrl = baseUrl.replace(/\/+$/, "");
        this.protocol = protocol;
        this.skipNegotiation = skipNegotiation;
        this.transport = transport;
        this.clients = [];
    }

    /**
     * A HubConnection (not started) to `path` + `query`. `options` override
     * the scenario's defaults: transport (a HttpTransportType name), protocol
     * ("json" | "messagepack"), accessTokenFactory, tokenRecorder (a
     * TokenRecorder), claimText (the hub protocol claims the Text transfer
     * format, whatever it really writes).
     */
    build(name, path, query = {}, options = {}) {
        const url = new URL(this.baseUrl + path);
        for (const [key, value] of Object.entries(query)) {
            url.searchParams.set(key, value);
        }
        const protocol = options.protocol ?? this.protocol;
        const transport = options.transport ?? this.transport;
        const inner = protocol === "messagepack" ? new MessagePackHubProtocol() : new JsonHubProtocol();
        let client = null; // set below, before start() can receive anything
        const recorder = new RecordingProtocol(inner, (message) => client._received(message));
        if (options.claimText) {
            recorder.transferFormat = TransferFormat.Text;
        }
        const httpOptions = {
            transport: HttpTransportType[transport],
            skipNegotiation: this.skipNegotiation,
            ...(options.tokenRecorder ? options.tokenRecorder.options() : {}),
        };
        if (options.accessTokenFactory) {
            httpOptions.accessTokenFactory = options.accessTokenFactory;
        }
        const connection = new HubConnectionBuilder()
            .withUrl(url.toString(), httpOptions)
            .withHubProtocol(recorder)
            .configureLogging(stderrLogger)
            .build();
        client = new Client(name, connection);
        this.clients.push(client);
        return client;
    }

    /** POST to an HTTP route of the server: {status, body} with the JSON body. */
    async post(path) {
        const response = await withTimeout(
            fetch(this.baseUrl + path, { method: "POST", signal: AbortSignal.timeout(WAIT_MS) }),
            WAIT_MS,
            `POST ${path}`,
        );
        const body = await withTimeout(response.json(), WAIT_MS, `body of POST ${path}`);
        return { status: response.status, body };
    }

    async connect(name, path = "/hubs/test", query = {}, options = {}) {
        const client = this.build(name, path, query, options);
        await client.start();
        return client;
    }

    async connectionIds(clients) {
        const ids = {};
        for (const client of clients) {
            ids[client.name] = await client.invoke("GetConnectionId");
        }
        return ids;
    }

    /**
     * Round trip that proves delivery has settled: `sender` broadcasts a
     * marker and every client in `clients` must receive it. A targeted send
     * invoked (and completed) before the marker is queued before it on every
     * connection, so afterwards each inbox holds everything it will ever get
     * from that step. Returns and clears the inboxes.
     */
    async settle(sender, clients, marker) {
        await sender.invoke("Broadcast", marker);
        await Promise.all(clients.map((c) => c.waitForMessage(marker)));
        const snapshot = {};
        for (const client of clients) {
            snapshot[client.name] = client.inbox.splice(0);
        }
        return snapshot;
    }

    async cleanup() {
        await Promise.allSettled(
            this.clients
                .filter((c) => c.connection.state !== HubConnectionState.Disconnected)
                .map((c) => c.stop()),
        );
    }
}

// ---------------------------------------------------------------- scenarios

const scenarios = {
    /** Invocations with results, argument/result types, send without a result. */
    async invoke(s) {
        const a = await s.connect("A");
        const r = {};
        r.echo = await a.invoke("Echo", NON_ASCII);
        r.echoString = await a.invoke("EchoString", NON_ASCII);
        r.echoNested = await a.invoke("Echo", { list: [1, "ü", null, true], nested: { k: "日本" } });
        r.echoCaseInsensitive = await a.invoke("echo_string", "snake");
        r.add = await a.invoke("Add", 2, 3);
        r.syncAdd = await a.invoke("SyncAdd", 40, 2);
        r.typed = await a.invoke("Typed", 7, "ß", 2.5, true, [1, 2, 3], { one: 1, two: 2 });
        r.optionalNull = await a.invoke("Optional", null);
        r.optionalValue = await a.invoke("Optional", 42);
        r.customName = await a.invoke("CustomName");
        r.voidMethod = describe(await a.invoke("VoidMethod"));
        r.point = await a.invoke("EchoPoint", { x: 1, y: 2, label: "p" });
        r.pointDefaultLabel = await a.invoke("EchoPoint", { x: -5, y: 0 });

        if (s.protocol === "messagepack") {
            const bytes = new Uint8Array([0, 1, 2, 255]);
            const date = new Date(DATE_ISO);
            const echoedDate = await a.invoke("EchoDatetime", date);
            r.bytes = describe(await a.invoke("EchoBytes", bytes));
            r.emptyBytes = describe(await a.invoke("EchoBytes", new Uint8Array([])));
            r.datetime = describe(echoedDate);
            r.datetimeEqual = echoedDate instanceof Date && echoedDate.getTime() === date.getTime();
            r.datetimeInfo = await a.invoke("DatetimeInfo", date);
            const envelope = await a.invoke("EchoEnvelope", {
                senderName: "ann",
                sentAt: date,
                payload: bytes,
            });
            r.envelope = Object.fromEntries(Object.entries(envelope).map(([k, v]) => [k, describe(v)]));
        } else {
            r.bytes = describe(await a.invoke("EchoBytes", "AAEC/w=="));
            r.emptyBytes = describe(await a.invoke("EchoBytes", ""));
            r.datetime = describe(await a.invoke("EchoDatetime", DATE_ISO));
            r.datetimeInfo = await a.invoke("DatetimeInfo", DATE_ISO);
            r.datetimeInfoOffset = await a.invoke("DatetimeInfo", "2017-04-11T02:00:00+02:00");
            const envelope = await a.invoke("EchoEnvelope", {
                SenderName: "ann",
                sent_at: DATE_ISO,
                payload: "AAEC/w==",
            });
            r.envelope = Object.fromEntries(Object.entries(envelope).map(([k, v]) => [k, describe(v)]));
        }

        // Identity of the connection.
        const id = await a.invoke("GetConnectionId");
        r.connectionIdIsString = typeof id === "string" && id.length > 0;
        r.clientConnectionId = a.connection.connectionId ?? null;
        r.connectionIdMatchesClient = a.connection.connectionId === id;
        r.userIdentifier = await a.invoke("GetUserIdentifier");

        // send(): no invocation id, no result; the server calls back Receive.
        r.sendResult = describe(await withTimeout(a.connection.send("Broadcast", NON_ASCII), WAIT_MS, "send"));
        await a.waitForMessage(NON_ASCII);
        r.received = a.inbox.splice(0);

        // A server-to-client call with several arguments to another target.
        await a.invoke("InvokeCaller", "Custom", ["x", 1, { k: [true, null] }]);
        await a.waitUntil((c) => c.other.length >= 1, "Custom callback");
        r.custom = a.other.splice(0);

        r.state = a.connection.state;
        return r;
    },

    /** Error texts of failing invocations; the connection stays usable. */
    async errors(s) {
        const plain = await s.connect("plain", "/hubs/test");
        const detailed = await s.connect("detailed", "/hubs/detailed");
        const r = {};
        for (const client of [plain, detailed]) {
            const e = {};
            const call = (...args) => errorOf(client.connection.invoke(...args), `${client.name}: ${args[0]}`);
            e.throwHubException = await call("ThrowHubException", "boom");
            e.throwException = await call("ThrowException", "boom");
            e.noSuchMethod = await call("NoSuchMethod");
            e.privateMethod = await call("_private");
            e.lifecycleHook = await call("OnConnected");
            e.tooFewArguments = await call("Add", 1);
            e.tooManyArguments = await call("Add", 1, 2, 3);
            e.wrongType = await call("Add", "x", 1);
            e.floatForInt = await call("Add", 1.5, 1);
            e.echoAfter = await client.invoke("Echo", NON_ASCII);
            // Failing calls without an invocation id get no reply at all.
            await withTimeout(client.connection.send("ThrowException", "quiet"), WAIT_MS, "send ThrowException");
            await withTimeout(client.connection.send("NoSuchMethod"), WAIT_MS, "send NoSuchMethod");
            e.addAfterSends = await client.invoke("Add", 2, 3);
            e.state = client.connection.state;
            e.closeEvents = [...client.closeEvents];
            r[client.name] = e;
        }
        return r;
    },

    /** all, others, caller, client, clients, all_except. */
    async routing(s) {
        const [a, b, c] = [await s.connect("A"), await s.connect("B"), await s.connect("C")];
        const all = [a, b, c];
        const ids = await s.connectionIds(all);
        const r = {};
        r.distinctIds = new Set(Object.values(ids)).size === 3;

        await withTimeout(a.connection.send("Broadcast", "all-via-send"), WAIT_MS, "send Broadcast");
        r.allViaSend = await s.settle(a, all, "marker-1");

        await a.invoke("SendOthers", "others");
        r.others = await s.settle(a, all, "marker-2");

        await b.invoke("SendCaller", "caller");
        r.caller = await s.settle(a, all, "marker-3");

        await a.invoke("SendClient", ids.B, "client");
        r.client = await s.settle(a, all, "marker-4");

        await b.invoke("SendClients", [ids.A, ids.C], "clients");
        r.clients = await s.settle(a, all, "marker-5");

        await c.invoke("SendAllExcept", [ids.B, ids.C], "all-except");
        r.allExcept = await s.settle(a, all, "marker-6");

        await a.invoke("SendClient", "no-such-connection", "nobody");
        r.unknownClient = await s.settle(a, all, "marker-7");
        return r;
    },

    /** Groups: join, group, group_except, others_in_group, groups, leave. */
    async groups(s) {
        const names = ["A", "B", "C", "D", "E"];
        const clients = [];
        for (const name of names) {
            clients.push(await s.connect(name));
        }
        const [a, b, c, d, e] = clients;
        const ids = await s.connectionIds(clients);
        const g1 = `g1-${randomSuffix()}`;
        const g2 = `g2-${randomSuffix()}`;
        const r = {};

        // g1 = {A, B, C}, g2 = {D}, E in no group.
        for (const client of [a, b, c]) {
            r[`join${client.name}`] = describe(await client.invoke("JoinGroup", g1));
        }
        await d.invoke("JoinGroup", g2);

        await e.invoke("SendGroup", g1, "group");
        r.group = await s.settle(e, clients, "marker-1");

        await e.invoke("SendGroupExcept", g1, [ids.B], "group-except");
        r.groupExcept = await s.settle(e, clients, "marker-2");

        await a.invoke("SendOthersInGroup", g1, "others-in-group");
        r.othersInGroup = await s.settle(e, clients, "marker-3");

        await e.invoke("SendGroups", [g1, g2], "groups");
        r.groups = await s.settle(e, clients, "marker-4");

        // Joining twice changes nothing.
        await a.invoke("JoinGroup", g1);
        await e.invoke("SendGroup", g1, "group-after-double-join");
        r.groupAfterDoubleJoin = await s.settle(e, clients, "marker-5");

        // After LeaveGroup, B gets no more group sends.
        r.leaveB = describe(await b.invoke("LeaveGroup", g1));
        await e.invoke("SendGroup", g1, "group-after-leave");
        r.groupAfterLeave = await s.settle(e, clients, "marker-6");

        await e.invoke("SendOthersInGroup", g1, "others-in-group-from-outsider");
        r.othersInGroupFromOutsider = await s.settle(e, clients, "marker-7");

        // Last member leaves: the group is empty, nobody receives.
        for (const client of [a, c]) {
            await client.invoke("LeaveGroup", g1);
        }
        await e.invoke("SendGroup", g1, "empty-group");
        r.emptyGroup = await s.settle(e, clients, "marker-8");

        // Rejoin works.
        await b.invoke("JoinGroup", g1);
        await e.invoke("SendGroup", g1, "group-after-rejoin");
        r.groupAfterRejoin = await s.settle(e, clients, "marker-9");
        return r;
    },

    /** Users: two connections of alice, one of bob, one anonymous. */
    async users(s) {
        const alice1 = await s.connect("alice1", "/hubs/test", { user: "alice" });
        const alice2 = await s.connect("alice2", "/hubs/test", { user: "alice" });
        const bob = await s.connect("bob", "/hubs/test", { user: "bob" });
        const anon = await s.connect("anon");
        const all = [alice1, alice2, bob, anon];
        const r = { userIdentifiers: {} };
        for (const client of all) {
            r.userIdentifiers[client.name] = await client.invoke("GetUserIdentifier");
        }

        await anon.invoke("SendUser", "alice", "to-alice");
        r.user = await s.settle(anon, all, "marker-1");

        await alice1.invoke("SendUser", "bob", "to-bob");
        r.userBob = await s.settle(anon, all, "marker-2");

        await anon.invoke("SendUsers", ["bob", "carol"], "to-bob-and-carol");
        r.users = await s.settle(anon, all, "marker-3");

        await anon.invoke("SendUser", "carol", "to-carol");
        r.unknownUser = await s.settle(anon, all, "marker-4");

        // One of alice's connections goes away; the other still gets her messages.
        await alice2.stop();
        const remaining = [alice1, bob, anon];
        await anon.invoke("SendUser", "alice", "to-alice-again");
        r.userAfterStop = await s.settle(anon, remaining, "marker-5");
        r.stoppedInbox = [...alice2.inbox];
        return r;
    },

    /** stop() and start() again on the same HubConnection object. */
    async restart(s) {
        const a = s.build("A", "/hubs/test");
        const r = {};
        r.initialState = a.connection.state;
        await a.start();
        r.stateAfterStart = a.connection.state;
        const firstId = await a.invoke("GetConnectionId");
        r.firstClientIdMatches = s.skipNegotiation
            ? a.connection.connectionId === undefined || a.connection.connectionId === null
            : a.connection.connectionId === firstId;
        r.firstEcho = await a.invoke("Echo", "first");

        await a.stop();
        await a.waitForCloseCount(1);
        r.closeEventsAfterStop = [...a.closeEvents];
        r.stateAfterStop = a.connection.state;
        r.invokeWhileStopped = await errorOf(a.connection.invoke("Echo", "x"), "invoke while stopped");

        await a.start();
        r.stateAfterRestart = a.connection.state;
        const secondId = await a.invoke("GetConnectionId");
        r.secondClientIdMatches = s.skipNegotiation
            ? a.connection.connectionId === undefined || a.connection.connectionId === null
            : a.connection.connectionId === secondId;
        r.connectionIdChanged = typeof secondId === "string" && secondId.length > 0 && secondId !== firstId;
        r.secondEcho = await a.invoke("Echo", NON_ASCII);
        r.secondAdd = await a.invoke("Add", 2, 3);

        // Handlers survive the restart.
        await a.invoke("SendCaller", "after-restart");
        await a.waitForMessage("after-restart");
        r.inbox = a.inbox.splice(0);

        await a.stop();
        await a.waitForCloseCount(2);
        r.closeEvents = [...a.closeEvents];
        r.finalState = a.connection.state;
        return r;
    },

    /** Context.abort() on the server closes the client without an error. */
    async abort(s) {
        const victim = await s.connect("victim");
        const bystander = await s.connect("bystander");
        const r = {};
        const victimId = await victim.invoke("GetConnectionId");
        await withTimeout(victim.connection.send("Abort"), WAIT_MS, "send Abort");
        await victim.waitForCloseCount(1);
        r.closeEvents = [...victim.closeEvents];
        r.state = victim.connection.state;
        r.invokeAfterAbort = await errorOf(victim.connection.invoke("Echo", "x"), "invoke after abort");

        // The server forgot the aborted connection; the other one is unaffected.
        await bystander.invoke("SendClient", victimId, "to-aborted");
        await bystander.invoke("SendCaller", "bystander-ok");
        await bystander.waitForMessage("bystander-ok");
        r.bystanderInbox = bystander.inbox.splice(0);
        r.victimInbox = [...victim.inbox];
        r.bystanderCloseEvents = [...bystander.closeEvents];

        // The aborted HubConnection object can be started again.
        await victim.start();
        r.restartedEcho = await victim.invoke("Echo", "back");
        r.restartedIdChanged = (await victim.invoke("GetConnectionId")) !== victimId;

        // Abort from an invocation WITH an id: the pending invoke is cancelled by the close.
        r.invokeAbort = await errorOf(victim.connection.invoke("Abort"), "invoke Abort");
        await victim.waitForCloseCount(2);
        r.closeEventsAfterInvokeAbort = [...victim.closeEvents];
        r.stateAfterInvokeAbort = victim.connection.state;
        return r;
    },

    /** The JSON-only hub accepts json and refuses messagepack in the handshake. */
    async jsonOnly(s) {
        const a = s.build("A", "/hubs/json");
        const r = {};
        if (s.protocol === "json") {
            await a.start();
            r.echo = await a.invoke("Echo", NON_ASCII);
            r.state = a.connection.state;
        } else {
            r.startError = await errorOf(a.connection.start(), "start on /hubs/json");
            r.state = a.connection.state;
        }
        return r;
    },

    /** Server-to-client streams: items, order, completion and error texts. */
    async streams(s) {
        const plain = await s.connect("plain", "/hubs/test");
        const detailed = await s.connect("detailed", "/hubs/detailed");
        const r = {};
        r.counter = await plain.streamAll("Counter", 3, 0);

        const large = await plain.streamWithin(LARGE_STREAM_MS, "Counter", 10000, 0);
        r.large = {
            count: large.items.length,
            inOrder: large.items.every((value, index) => value === index),
            first: large.items[0],
            last: large.items[large.items.length - 1],
            error: large.error,
        };

        // Streams run outside the invocation limit: two at once on one connection.
        r.concurrent = await Promise.all([plain.streamAll("Counter", 5, 0.01), plain.streamAll("Counter", 4, 0.01)]);

        r.empty = await plain.streamAll("EmptyStream");
        r.iterator = await plain.streamAll("IteratorMethod", 3);
        for (const client of [plain, detailed]) {
            r[client.name] = {
                throwing: await client.streamAll("ThrowingStream", 2, "bad"),
                failing: await client.streamAll("FailingStream", 1),
                invokeStreaming: await errorOf(client.connection.invoke("Counter", 3, 0), "invoke Counter"),
                streamNonStreaming: await client.streamAll("Add", 1, 2),
                streamUnknown: await client.streamAll("NoSuchMethod"),
                echoAfter: await client.invoke("Echo", NON_ASCII),
                state: client.connection.state,
            };
        }
        return r;
    },

    /** Disposing a stream subscription cancels the stream on the server. */
    async streamCancel(s) {
        const a = await s.connect("A");
        a.handle("StreamCanceled");
        const r = {};

        // Infinite(0.01) yields every 10 ms until cancelled, then calls StreamCanceled(count) from its finally.
        const items = [];
        const ends = [];
        const subscription = a.connection.stream("Infinite", 0.01).subscribe({
            next: (item) => {
                items.push(item);
                a._check();
            },
            complete: () => ends.push("complete"),
            error: (err) => ends.push(`error: ${err instanceof Error ? err.message : String(err)}`),
        });
        await a.waitUntil(() => items.length >= 3, "3 items of Infinite");
        subscription.dispose();
        const receivedAtDispose = items.length;
        await a.waitUntil((c) => c.other.some((o) => o.target === "StreamCanceled"), "StreamCanceled");
        // Barrier: the server answers in order on the connection, so once this round trip
        // is back, everything it sent for the stream before it has arrived.
        r.echoAfterCancel = await a.invoke("Echo", "barrier");

        const streamId = a.wire.find((m) => m.type === MessageType.StreamItem).invocationId;
        const wireItems = a.wire
            .filter((m) => m.type === MessageType.StreamItem && m.invocationId === streamId)
            .map((m) => m.item);
        const lastItemAt = a.wire.findLastIndex((m) => m.type === MessageType.StreamItem && m.invocationId === streamId);
        const canceled = a.other.filter((o) => o.target === "StreamCanceled");
        r.receivedAtLeast3 = receivedAtDispose >= 3;
        r.itemsAfterDispose = items.length - receivedAtDispose;
        r.subscriberEnds = ends;
        r.wireItemsInOrder = wireItems.length >= receivedAtDispose && wireItems.every((v, i) => v === i);
        r.streamCanceledCalls = canceled.length;
        // The server counted every item it sent: all of them came before StreamCanceled.
        r.canceledCountIsItemsSent = canceled[0].args.length === 1 && canceled[0].args[0] === wireItems.length;
        r.wireAfterLastItem = a.wire
            .slice(lastItemAt + 1)
            .filter((m) => m.type !== MessageType.Ping)
            .map((m) => summarize(m, streamId));

        // WatchToken: the CancellationToken parameter is cancelled; nothing more is streamed.
        const watchItems = [];
        const watchEnds = [];
        const watch = a.connection.stream("WatchToken").subscribe({
            next: (item) => {
                watchItems.push(item);
                a._check();
            },
            complete: () => watchEnds.push("complete"),
            error: (err) => watchEnds.push(`error: ${err instanceof Error ? err.message : String(err)}`),
        });
        await a.waitUntil(() => watchItems.length >= 1, "WatchToken started");
        const watchId = a.wire.find((m) => m.type === MessageType.StreamItem && m.item === "started").invocationId;
        watch.dispose();
        await a.waitUntil(
            (c) => c.wireFor(watchId).some((m) => m.type === MessageType.Completion),
            "Completion of the cancelled WatchToken",
        );
        r.echoAfterWatch = await a.invoke("Echo", "barrier-2");
        r.watchItems = watchItems;
        r.watchEnds = watchEnds;
        r.watchWire = a.wireFor(watchId).map((m) => summarize(m, watchId));

        // The connection still streams afterwards.
        r.counterAfter = await a.streamAll("Counter", 3, 0);
        r.state = a.connection.state;
        return r;
    },

    /** Client-to-server streams (Subject). */
    async uploads(s) {
        const plain = await s.connect("plain", "/hubs/test");
        const detailed = await s.connect("detailed", "/hubs/detailed");
        const r = {};

        const lines = new Subject();
        const upload = plain.invoke("Upload", lines);
        for (const line of ["a", "b", "c"]) {
            lines.next(line);
        }
        lines.complete();
        r.upload = await upload;

        // An invocation while an upload is still open: it runs, and the upload goes on.
        const open = new Subject();
        const uploadOpen = plain.invoke("Upload", open);
        open.next("1");
        r.echoDuringUpload = await plain.invoke("Echo", "during upload");
        open.next("2");
        open.complete();
        r.uploadAfterEcho = await uploadOpen;

        const unicode = new Subject();
        const uploadUnicode = plain.invoke("Upload", unicode);
        unicode.next(NON_ASCII);
        unicode.next("!");
        unicode.complete();
        r.uploadUnicode = await uploadUnicode;

        const empty = new Subject();
        const uploadEmpty = plain.invoke("Upload", empty);
        empty.complete();
        r.uploadEmpty = await uploadEmpty;

        // The client ends the upload with an error: the hub's iterator raises HubException(text).
        const failing = new Subject();
        const uploadError = plain.invoke("UploadError", failing);
        failing.next("x");
        failing.error(new Error("Something bad"));
        r.uploadError = await uploadError;

        // The same, unhandled in the hub method: it fails the invocation.
        for (const client of [plain, detailed]) {
            const subject = new Subject();
            const pending = errorOf(client.connection.invoke("Upload", subject), `${client.name}: Upload`);
            subject.next("x");
            subject.error(new Error("Something bad"));
            r[`uploadErrorUnhandled_${client.name}`] = await pending;
        }

        // Two uploads in one call. The stock client (10.0.11) cannot send two stream
        // arguments in a row: _replaceStreamingParams splices a stream out of `args`
        // and then skips the next element, so the second Subject goes out as a plain
        // argument next to ONE stream id, and the server rejects the binding.
        for (const client of [plain, detailed]) {
            r[`uploadTwoStockClient_${client.name}`] = await errorOf(
                client.connection.invoke("UploadTwo", new Subject(), new Subject()),
                `${client.name}: UploadTwo (stock client)`,
            );
        }
        // The same call from a client whose _replaceStreamingParams does not skip.
        const patched = await s.connect("patched", "/hubs/test");
        patched.connection._replaceStreamingParams = replaceStreamingParamsWithoutSkipping;
        const first = new Subject();
        const second = new Subject();
        const two = patched.invoke("UploadTwo", first, second);
        first.next("x");
        second.next(1);
        first.next("y");
        second.next(2);
        second.next(3);
        second.complete();
        first.complete();
        r.uploadTwo = await two;

        const numbers = new Subject();
        const sum = plain.invoke("UploadSum", "total", numbers);
        for (const n of [1, 2, 3, 4]) {
            numbers.next(n);
        }
        numbers.complete();
        r.uploadSum = await sum;

        // An upload feeding a server stream.
        const source = new Subject();
        const doubled = plain.streamAll("UploadToStream", source);
        for (const n of [1, 2, 3]) {
            source.next(n);
        }
        source.complete();
        r.uploadToStream = await doubled;

        // Wrong number of streams.
        for (const client of [plain, detailed]) {
            const call = (...args) => errorOf(client.connection.invoke(...args), `${client.name}: ${args[0]}`);
            r[`wrongStreams_${client.name}`] = {
                noStream: await call("Upload"),
                plainValue: await call("Upload", "abc"),
                twoStreams: await call("Upload", new Subject(), new Subject()),
                streamToPlainMethod: await call("Echo", new Subject()),
                streamInvocationNoStream: (await client.streamAll("UploadToStream")).error,
                echoAfter: await client.invoke("Echo", NON_ASCII),
                state: client.connection.state,
            };
        }
        return r;
    },

    /** The server invokes client methods and awaits their results. */
    async clientResults(s) {
        // /hubs/test allows one invocation at a time per connection.
        const a = await s.connect("A", "/hubs/test");
        const r = {};

        a.handle("GetNumber", () => 10);
        r.ten = await a.invoke("AskCallerDescribed", "GetNumber", 5);
        a.connection.off("GetNumber");
        a.handle("GetNumber", (n) => n + 1);
        // The hub method waits for its own caller's result without deadlocking it.
        r.askCaller = await a.invoke("AskCaller");
        r.echoAfterAskCaller = await a.invoke("Echo", NON_ASCII);
        r.described = await a.invoke("AskCallerDescribed", "GetNumber", 5);

        // The client answers GetNumber only after an Echo round trip of its own, sent
        // while AskCaller waits for that answer: the server must run the Echo although
        // AskCaller has not finished (one invocation at a time on /hubs/test).
        const echoedDuringAsk = [];
        a.connection.off("GetNumber");
        a.handle("GetNumber", async (n) => {
            echoedDuringAsk.push(await a.invoke("Echo", "during AskCaller"));
            return n + 1;
        });
        r.askCallerWithNestedEcho = await a.invoke("AskCaller");
        r.echoedDuringAsk = echoedDuringAsk;
        a.connection.off("GetNumber");
        a.handle("GetNumber", (n) => n + 1);

        a.handle("AsyncDouble", async (n) => {
            await new Promise((resolve) => setImmediate(resolve));
            return n * 2;
        });
        r.asyncHandler = await a.invoke("AskCallerDescribed", "AsyncDouble", 5);

        a.handle("Throw", () => {
            throw new Error("from callback");
        });
        r.clientThrows = await a.invoke("AskCallerDescribed", "Throw", 5);
        r.noHandler = await a.invoke("AskCallerDescribed", "NotRegistered", 5);
        a.handle("NoResult");
        r.handlerReturnsNothing = await a.invoke("AskCallerDescribed", "NoResult", 5);
        a.handle("WrongType", () => "not a number");
        r.wrongType = await a.invoke("AskCallerDescribed", "WrongType", 5);
        a.handle("Hang", () => new Promise(() => {}));
        r.timeout = await a.invoke("AskCallerDescribed", "Hang", 0.3);
        r.unknownConnection = await a.invoke("AskClient", "nope", "GetNumber", 5);

        // B disconnects while the server waits for its result.
        const b = await s.connect("B", "/hubs/test");
        b.handle("Hang", () => new Promise(() => {}));
        const bId = await b.invoke("GetConnectionId");
        const pending = a.invoke("AskClient", bId, "Hang", 10);
        await b.waitUntil((c) => c.other.some((o) => o.target === "Hang"), "Hang called on B");
        await b.stop();
        r.disconnected = await pending;
        r.disconnectedId = bId;

        // Another connection's result, through a hub method.
        const c = await s.connect("C", "/hubs/test");
        c.handle("GetNumber", (n) => n * 3);
        r.otherClient = await a.invoke("AskClient", await c.invoke("GetConnectionId"), "GetNumber", 5);

        r.calls = {
            A: a.other.map((o) => [o.target, ...o.args]),
            B: b.other.map((o) => [o.target, ...o.args]),
            C: c.other.map((o) => [o.target, ...o.args]),
        };
        r.echoAfter = await a.invoke("Echo", "end");
        r.closeEvents = { A: [...a.closeEvents], B: [...b.closeEvents] };
        r.state = a.connection.state;
        return r;
    },

    /** A client result requested by an aiohttp route through the hub context. */
    async hubContext(s) {
        const a = await s.connect("A");
        a.handle("GetNumber", (n) => n + 1);
        const b = await s.connect("B");
        b.handle("GetNumber", () => {
            throw new Error("from callback");
        });
        const ids = await s.connectionIds([a, b]);
        const r = {};
        r.ask = await s.post(`/api/ask/${encodeURIComponent(ids.A)}`);
        r.askThrowing = await s.post(`/api/ask/${encodeURIComponent(ids.B)}`);
        r.askUnknown = await s.post("/api/ask/nope");
        r.calls = {
            A: a.other.map((o) => [o.target, ...o.args]),
            B: b.other.map((o) => [o.target, ...o.args]),
        };
        r.echoAfter = await a.invoke("Echo", "after");
        r.state = a.connection.state;
        return r;
    },

    // ------------------------------------------------ transports (--transport)

    /**
     * The basics over the forced transport (--transport): two clients, A and
     * B, on /hubs/test. Results, send, server-to-client calls, a group,
     * errors, a server stream, an upload, a client result, a path in another
     * case, and the transport the server reports (/hubs/auth Whoami).
     */
    async transports(s) {
        const a = await s.connect("A");
        const b = await s.connect("B");
        const both = [a, b];
        const r = {};
        r.transportClasses = { A: transportClass(a), B: transportClass(b) };
        r.echo = await a.invoke("Echo", NON_ASCII);
        r.add = await a.invoke("Add", 2, 3);

        // send(): Broadcast -> Receive on every connection.
        r.sendResult = describe(await withTimeout(a.connection.send("Broadcast", NON_ASCII), WAIT_MS, "send"));
        r.all = await s.settle(a, both, "marker-1");
        await b.invoke("SendCaller", "caller");
        r.caller = await s.settle(a, both, "marker-2");
        await a.invoke("SendOthers", "others");
        r.others = await s.settle(a, both, "marker-3");

        // A group with B in it; A (not a member) sends to it.
        const group = `g-${randomSuffix()}`;
        r.join = describe(await b.invoke("JoinGroup", group));
        await a.invoke("SendGroup", group, "group");
        r.group = await s.settle(a, both, "marker-4");
        r.leave = describe(await b.invoke("LeaveGroup", group));
        await a.invoke("SendGroup", group, "group-after-leave");
        r.groupAfterLeave = await s.settle(a, both, "marker-5");

        r.hubException = await errorOf(a.connection.invoke("ThrowHubException", NON_ASCII), "ThrowHubException");
        r.unknownMethod = await errorOf(a.connection.invoke("NoSuchMethod"), "NoSuchMethod");
        r.echoAfterErrors = await a.invoke("Echo", "after errors");

        r.counter = await a.streamAll("Counter", 5, 0);

        const lines = new Subject();
        const upload = a.invoke("Upload", lines);
        for (const line of ["a", "b", "c"]) {
            lines.next(line);
        }
        lines.complete();
        r.upload = await upload;

        a.handle("GetNumber", (n) => n + 1);
        r.askCaller = await a.invoke("AskCaller");
        r.clientResultCalls = a.other.map((o) => [o.target, ...o.args]);

        // Hub paths match case-insensitively (negotiate, connect, sends, polls).
        const upper = await s.connect("upper", "/HUBS/TEST");
        r.upperCasePath = {
            transportClass: transportClass(upper),
            echo: await upper.invoke("Echo", NON_ASCII),
            counter: await upper.streamAll("Counter", 2, 0),
        };

        // The transport as the server sees it (HubCallerContext transport).
        const who = await s.connect("who", "/hubs/auth", {}, { accessTokenFactory: () => "user:carol" });
        r.whoami = await who.invoke("Whoami");

        for (const client of [a, b, upper, who]) {
            await client.stop();
        }
        r.closeEvents = Object.fromEntries([a, b, upper, who].map((c) => [c.name, [...c.closeEvents]]));
        r.states = Object.fromEntries([a, b, upper, who].map((c) => [c.name, c.connection.state]));
        return r;
    },

    /** Start failures of transport/protocol combinations (ignores --transport and the protocol argument). */
    async transportErrors(s) {
        const r = {};
        const startError = async (name, path, options) => {
            const client = s.build(name, path, {}, options);
            const error = await errorOf(client.connection.start(), `${name}: start`);
            return { error, state: client.connection.state, transportClass: transportClass(client) };
        };
        // The client refuses SSE for a binary protocol itself: after negotiate
        // it finds no offered transport that is both enabled and Binary-capable.
        r.sseMessagePack = await startError("sseMessagePack", "/hubs/test", {
            transport: "ServerSentEvents",
            protocol: "messagepack",
        });
        // A MessagePack protocol object that claims the Text transfer format
        // gets past that check: the handshake then reaches the server, which
        // refuses it. The client reports the server's handshake error.
        //
        // Over SSE the client sends its handshake in an HTTP POST, and the reply
        // can arrive on the event stream before that POST completes; the client
        // then rejects its internal handshake promise while nothing awaits it yet,
        // which Node reports as an unhandled rejection (and would exit on). It is
        // the same error start() rejects with, so it is tolerated for this step.
        const ignoreHandshakeRejection = (reason) => {
            if (!(reason instanceof Error && reason.message.startsWith("Server returned handshake error: "))) {
                throw reason;
            }
            process.stderr.write(`[scenario] client left a rejection unhandled: ${reason.message}\n`);
        };
        process.on("unhandledRejection", ignoreHandshakeRejection);
        try {
            r.sseMessagePackClaimingText = await startError("sseMessagePackClaimingText", "/hubs/test", {
                transport: "ServerSentEvents",
                protocol: "messagepack",
                claimText: true,
            });
        } finally {
            process.off("unhandledRejection", ignoreHandshakeRejection);
        }
        // /hubs/wsonly offers WebSockets alone.
        r.wsOnlyLongPolling = await startError("wsOnlyLongPolling", "/hubs/wsonly", {
            transport: "LongPolling",
            protocol: "json",
        });
        r.wsOnlyServerSentEvents = await startError("wsOnlyServerSentEvents", "/hubs/wsonly", {
            transport: "ServerSentEvents",
            protocol: "json",
        });
        const ws = await s.connect("wsOnlyWebSockets", "/hubs/wsonly", {}, {
            transport: "WebSockets",
            protocol: "json",
        });
        r.wsOnlyWebSockets = { transportClass: transportClass(ws), echo: await ws.invoke("Echo", NON_ASCII) };
        return r;
    },

    // ------------------------------------------------------- authentication

    /**
     * /hubs/auth and /hubs/openauth over the forced transport, with the token
     * from accessTokenFactory ("factory") and in the URL query ("query"),
     * and where the client put the token on each request.
     */
    async auth(s) {
        const r = {};
        const viaFactory = (name, path, token) => {
            const tokenRecorder = new TokenRecorder(token);
            return [s.build(name, path, {}, { accessTokenFactory: () => token, tokenRecorder }), tokenRecorder];
        };
        const viaQuery = (name, path, token) => {
            const tokenRecorder = new TokenRecorder(token);
            return [s.build(name, path, { access_token: token }, { tokenRecorder }), tokenRecorder];
        };
        const modes = { factory: viaFactory, query: viaQuery };
        const recorders = {};

        for (const [mode, make] of Object.entries(modes)) {
            const [user, userTokens] = make(`user-${mode}`, "/hubs/auth", "user:alice");
            const [admin] = make(`admin-${mode}`, "/hubs/auth", "admin:root");
            const [bad] = make(`bad-${mode}`, "/hubs/auth", "bad");
            const [member] = make(`member-${mode}`, "/hubs/openauth", "user:alice");
            await user.start();
            await admin.start();
            await member.start();
            r[mode] = {
                whoami: await user.invoke("Whoami"),
                adminOnlyAsUser: await errorOf(user.connection.invoke("AdminOnly"), "AdminOnly as user"),
                adminOnlyAsAdmin: await admin.invoke("AdminOnly"),
                adminWhoami: await admin.invoke("Whoami"),
                badToken: await errorOf(bad.connection.start(), "start with token 'bad'"),
                badTokenState: bad.connection.state,
                openWhoami: await member.invoke("Whoami"),
                openMembersOnly: await member.invoke("MembersOnly"),
            };
            for (const client of [user, admin, member]) {
                await client.stop();
            }
            recorders[mode] = userTokens;
        }

        const noToken = s.build("noToken", "/hubs/auth", {});
        r.noToken = await errorOf(noToken.connection.start(), "start without a token");
        r.noTokenState = noToken.connection.state;

        const anonymous = await s.connect("anonymous", "/hubs/openauth");
        r.anonymous = {
            whoami: describe(await anonymous.invoke("Whoami")),
            membersOnly: await errorOf(anonymous.connection.invoke("MembersOnly"), "MembersOnly anonymously"),
            echo: await anonymous.invoke("Echo", NON_ASCII),
        };
        // Every request of the user-alice connections, start to stop.
        r.tokenCarriers = Object.fromEntries(Object.entries(recorders).map(([mode, t]) => [mode, t.summary()]));
        return r;
    },

    /**
     * Connections of the same user on different transports (ignores
     * --transport): SendUser reaches all of them. "bob" connections carry
     * the token "user:bob"; those in `tagged` also carry ?user=bob (the
     * conformance server's app-wide user id provider reads that parameter).
     */
    async authUsers(s) {
        const connect = (name, transport, path, query, token) =>
            s.connect(name, path, query, token ? { transport, accessTokenFactory: () => token } : { transport });
        const r = {};
        const tagged = [
            await connect("bobWebSockets", "WebSockets", "/hubs/auth", { user: "bob" }, "user:bob"),
            await connect("bobServerSentEvents", "ServerSentEvents", "/hubs/auth", { user: "bob" }, "user:bob"),
            await connect("bobLongPolling", "LongPolling", "/hubs/auth", { user: "bob" }, "user:bob"),
        ];
        const tokenOnly = [
            await connect("tokenBobWebSockets", "WebSockets", "/hubs/auth", {}, "user:bob"),
            await connect("tokenBobLongPolling", "LongPolling", "/hubs/auth", {}, "user:bob"),
        ];
        const alice = await connect("alice", "ServerSentEvents", "/hubs/auth", { user: "alice" }, "user:alice");
        const all = [...tagged, ...tokenOnly, alice];
        r.userIdentifiers = {};
        for (const client of all) {
            r.userIdentifiers[client.name] = await client.invoke("GetUserIdentifier");
        }
        await alice.invoke("SendUser", "bob", "to-bob");
        r.sendUser = await s.settle(alice, all, "marker-1");
        await tagged[0].invoke("SendUsers", ["alice", "carol"], "to-alice-and-carol");
        r.sendUsers = await s.settle(alice, all, "marker-2");
        return r;
    },
};

// --------------------------------------------------------------------- main

const SCENARIO_DEADLINE_MS = { users: 20000, groups: 20000, routing: 20000, transports: 20000, auth: 20000 };

async function main(argv) {
    const args = argv.filter((a) => !a.startsWith("--"));
    const flags = new Set(argv.filter((a) => a.startsWith("--")));
    const [baseUrl, protocol, name] = args;
    if (!baseUrl || !["json", "messagepack"].includes(protocol) || !(name in scenarios)) {
        throw new Error(`${USAGE}\nscenarios: ${Object.keys(scenarios).join(", ")}`);
    }
    let transport = "WebSockets";
    const unknownFlags = [];
    for (const flag of flags) {
        if (flag.startsWith("--transport=")) {
            transport = flag.slice("--transport=".length);
            if (!TRANSPORTS.includes(transport)) {
                throw new Error(`unknown transport ${JSON.stringify(transport)}\n${USAGE}`);
            }
        } else if (flag !== "--skip-negotiation") {
            unknownFlags.push(flag);
        }
    }
    if (unknownFlags.length) {
        throw new Error(`unknown flags ${unknownFlags.join(" ")}\n${USAGE}`);
    }
    const s = new Scenario(baseUrl, protocol, flags.has("--skip-negotiation"), transport);
    try {
        return await withTimeout(scenarios[name](s), SCENARIO_DEADLINE_MS[name] ?? 15000, `scenario ${name}`);
    } finally {
        await s.cleanup();
    }
}

const scenarioName = process.argv[4] ?? null;
main(process.argv.slice(2)).then(
    (result) => {
        process.stdout.write(`${JSON.stringify({ ok: true, scenario: scenarioName, result })}\n`);
        process.exit(0);
    },
    (err) => {
        const error = err instanceof Error ? err.message : String(err);
        process.stderr.write(`${err instanceof Error ? err.stack : error}\n`);
        process.stdout.write(`${JSON.stringify({ ok: false, scenario: scenarioName, error })}\n`);
        process.exit(1);
    },
);
