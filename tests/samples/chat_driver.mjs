#!/usr/bin/env node
// Drives the chat sample for tests/samples/test_chat.py, one JSON command a
// line on stdin, so the test can act on server processes and Postgres
// between steps. Two kinds of actors:
//
// - clients: the official @microsoft/signalr client in Node, logged in with
//   POST /login and connected to /hubs/chat with the token;
// - pages: the sample's page in headless Chromium (the system browser,
//   driven by playwright-core; nothing is downloaded), launched on first use.
//
// Commands ({"id": n, "cmd": ..., ...}); each gets ONE reply line
// {"id": n, "ok": true, ...} or {"id": n, "ok": false, "error": "..."}:
//   connect    {client, url, name}          -> {token, connectionId}
//   invoke     {client, method, args}       -> {result}
//   stop       {client}
//   open       {page, url}                  (a new browser page at url)
//   fill       {page, selector, value}      (fires the input event)
//   click      {page, selector}
//   waitFor    {page, selector, text?, ms}  (an element matching selector whose text contains text)
//   texts      {page, selector}             -> {texts: [textContent...]}
//   screenshot {page, path}
//   exit       (closes everything, replies, exits 0)
// Events (no "id"), in order:
//   {"event": "receive", "client", "method", "args"}   a hub message to a Node client
//   {"event": "closed", "client", "error"}
// Every step has a deadline; there are no sleeps.
//
// usage: node chat_driver.mjs [chromium path]

import { createRequire } from "node:module";
import process from "node:process";
import readline from "node:readline";

const require = createRequire(new URL("../node/package.json", import.meta.url));
const { HttpTransportType, HubConnectionBuilder, HubConnectionState, LogLevel } = require("@microsoft/signalr");
const { chromium } = require("playwright-core");

const CHROMIUM = process.argv[2] || "/usr/bin/chromium";
const STEP_MS = 12000; // default deadline of one step
const HUB_METHODS = ["Welcome", "Online", "Notice", "RoomMessage", "Typing", "DirectMessage"];

const emit = (object) => process.stdout.write(`${JSON.stringify(object)}\n`);

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const stderrLogger = {
  log(level, message) {
    if (level >= LogLevel.Warning) process.stderr.write(`[signalr ${LogLevel[level]}] ${message}\n`);
  },
};

const clients = new Map();
const pages = new Map();
let browser = null;

function client(name) {
  const connection = clients.get(name);
  if (!connection) throw new Error(`no client ${name}`);
  return connection;
}

function page(name) {
  const found = pages.get(name);
  if (!found) throw new Error(`no page ${name}`);
  return found;
}

const commands = {
  async connect({ client: name, url, name: user }) {
    const response = await withTimeout(
      fetch(`${url}/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: user }),
      }),
      STEP_MS,
      `${name}: login`,
    );
    if (!response.ok) throw new Error(`login: HTTP ${response.status} ${await response.text()}`);
    const { token } = await response.json();
    const connection = new HubConnectionBuilder()
      .withUrl(`${url}/hubs/chat`, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => token })
      .withStatefulReconnect()
      .configureLogging(stderrLogger)
      .build();
    for (const method of HUB_METHODS) {
      connection.on(method, (...args) => emit({ event: "receive", client: name, method, args }));
    }
    connection.onclose((error) => emit({ event: "closed", client: name, error: error ? String(error) : null }));
    clients.set(name, connection);
    await withTimeout(connection.start(), STEP_MS, `${name}: start`);
    return { token, connectionId: connection.connectionId };
  },

  async invoke({ client: name, method, args }) {
    const result = await withTimeout(client(name).invoke(method, ...(args ?? [])), STEP_MS, `${name}: ${method}`);
    return { result: result === undefined ? null : result };
  },

  async stop({ client: name }) {
    const connection = client(name);
    if (connection.state !== HubConnectionState.Disconnected) {
      await withTimeout(connection.stop(), STEP_MS, `${name}: stop`);
    }
    return {};
  },

  async open({ page: name, url }) {
    if (!browser) {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        timeout: STEP_MS,
        args: [
          "--no-sandbox",
          "--disable-background-networking",
          "--disable-gpu",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
      });
    }
    const created = await browser.newPage({ viewport: { width: 1100, height: 640 } });
    const log = (line) => process.stderr.write(`[page ${name}] ${line}\n`);
    created.on("console", (msg) => log(`${msg.type()}: ${msg.text()}`));
    created.on("pageerror", (err) => log(`pageerror: ${err.message}`));
    pages.set(name, created);
    await created.goto(url, { timeout: STEP_MS });
    return {};
  },

  async fill({ page: name, selector, value }) {
    await page(name).fill(selector, value, { timeout: STEP_MS });
    return {};
  },

  async click({ page: name, selector }) {
    await page(name).click(selector, { timeout: STEP_MS });
    return {};
  },

  async waitFor({ page: name, selector, text = "", ms = STEP_MS }) {
    await page(name).waitForFunction(
      ([sel, want]) => [...document.querySelectorAll(sel)].some((e) => e.textContent.includes(want)),
      [selector, text],
      { timeout: ms, polling: 50 },
    );
    return {};
  },

  async texts({ page: name, selector }) {
    const texts = await page(name).$$eval(selector, (elements) => elements.map((e) => e.textContent));
    return { texts };
  },

  async screenshot({ page: name, path }) {
    await page(name).screenshot({ path, timeout: STEP_MS });
    return {};
  },

  async exit() {
    await Promise.allSettled([...clients.keys()].map((name) => commands.stop({ client: name })));
    if (browser) await withTimeout(browser.close(), STEP_MS, "browser close").catch(() => {});
    return {};
  },
};

const input = readline.createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (!line.trim()) return;
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
      if (cmd === "exit") process.exit(0);
    },
    (err) => emit({ id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
input.on("close", () => {
  // stdin closed (the test went away): close everything and leave.
  commands.exit().finally(() => process.exit(0));
});
