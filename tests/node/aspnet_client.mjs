#!/usr/bin/env node
// Interop checks with the OLD JavaScript client, @aspnet/signalr 1.1.4
// (ASP.NET Core 2.x era, CommonJS only, loaded here through createRequire).
//
//   node aspnet_client.mjs <baseUrl> <WebSockets|ServerSentEvents|LongPolling>
//
// Talks JSON to the hubs of protocol_tests/conformance_server.py over the
// forced transport (signalR.HttpTransportType.<name>) and prints exactly ONE
// JSON line on stdout: {"ok":true,"transport":...,"result":{...}} and exits
// 0, or {"ok":false,"transport":...,"error":"..."} and exits 1. Client logs
// go to stderr. Every wait has a deadline; there are no bare sleeps.
//
// In Node 20 the 1.1.4 client needs no polyfill: its HttpConnection
// require()s its own dependencies, "ws" 6.x (WebSockets) and "eventsource"
// 1.x (Server-Sent Events), and its NodeHttpClient uses "request" (negotiate,
// long polling, sends). npm installs them with the package (ws and
// eventsource nested under node_modules/@aspnet/signalr/node_modules).

import { createRequire } from "node:module";
import process from "node:process";

const require = createRequire(import.meta.url);
const signalR = require("@aspnet/signalr");
// The very modules the client loads itself (resolved from its own directory).
const requireFromClient = createRequire(require.resolve("@aspnet/signalr"));
const ClientWebSocket = requireFromClient("ws");
const ClientEventSource = requireFromClient("eventsource");

const TRANSPORTS = ["WebSockets", "ServerSentEvents", "LongPolling"];
const USAGE = `usage: node aspnet_client.mjs <baseUrl> <${TRANSPORTS.join("|")}>`;
const WAIT_MS = 5000;
const SCENARIO_MS = 20000;
const NON_ASCII = "héllo ✓ 日本語 🎉";

const stderrLogger = {
    log(level, message) {
        if (level >= signalR.LogLevel.Warning) {
            process.stderr.write(`[aspnet/signalr ${signalR.LogLevel[level]}] ${message}\n`);
        }
    },
};

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

/** The error message of a promise that must reject (a timeout shows as its message). */
function errorOf(promise, what) {
    return handled(
        withTimeout(Promise.resolve(promise), WAIT_MS, what).then(
            (value) => {
                throw new Error(`${what} resolved with ${JSON.stringify(value)} but should have failed`);
            },
            (err) => (err instanceof Error ? err.message : String(err)),
        ),
    );
}

function describe(value) {
    if (value === undefined) {
        return { type: "undefined" };
    }
    if (value === null) {
        return { type: "null" };
    }
    return { type: typeof value, value };
}

/**
 * Every request a client makes, as {kind, url, authorization}: kind is
 * "negotiate", "send" (POST), "poll" (GET), "delete", "websocket" or
 * "eventsource".
 */
class RequestLog {
    constructor() {
        this.requests = [];
    }

    add(kind, url, headers) {
        this.requests.push({ kind, url: new URL(url), authorization: headers?.Authorization ?? null });
    }

    /** HttpConnection options that route every request through this log. */
    options() {
        const log = this;
        class RecordingHttpClient extends signalR.HttpClient {
            constructor() {
                super();
                this._inner = new signalR.DefaultHttpClient(stderrLogger);
            }

            send(request) {
                let kind = request.method.toLowerCase();
                if (request.method === "POST") {
                    kind = request.url.includes("/negotiate") ? "negotiate" : "send";
                } else if (request.method === "GET") {
                    kind = "poll";
                }
                log.add(kind, request.url, request.headers);
                const response = this._inner.send(request);
                if (kind === "negotiate") {
                    log.negotiateResponse = response.then((r) => JSON.parse(r.content));
                    handled(log.negotiateResponse);
                }
                return response;
            }

            getCookieString(url) {
                return this._inner.getCookieString(url);
            }
        }
        function WebSocket(url, protocols, options) {
            log.add("websocket", url, options?.headers);
            return new ClientWebSocket(url, protocols, options);
        }
        Object.assign(WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
        function EventSource(url, init) {
            log.add("eventsource", url, init?.headers);
            return new ClientEventSource(url, init);
        }
        return { httpClient: new RecordingHttpClient(), WebSocket, EventSource };
    }

    /** Distinct `id` query values of the transport requests (everything but negotiate). */
    connectIds() {
        return [
            ...new Set(this.requests.filter((r) => r.kind !== "negotiate").map((r) => r.url.searchParams.get("id"))),
        ];
    }

    /** Per kind, the distinct places the token was put: "header", "query", both or "none". */
    tokenCarriers(token) {
        const seen = {};
        for (const { kind, url, authorization } of this.requests) {
            const carriers = [];
            if (authorization !== null) {
                carriers.push(authorization === `Bearer ${token}` ? "header" : `header(${authorization})`);
            }
            const query = url.searchParams.get("access_token");
            if (query !== null) {
                carriers.push(query === token ? "query" : `query(${query})`);
            }
            (seen[kind] ??= new Set()).add(carriers.length ? carriers.join("+") : "none");
        }
        return Object.fromEntries(
            Object.entries(seen)
                .sort()
                .map(([kind, set]) => [kind, [...set].sort()]),
        );
    }
}

class Client {
    constructor(name, baseUrl, path, transport, extraOptions = {}) {
        this.name = name;
        this.requests = new RequestLog();
        this.inbox = [];
        this.closeEvents = [];
        this._waiters = [];
        this.connection = new signalR.HubConnectionBuilder()
            .withUrl(baseUrl + path, {
                transport: signalR.HttpTransportType[transport],
                ...this.requests.options(),
                ...extraOptions,
            })
            .configureLogging(stderrLogger)
            .build();
        this.connection.on("Receive", (message) => {
            this.inbox.push(message);
            this._check();
        });
        this.connection.onclose((error) => {
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

    waitUntil(predicate, what) {
        if (predicate(this)) {
            return Promise.resolve();
        }
        return withTimeout(
            new Promise((resolve) => this._waiters.push({ predicate, resolve })),
            WAIT_MS,
            `${this.name}: ${what}`,
        );
    }

    get state() {
        return signalR.HubConnectionState[this.connection.state];
    }

    start() {
        return withTimeout(this.connection.start(), WAIT_MS, `${this.name}: start`);
    }

    stop() {
        return withTimeout(this.connection.stop(), WAIT_MS, `${this.name}: stop`);
    }

    invoke(method, ...args) {
        return withTimeout(this.connection.invoke(method, ...args), WAIT_MS, `${this.name}: invoke ${method}`);
    }

    send(method, ...args) {
        return withTimeout(this.connection.send(method, ...args), WAIT_MS, `${this.name}: send ${method}`);
    }

    /** All items of the server stream `method(...args)`: {items, error}. */
    stream(method, ...args) {
        const items = [];
        return withTimeout(
            new Promise((resolve) => {
                this.connection.stream(method, ...args).subscribe({
                    next: (item) => items.push(item),
                    complete: () => resolve({ items, error: null }),
                    error: (err) => resolve({ items, error: err instanceof Error ? err.message : String(err) }),
                });
            }),
            WAIT_MS,
            `${this.name}: stream ${method}`,
        );
    }
}

async function scenario(baseUrl, transport, clients) {
    const make = (name, path = "/hubs/test", options = {}) => {
        const client = new Client(name, baseUrl, path, transport, options);
        clients.push(client);
        return client;
    };
    const a = make("A");
    const b = make("B");
    const r = {};
    await a.start();
    await b.start();
    r.stateAfterStart = a.state;

    // Negotiate version 0: no negotiateVersion in the request; the reply has a
    // connectionId (and no connectionToken), and the transport uses id=<connectionId>.
    const negotiate = a.requests.requests.find((q) => q.kind === "negotiate");
    const negotiated = await withTimeout(a.requests.negotiateResponse, WAIT_MS, "negotiate response");
    r.negotiateQuery = negotiate.url.search;
    r.negotiateResponse = {
        keys: Object.keys(negotiated).sort(),
        negotiateVersion: negotiated.negotiateVersion,
        availableTransports: negotiated.availableTransports,
    };
    const connectionId = await a.invoke("GetConnectionId");
    r.connectIdIsConnectionId = {
        fromNegotiate: negotiated.connectionId === connectionId,
        onTransport: JSON.stringify(a.requests.connectIds()) === JSON.stringify([connectionId]),
    };
    r.requestKinds = [...new Set(a.requests.requests.map((q) => q.kind))].sort();

    r.echo = await a.invoke("Echo", NON_ASCII);
    r.add = await a.invoke("Add", 2, 3);

    // send(): no invocation id; Broadcast calls Receive on every connection.
    r.sendResult = describe(await a.send("Broadcast", NON_ASCII));
    await Promise.all([a, b].map((c) => c.waitUntil((x) => x.inbox.includes(NON_ASCII), "Broadcast")));
    await b.invoke("SendCaller", "caller");
    await b.waitUntil((x) => x.inbox.includes("caller"), "SendCaller");

    // A group holding B; A sends to it, then B leaves and A sends again;
    // a final broadcast marks the end, so B's inbox is complete.
    const group = `g-${Math.random().toString(36).slice(2, 10)}`;
    r.join = describe(await b.invoke("JoinGroup", group));
    await a.invoke("SendGroup", group, "group");
    r.leave = describe(await b.invoke("LeaveGroup", group));
    await a.invoke("SendGroup", group, "group-after-leave");
    await a.invoke("Broadcast", "marker");
    await Promise.all([a, b].map((c) => c.waitUntil((x) => x.inbox.includes("marker"), "marker")));
    r.inboxes = { A: [...a.inbox], B: [...b.inbox] };

    r.hubException = await errorOf(a.connection.invoke("ThrowHubException", NON_ASCII), "ThrowHubException");
    r.unknownMethod = await errorOf(a.connection.invoke("NoSuchMethod"), "NoSuchMethod");
    r.counter = await a.stream("Counter", 3, 0);
    r.echoAfter = await a.invoke("Echo", "after");

    await a.stop();
    await a.waitUntil((x) => x.closeEvents.length === 1, "onclose");
    r.closeEvents = [...a.closeEvents];
    r.stateAfterStop = a.state;
    r.invokeAfterStop = await errorOf(a.connection.invoke("Echo", "x"), "invoke after stop");

    // A client result: 1.x cannot answer an invocation with an id and closes.
    const c = make("C");
    c.connection.on("GetNumber", (n) => n + 1);
    await c.start();
    r.askCaller = await errorOf(c.connection.invoke("AskCaller"), "AskCaller");
    await c.waitUntil((x) => x.closeEvents.length === 1, "onclose after AskCaller");
    r.askCallerCloseEvents = [...c.closeEvents];
    r.askCallerState = c.state;

    // A token from accessTokenFactory: where 1.1.4 puts it in Node.
    const token = "user:alice";
    const who = make("who", "/hubs/auth", { accessTokenFactory: () => token });
    await who.start();
    r.whoami = await who.invoke("Whoami");
    await who.stop();
    r.tokenCarriers = who.requests.tokenCarriers(token);
    return r;
}

async function main(argv) {
    const [baseUrl, transport] = argv;
    if (!baseUrl || !TRANSPORTS.includes(transport) || argv.length !== 2) {
        throw new Error(USAGE);
    }
    const clients = [];
    try {
        return await withTimeout(
            scenario(baseUrl.replace(/\/+$/, ""), transport, clients),
            SCENARIO_MS,
            `@aspnet/signalr scenario (${transport})`,
        );
    } finally {
        await Promise.allSettled(
            clients
                .filter((c) => c.connection.state !== signalR.HubConnectionState.Disconnected)
                .map((c) => c.stop()),
        );
    }
}

const transportName = process.argv[3] ?? null;
main(process.argv.slice(2)).then(
    (result) => {
        process.stdout.write(`${JSON.stringify({ ok: true, transport: transportName, result })}\n`);
        process.exit(0);
    },
    (err) => {
        const error = err instanceof Error ? err.message : String(err);
        process.stderr.write(`${err instanceof Error ? err.stack : error}\n`);
        process.stdout.write(`${JSON.stringify({ ok: false, transport: transportName, error })}\n`);
        process.exit(1);
    },
);
