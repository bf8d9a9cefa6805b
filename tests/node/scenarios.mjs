#!/usr/bin/env node
// Interop scenarios driven by the official JavaScript SignalR client.
//
//   node scenarios.mjs <baseUrl> <json|messagepack> <scenario> [--skip-negotiation]
//
// Talks to the hubs of protocol_tests/conformance_server.py over WebSockets
// (with or without the negotiate request), then prints exactly ONE JSON line
// on stdout: {"ok":true,"scenario":...,"result":{...}} and exits 0, or
// {"ok":false,"scenario":...,"error":"..."} and exits 1. Client logs go to
// stderr only, so stdout stays parseable. Every wait has a deadline; there
// are no bare sleeps.

import process from "node:process";

import { HttpTransportType, HubConnectionBuilder, HubConnectionState, LogLevel } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

const USAGE = "usage: node scenarios.mjs <baseUrl> <json|messagepack> <scenario> [--skip-negotiation]";
const WAIT_MS = 5000; // deadline of one wait (a message, a close, an invocation)
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

function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The error message of a promise that must reject; throws if it resolves.
 * (A timeout is returned as its message, so the assertion shows it.)
 */
async function errorOf(promise, what) {
    let value;
    try {
        value = await withTimeout(promise, WAIT_MS, what);
    } catch (err) {
        return err instanceof Error ? err.message : String(err);
    }
    throw new Error(`${what} resolved with ${JSON.stringify(value)} but should have failed`);
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

function randomSuffix() {
    return Math.random().toString(36).slice(2, 10);
}

class Client {
    constructor(name, connection) {
        this.name = name;
        this.connection = connection;
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

class Scenario {
    constructor(baseUrl, protocol, skipNegotiation) {
        this.baseUrl = baseUrl.replace(/\/+$/, "");
        this.protocol = protocol;
        this.skipNegotiation = skipNegotiation;
        this.clients = [];
    }

    build(name, path, query = {}) {
        const url = new URL(this.baseUrl + path);
        for (const [key, value] of Object.entries(query)) {
            url.searchParams.set(key, value);
        }
        let builder = new HubConnectionBuilder()
            .withUrl(url.toString(), {
                transport: HttpTransportType.WebSockets,
                skipNegotiation: this.skipNegotiation,
            })
            .configureLogging(stderrLogger);
        if (this.protocol === "messagepack") {
            builder = builder.withHubProtocol(new MessagePackHubProtocol());
        }
        const client = new Client(name, builder.build());
        this.clients.push(client);
        return client;
    }

    async connect(name, path = "/hubs/test", query = {}) {
        const client = this.build(name, path, query);
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
};

// --------------------------------------------------------------------- main

const SCENARIO_DEADLINE_MS = { users: 20000, groups: 20000, routing: 20000 };

async function main(argv) {
    const args = argv.filter((a) => !a.startsWith("--"));
    const flags = new Set(argv.filter((a) => a.startsWith("--")));
    const [baseUrl, protocol, name] = args;
    if (!baseUrl || !["json", "messagepack"].includes(protocol) || !(name in scenarios)) {
        throw new Error(`${USAGE}\nscenarios: ${Object.keys(scenarios).join(", ")}`);
    }
    const unknownFlags = [...flags].filter((f) => f !== "--skip-negotiation");
    if (unknownFlags.length) {
        throw new Error(`unknown flags ${unknownFlags.join(" ")}\n${USAGE}`);
    }
    const s = new Scenario(baseUrl, protocol, flags.has("--skip-negotiation"));
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
