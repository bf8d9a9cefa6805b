// Graceful shutdown as clients see it: connect over each transport with
// automatic reconnect, print READY, then wait for the server to go away.
// Every client must be told to reconnect (Close with allowReconnect: true),
// which the JS client reports through onreconnecting.
// Usage: node shutdown.mjs <baseUrl>
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

const baseUrl = process.argv[2];
const T = signalR.HttpTransportType;
const cases = [
  ["WebSockets/json", T.WebSockets, false],
  ["ServerSentEvents/json", T.ServerSentEvents, false],
  ["LongPolling/messagepack", T.LongPolling, true],
];

function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main() {
  const clients = [];
  for (const [name, transport, msgpack] of cases) {
    const builder = new signalR.HubConnectionBuilder()
      .withUrl(`${baseUrl}/hubs/test`, { transport })
      .withAutomaticReconnect([60000])
      .configureLogging(signalR.LogLevel.None);
    if (msgpack) builder.withHubProtocol(new MessagePackHubProtocol());
    const connection = builder.build();
    const state = { name, connection, reconnecting: null, closed: null };
    state.reconnectingSeen = new Promise((resolve) => {
      connection.onreconnecting((error) => { state.reconnecting = error ? error.message : "no error"; resolve(); });
    });
    connection.onclose((error) => { state.closed = error ? error.message : "no error"; });
    await within(connection.start(), 5000, `${name} start`);
    await within(connection.invoke("Echo", name), 5000, `${name} echo`);
    clients.push(state);
  }
  process.stdout.write("READY\n");
  await within(Promise.all(clients.map((c) => c.reconnectingSeen)), 15000, "onreconnecting on every client");
  const result = {};
  for (const c of clients) result[c.name] = { reconnecting: c.reconnecting, closedBeforeStop: c.closed };
  await Promise.all(clients.map((c) => c.connection.stop()));
  return result;
}

main().then(
  (result) => { process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`); process.exit(0); },
  (error) => { process.stdout.write(`${JSON.stringify({ ok: false, error: String(error && error.message || error) })}\n`); process.exit(1); },
);
