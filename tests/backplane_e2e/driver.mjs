#!/usr/bin/env node
// Official JavaScript SignalR clients driven line by line, for the fault tests
// (tests/backplane_e2e/test_faults.py), which act on server processes and
// Postgres between steps.
//
//   node driver.mjs            (commands on stdin, one JSON object a line)
//
// Commands ({"id": n, "cmd": ..., ...}); each gets ONE reply line
// {"id": n, "ok": true, ...} or {"id": n, "ok": false, "error": "..."}:
//   connect {client, url, protocol: "json"|"messagepack", user?} -> {connectionId}
//           (hub /hubs/test over WebSockets; GetNumber(n) answers n + 1)
//   invoke  {client, method, args}                              -> {result}
//   stop    {client}
//   exit    (stops every client, replies, exits 0)
// Events, in the order they happen (no "id"):
//   {"event": "receive", "client", "value"}   Receive(value)
//   {"event": "asked", "client", "value"}     GetNumber(value)
//   {"event": "closed", "client", "error"}    onclose
// Every call has a deadline; there are no sleeps.
//
// The client packages are loaded from ../node/node_modules.

import { createRequire } from "node:module";
import process from "node:process";
import readline from "node:readline";

const require = createRequire(new URL("../node/package.json", import.meta.url));
const { HttpTransportType, HubConnectionBuilder, HubConnectionState, JsonHubProtocol, LogLevel } =
    require("@microsoft/signalr");
const { MessagePackHubProtocol } = require("@microsoft/signalr-protocol-msgpack");

const CALL_MS = 12000; // deadline of one start, invocation or stop

const stderrLogger = {
    log(level, message) {
        if (level >= LogLevel.Warning) {
            process.stderr.write(`[signalr ${LogLevel[level]}] ${message}\n`);
        }
    },
};

function emit(object) {
    process.stdout.write(`${JSON.stringify(object)}\n`);
}

function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const clients = new Map();

const commands = {
    async connect({ client, url, protocol, user }) {
        const target = new URL(`${url}/hubs/test`);
        if (user) {
            target.searchParams.set("user", user);
        }
        const connection = new HubConnectionBuilder()
            .withUrl(target.toString(), { transport: HttpTransportType.WebSockets })
            .withHubProtocol(protocol === "messagepack" ? new MessagePackHubProtocol() : new JsonHubProtocol())
            .configureLogging(stderrLogger)
            .build();
        connection.on("Receive", (value) => emit({ event: "receive", client, value }));
        connection.on("GetNumber", (n) => {
            emit({ event: "asked", client, value: n });
            return n + 1;
        });
        connection.onclose((error) =>
            emit({ event: "closed", client, error: error === undefined ? null : String(error?.message ?? error) }),
        );
        clients.set(client, connection);
        await withTimeout(connection.start(), CALL_MS, `${client}: start`);
        const connectionId = await withTimeout(connection.invoke("GetConnectionId"), CALL_MS, `${client}: id`);
        return { connectionId };
    },

    async invoke({ client, method, args }) {
        const connection = clients.get(client);
        if (!connection) {
            throw new Error(`no client ${client}`);
        }
        const result = await withTimeout(connection.invoke(method, ...(args ?? [])), CALL_MS, `${client}: ${method}`);
        return { result: result === undefined ? null : result };
    },

    async stop({ client }) {
        const connection = clients.get(client);
        if (connection && connection.state !== HubConnectionState.Disconnected) {
            await withTimeout(connection.stop(), CALL_MS, `${client}: stop`);
        }
        return {};
    },

    async exit() {
        await Promise.allSettled([...clients.keys()].map((client) => commands.stop({ client })));
        return {};
    },
};

const input = readline.createInterface({ input: process.stdin });
input.on("line", (line) => {
    if (!line.trim()) {
        return;
    }
    let request;
    try {
        request = JSON.parse(line);
    } catch (err) {
        emit({ event: "error", error: `bad command line: ${err}` });
        return;
    }
    const { id, cmd } = request;
    const handler = commands[cmd];
    const run = handler ? handler(request) : Promise.reject(new Error(`unknown command ${cmd}`));
    run.then(
        (reply) => {
            emit({ id, ok: true, ...reply });
            if (cmd === "exit") {
                process.exit(0);
            }
        },
        (err) => emit({ id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
});
input.on("close", () => {
    // stdin closed (the test process went away): stop the clients and leave.
    commands.exit().finally(() => process.exit(0));
});
