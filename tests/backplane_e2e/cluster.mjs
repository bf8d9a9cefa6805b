#!/usr/bin/env node
// Cross-node checks of the Postgres backplane with the official JavaScript
// SignalR client (json and messagepack), against three conformance servers
// (protocol_tests/conformance_server.py --postgres) sharing one Postgres.
//
//   node cluster.mjs <baseUrlA> <baseUrlB> <baseUrlC>
//
// Prints exactly ONE JSON line on stdout: {"ok":true,"result":{...}} and exits
// 0, or {"ok":false,"error":"..."} and exits 1. Client logs go to stderr.
// Every wait has a deadline; there are no sleeps: "nothing else arrived" is
// proven by settle() (fences broadcast from every node, see there).
//
// The client packages are loaded from ../node/node_modules.

import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import process from "node:process";

const require = createRequire(new URL("../node/package.json", import.meta.url));
const { HttpTransportType, HubConnectionBuilder, HubConnectionState, JsonHubProtocol, LogLevel } =
    require("@microsoft/signalr");
const { MessagePackHubProtocol } = require("@microsoft/signalr-protocol-msgpack");

const WAIT_MS = 8000; // deadline of one wait (a message, an invocation, an HTTP call)
const SCRIPT_DEADLINE_MS = 40000;

const stderrLogger = {
    log(level, message) {
        if (level >= LogLevel.Warning) {
            process.stderr.write(`[signalr ${LogLevel[level]}] ${message}\n`);
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

function randomSuffix() {
    return Math.random().toString(36).slice(2, 10);
}

class Client {
    constructor(name, node, baseUrl, protocol, user) {
        this.name = name;
        this.node = node;
        this.protocol = protocol;
        this.inbox = []; // arguments of every Receive(message), in order
        this.asked = []; // arguments of every GetNumber(n) the server invoked
        this._waiters = [];
        const url = new URL(`${baseUrl}/hubs/test`);
        if (user) {
            url.searchParams.set("user", user);
        }
        this.connection = new HubConnectionBuilder()
            .withUrl(url.toString(), { transport: HttpTransportType.WebSockets })
            .withHubProtocol(protocol === "messagepack" ? new MessagePackHubProtocol() : new JsonHubProtocol())
            .configureLogging(stderrLogger)
            .build();
        this.connection.on("Receive", (message) => {
            this.inbox.push(message);
            this._check();
        });
        this.connection.on("GetNumber", (n) => {
            this.asked.push(n);
            return n + 1;
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
        return withTimeout(new Promise((resolve) => this._waiters.push({ predicate, resolve })), WAIT_MS, `${this.name}: ${what}`);
    }

    waitFor(message, what = "a message") {
        return this.waitUntil((c) => c.inbox.includes(message), what);
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

async function http(method, url, body) {
    const init = { method, signal: AbortSignal.timeout(WAIT_MS) };
    if (body !== undefined) {
        init.headers = { "Content-Type": "application/json" };
        init.body = JSON.stringify(body);
    }
    const response = await withTimeout(fetch(url, init), WAIT_MS, `${method} ${url.slice(0, 120)}`);
    const text = await withTimeout(response.text(), WAIT_MS, `body of ${method}`);
    let parsed = text;
    try {
        parsed = JSON.parse(text);
    } catch {
        // not JSON: keep the text, the test shows it
    }
    return { status: response.status, body: parsed };
}

/** A deterministic, varied 100 KB string (printable ASCII from a linear congruential generator). */
function largeMessage(length) {
    const chars = [];
    let x = 12345;
    for (let i = 0; i < length; i++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        chars.push(String.fromCharCode(33 + (x % 94)));
    }
    return chars.join("");
}

function sha256(text) {
    return createHash("sha256").update(text, "utf8").digest("hex");
}

async function main([urlA, urlB, urlC]) {
    if (!urlA || !urlB || !urlC) {
        throw new Error("usage: node cluster.mjs <baseUrlA> <baseUrlB> <baseUrlC>");
    }
    const tag = randomSuffix();
    const user = `user-${tag}`;
    const urls = { A: urlA, B: urlB, C: urlC };
    const clients = [
        new Client("a1", "A", urlA, "json", user),
        new Client("a2", "A", urlA, "messagepack"),
        new Client("b1", "B", urlB, "messagepack", user),
        new Client("b2", "B", urlB, "json"),
        new Client("c1", "C", urlC, "json"),
        new Client("c2", "C", urlC, "messagepack"),
    ];
    const [a1, a2, b1, b2, c1, c2] = clients;
    let fenceCount = 0;

    /**
     * Proves delivery has settled and returns (and clears) every inbox. One
     * client per node broadcasts a fence; every client must receive all three.
     * Each step's sends completed (were committed to Postgres) before the
     * fences were sent, and each node handles notifications in commit order,
     * so the fences from the two other nodes reach a node after everything
     * the step published: whatever an inbox holds then is all it will ever
     * get from the step (duplicates included).
     */
    async function settle() {
        const fences = [a1, b1, c1].map((c) => `fence-${tag}-${++fenceCount}-${c.node}`);
        await Promise.all([a1, b1, c1].map((c, i) => c.invoke("Broadcast", fences[i])));
        await Promise.all(clients.flatMap((c) => fences.map((f) => c.waitFor(f, `fence ${f}`))));
        const snapshot = {};
        for (const client of clients) {
            snapshot[client.name] = client.inbox.splice(0).filter((m) => !String(m).startsWith(`fence-${tag}-`));
        }
        return snapshot;
    }

    try {
        await Promise.all(clients.map((c) => c.start()));
        const r = { tag, user };
        r.clients = Object.fromEntries(clients.map((c) => [c.name, { node: c.node, protocol: c.protocol }]));
        const ids = {};
        for (const c of clients) {
            ids[c.name] = await c.invoke("GetConnectionId");
        }
        r.distinctConnectionIds = new Set(Object.values(ids)).size;

        // 1. A broadcast from a client on A reaches everyone, once.
        await a1.invoke("Broadcast", "broadcast-from-a1");
        r.broadcast = await settle();

        // 2. A group joined on A, sent to from C.
        const joined = `joined-${tag}`;
        await a2.invoke("JoinGroup", joined);
        await c1.invoke("SendGroup", joined, "group-from-c1");
        r.groupJoinedOnA = await settle();

        // 3. Group add/remove of a connection on A through the hub context of B.
        const remote = `remote-${tag}`;
        const path = `/api/groups/${encodeURIComponent(ids.a1)}/${encodeURIComponent(remote)}`;
        r.remoteAdd = await http("POST", urlB + path);
        await c2.invoke("SendGroup", remote, "after-remote-add");
        r.afterRemoteAdd = await settle();
        r.remoteRemove = await http("DELETE", urlB + path);
        await c2.invoke("SendGroup", remote, "after-remote-remove");
        r.afterRemoteRemove = await settle();

        // 4. A user with connections on A and B, sent to from C.
        r.userIdentifiers = { a1: await a1.invoke("GetUserIdentifier"), b1: await b1.invoke("GetUserIdentifier") };
        await c1.invoke("SendUser", user, "to-user");
        r.sendUser = await settle();

        // 5. Client results across nodes, both protocol directions.
        r.askJsonToMessagepack = await a1.invoke("AskClient", ids.b1, "GetNumber", 5);
        r.askMessagepackToJson = await a2.invoke("AskClient", ids.b2, "GetNumber", 5);
        r.asked = Object.fromEntries(clients.map((c) => [c.name, c.asked]));
        const missing = `missing-${tag}`;
        r.missingId = missing;
        const started = Date.now();
        r.askMissing = await a1.invoke("AskClient", missing, "GetNumber", 5);
        r.askMissingMs = Date.now() - started;

        // 6. A 100 KB broadcast (through HTTP: hub invocations are limited to 32 KB).
        const large = largeMessage(100 * 1024);
        r.largeSent = { length: large.length, sha256: sha256(large) };
        r.largeSend = await http("POST", `${urlA}/api/send`, { message: large });
        await Promise.all(clients.map((c) => c.waitUntil((x) => x.inbox.some((m) => String(m).length >= 100000), "the 100 KB message")));
        const afterLarge = await settle();
        r.largeReceived = Object.fromEntries(
            Object.entries(afterLarge).map(([name, inbox]) => [
                name,
                inbox.map((m) => ({ length: String(m).length, sha256: sha256(String(m)), intact: m === large })),
            ]),
        );
        r.largeSpilledOnA = (await http("GET", `${urlA}/api/backplane`)).body.metrics.spilled;

        // 7. A group named with 200 non-ASCII characters: b2 joins on B, a2 is
        //    added through C's hub context, c1 sends from C.
        const alphabet = "日本語ΩЖéü✓ñßø€中文한국어";
        const longName = Array.from({ length: 200 }, (_, i) => alphabet[i % alphabet.length]).join("");
        r.longName = { name: longName, chars: [...longName].length, utf8Bytes: Buffer.byteLength(longName, "utf8") };
        await b2.invoke("JoinGroup", longName);
        r.longNameAdd = await http(
            "POST",
            `${urlC}/api/groups/${encodeURIComponent(ids.a2)}/${encodeURIComponent(longName)}`,
        );
        await c1.invoke("SendGroup", longName, "to-long-name");
        r.longNameGroup = await settle();
        r.urls = urls;
        return r;
    } finally {
        await Promise.allSettled(
            clients.filter((c) => c.connection.state !== HubConnectionState.Disconnected).map((c) => c.stop()),
        );
    }
}

withTimeout(main(process.argv.slice(2)), SCRIPT_DEADLINE_MS, "the cluster checks").then(
    (result) => {
        process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`);
        process.exit(0);
    },
    (err) => {
        const error = err instanceof Error ? err.message : String(err);
        process.stderr.write(`${err instanceof Error ? err.stack : error}\n`);
        process.stdout.write(`${JSON.stringify({ ok: false, error })}\n`);
        process.exit(1);
    },
);
