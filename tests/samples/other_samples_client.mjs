#!/usr/bin/env node
// The official JavaScript client against the stocks, upload, quiz and
// worker_notify samples (tests/samples/test_other_samples.py).
//
//   node other_samples_client.mjs stocks <url>
//   node other_samples_client.mjs upload <url> <json|messagepack> <file>
//   node other_samples_client.mjs quiz <url>
//   node other_samples_client.mjs worker_notify <urlA> <urlB>
//
// Prints exactly ONE JSON line on stdout: {"ok":true,"result":{...}} and
// exits 0, or {"ok":false,"error":"..."} and exits 1. Client logs go to
// stderr. Every wait has a deadline; there are no sleeps.
//
// The client packages are loaded from ../node/node_modules.

import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import process from "node:process";

const require = createRequire(new URL("../node/package.json", import.meta.url));
const { HubConnectionBuilder, JsonHubProtocol, LogLevel, Subject } = require("@microsoft/signalr");
const { MessagePackHubProtocol } = require("@microsoft/signalr-protocol-msgpack");

const WAIT_MS = 10000; // deadline of any single wait

const stderrLogger = {
    log(level, message) {
        if (level >= LogLevel.Warning) {
            process.stderr.write(`[signalr ${LogLevel[level]}] ${message}\n`);
        }
    },
};

function withTimeout(promise, what, ms = WAIT_MS) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function connect(url, { protocol = "json", token } = {}) {
    const options = token === undefined ? {} : { accessTokenFactory: () => token };
    return new HubConnectionBuilder()
        .withUrl(url, options)
        .withHubProtocol(protocol === "messagepack" ? new MessagePackHubProtocol() : new JsonHubProtocol())
        .configureLogging(stderrLogger)
        .build();
}

/** Messages of one client method, in order; ``next(predicate)`` waits for a matching one. */
class Inbox {
    constructor(connection, method) {
        this.items = [];
        this.waiters = [];
        connection.on(method, (...args) => {
            this.items.push(args);
            for (const waiter of [...this.waiters]) {
                waiter.check();
            }
        });
    }

    /** The first message from index ``since`` on (default: any) that matches. */
    next(predicate, what, since = 0) {
        let waiter;
        const found = new Promise((resolve) => {
            waiter = {
                check: () => {
                    const index = this.items.findIndex((args, i) => i >= since && predicate(...args));
                    if (index >= 0) {
                        this.waiters.splice(this.waiters.indexOf(waiter), 1);
                        resolve(this.items[index]);
                    }
                },
            };
            this.waiters.push(waiter);
            waiter.check();
        });
        return withTimeout(found, what);
    }
}

async function errorOf(promise, what) {
    try {
        await withTimeout(promise, what);
    } catch (err) {
        return err.message;
    }
    throw new Error(`${what} succeeded; an error was expected`);
}

async function postJson(url, body) {
    const response = await withTimeout(
        fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }),
        `POST ${url}`,
    );
    return { status: response.status, body: await response.json() };
}

async function getJson(url) {
    const response = await withTimeout(fetch(url), `GET ${url}`);
    return { status: response.status, body: await response.json() };
}

// ------------------------------------------------------------------ samples

async function stocks([url]) {
    const count = 6;
    const connection = connect(`${url}/hubs/stocks`);
    const stopped = new Inbox(connection, "FeedStopped");
    await withTimeout(connection.start(), "start");
    try {
        const noSymbols = await errorOf(
            new Promise((resolve, reject) => {
                connection.stream("StreamTicks", [], 0.05).subscribe({ next: resolve, complete: resolve, error: reject });
            }),
            "StreamTicks([])",
        );
        const ticks = [];
        let subscription;
        const received = new Promise((resolve, reject) => {
            subscription = connection.stream("StreamTicks", ["msft", " aapl "], 0.02).subscribe({
                next: (tick) => {
                    ticks.push(tick);
                    if (ticks.length === count) {
                        subscription.dispose(); // sends CancelInvocation: the server's generator stops
                        resolve();
                    }
                },
                complete: () => reject(new Error("the stream completed before it was cancelled")),
                error: reject,
            });
        });
        await withTimeout(received, `${count} ticks`);
        const [symbols, produced] = await stopped.next(() => true, "FeedStopped");
        const feeds = await getJson(`${url}/api/feeds`);
        return { noSymbols, ticks, stopped: { symbols, produced }, feeds: feeds.body };
    } finally {
        await withTimeout(connection.stop(), "stop");
    }
}

async function upload([url, protocol, file]) {
    const data = new Uint8Array(readFileSync(file));
    const connection = connect(`${url}/hubs/upload`, { protocol });
    await withTimeout(connection.start(), "start");
    const encode = (bytes) => (protocol === "json" ? Buffer.from(bytes).toString("base64") : bytes);
    try {
        // The file in 1000-byte chunks.
        const subject = new Subject();
        const result = connection.invoke("Upload", "dir/../report.bin", subject);
        for (let offset = 0; offset < data.length; offset += 1000) {
            subject.next(encode(data.subarray(offset, offset + 1000)));
        }
        subject.complete();
        const uploaded = await withTimeout(result, "Upload");

        // An empty file.
        const empty = new Subject();
        const emptyResult = connection.invoke("Upload", "empty.txt", empty);
        empty.complete();
        const emptyUploaded = await withTimeout(emptyResult, "Upload(empty)");

        // The client gives up: the server sees the client's error text.
        const failing = new Subject();
        const failed = connection.invoke("Upload", "broken.bin", failing);
        failing.next(encode(data.subarray(0, 10)));
        failing.error(new Error("disk on fire"));
        const clientError = await errorOf(failed, "Upload(broken)");
        return { uploaded, empty: emptyUploaded, clientError };
    } finally {
        await withTimeout(connection.stop(), "stop");
    }
}

async function quiz([url]) {
    const knows = {
        "What is 6 x 7?": "42",
        "What is the capital of France?": "Paris",
        "Which planet is known as the Red Planet?": " mars ",
    };
    const players = {
        alice: (question) => Promise.resolve(knows[question] ?? "no idea"), // answers right (a Promise is fine)
        bob: () => {
            throw new Error("I don't know"); // a client result error: scored as wrong
        },
        carol: () => "Venus", // always wrong
    };
    const connections = {};
    const scores = {};
    for (const [name, answer] of Object.entries(players)) {
        const connection = connect(`${url}/hubs/quiz`);
        connection.on("Ask", answer);
        scores[name] = new Inbox(connection, "Scores");
        await withTimeout(connection.start(), `start ${name}`);
        connections[name] = connection;
    }
    try {
        const joined = [];
        for (const name of Object.keys(players)) {
            joined.push(await withTimeout(connections[name].invoke("Join", name), `Join ${name}`));
        }
        const noJoin = connect(`${url}/hubs/quiz`);
        await withTimeout(noJoin.start(), "start stranger");
        const strangerError = await errorOf(noJoin.invoke("QuizMe"), "QuizMe before Join");
        await withTimeout(noJoin.stop(), "stop stranger");

        // The hub asks the caller (questions rotate: 0, then 1).
        const aliceQuizzed = await withTimeout(connections.alice.invoke("QuizMe"), "alice QuizMe");
        const bobQuizzed = await withTimeout(connections.bob.invoke("QuizMe"), "bob QuizMe");

        // HTTP asks everyone through the hub context.
        const round = await postJson(`${url}/api/round`, { question: 2, timeout: 5 });
        const final = round.body.scores;
        const [pushed] = await scores.carol.next(
            (list) => JSON.stringify(list) === JSON.stringify(final),
            "the final Scores pushed to carol",
        );
        const badRound = await withTimeout(
            fetch(`${url}/api/round`, { method: "POST", body: JSON.stringify({ question: 99 }) }),
            "POST /api/round (bad question)",
        );

        // A player who leaves is dropped from the scores (pushed from on_disconnected).
        const mark = scores.alice.items.length;
        await withTimeout(connections.bob.stop(), "stop bob");
        delete connections.bob;
        const [afterBob] = await scores.alice.next((list) => list.length === 2, "Scores without bob", mark);
        return {
            joined,
            strangerError,
            aliceQuizzed,
            bobQuizzed,
            round,
            pushed,
            badRoundStatus: badRound.status,
            afterBob,
        };
    } finally {
        for (const connection of Object.values(connections)) {
            await withTimeout(connection.stop(), "stop");
        }
    }
}

async function workerNotify([urlA, urlB]) {
    const hub = (url) => `${url}/hubs/notify`;
    const anonymous = await errorOf(connect(hub(urlB)).start(), "anonymous start");
    const badToken = await errorOf(connect(hub(urlB), { token: "not a name!" }).start(), "bad token start");

    const bob = connect(hub(urlB), { token: "bob" }); // on node B
    const alice = connect(hub(urlA), { token: "alice" }); // on node A
    const bobNotes = new Inbox(bob, "Notify");
    const aliceNotes = new Inbox(alice, "Notify");
    const bobHeartbeats = new Inbox(bob, "Heartbeat");
    alice.on("Heartbeat", () => {}); // alice gets them too; only bob's are checked
    await withTimeout(bob.start(), "bob start");
    await withTimeout(alice.start(), "alice start");
    try {
        const bobIs = await withTimeout(bob.invoke("WhoAmI"), "bob WhoAmI");
        const aliceIs = await withTimeout(alice.invoke("WhoAmI"), "alice WhoAmI");

        // Node A's HTTP endpoint -> the backplane -> bob on node B.
        const posted = await postJson(`${urlA}/notify/bob`, { text: "build 42 finished" });
        const [forBob] = await bobNotes.next(() => true, "bob's notification");
        // Then one for alice (on node A itself): the first thing alice gets must
        // be hers, so bob's was never delivered to her.
        await postJson(`${urlA}/notify/alice`, { text: "for alice only" });
        const [firstForAlice] = await aliceNotes.next(() => true, "alice's notification");
        // Node A's background job -> bob on node B.
        const [heartbeat] = await bobHeartbeats.next((h) => h.node === aliceIs.node, "a heartbeat from node A");
        // A hub method on node A -> bob on node B.
        await withTimeout(alice.invoke("SendTo", "bob", "hi bob"), "alice SendTo bob");
        const [fromAlice] = await bobNotes.next((n) => n.sender === "alice", "alice's message to bob");
        const badPost = await withTimeout(
            fetch(`${urlA}/notify/bob`, { method: "POST", body: "{}" }),
            "POST /notify/bob without text",
        );
        return {
            anonymous,
            badToken,
            bobIs,
            aliceIs,
            posted,
            forBob,
            firstForAlice,
            heartbeat,
            fromAlice,
            badPostStatus: badPost.status,
            bobNotes: bobNotes.items.length,
            aliceNotes: aliceNotes.items.length,
        };
    } finally {
        await withTimeout(bob.stop(), "bob stop");
        await withTimeout(alice.stop(), "alice stop");
    }
}

const SAMPLES = { stocks, upload, quiz, worker_notify: workerNotify };

const [sample, ...args] = process.argv.slice(2);
try {
    if (!(sample in SAMPLES)) {
        throw new Error(`usage: node other_samples_client.mjs <${Object.keys(SAMPLES).join("|")}> ...`);
    }
    const result = await SAMPLES[sample](args);
    process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`);
    process.exit(0);
} catch (err) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(err?.stack ?? err) })}\n`);
    process.exit(1);
}
