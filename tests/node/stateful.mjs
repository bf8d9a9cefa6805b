// Stateful reconnect with the official client: the server cuts the TCP
// connection in the middle of a burst; the client must reconnect to the same
// logical connection and receive every message exactly once, in order.
// Usage: node stateful.mjs <baseUrl> <json|messagepack> <count> <dropAt>
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

const [baseUrl, protocol, countArg, dropArg] = process.argv.slice(2);
const count = Number(countArg);
const dropAt = Number(dropArg);
const DEADLINE_MS = 20000;

const log = { connects: 0, messages: [] };
const logger = {
  log(level, message) {
    if (message.startsWith("WebSocket connected")) log.connects += 1;
    if (level >= signalR.LogLevel.Warning) process.stderr.write(`${message}\n`);
  },
};

function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function main() {
  const builder = new signalR.HubConnectionBuilder()
    .withUrl(`${baseUrl}/hubs/stateful`, { transport: signalR.HttpTransportType.WebSockets })
    .withStatefulReconnect()
    .configureLogging(logger);
  if (protocol === "messagepack") builder.withHubProtocol(new MessagePackHubProtocol());
  const connection = builder.build();
  const received = [];
  let closedWith = null;
  let allArrived;
  const arrived = new Promise((resolve) => { allArrived = resolve; });
  connection.onclose((error) => { closedWith = error ? error.message : "closed"; });
  connection.on("Item", (i) => {
    received.push(i);
    if (received.length === count) allArrived();
  });
  await within(connection.start(), 5000, "start");
  const idBefore = await within(connection.invoke("GetConnectionId"), 5000, "GetConnectionId");
  await within(connection.send("Burst", count, dropAt), 5000, "send Burst");
  await within(arrived, DEADLINE_MS, `${count} items (got ${received.length})`);
  const idAfter = await within(connection.invoke("GetConnectionId"), 5000, "GetConnectionId after");
  const echo = await within(connection.invoke("Echo", "after reconnect"), 5000, "Echo");
  const disconnected = await within(connection.invoke("WasDisconnected", idBefore), 5000, "WasDisconnected");
  const duplicates = received.length - new Set(received).size;
  const inOrder = received.every((value, index) => value === index);
  const closedDuringRun = closedWith;
  await within(connection.stop(), 5000, "stop");
  return {
    received: received.length, duplicates, inOrder, sameConnection: idBefore === idAfter,
    websocketConnects: log.connects, closedDuringRun, echo, serverSawDisconnect: disconnected,
  };
}

main().then(
  (result) => { process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`); process.exit(0); },
  (error) => { process.stdout.write(`${JSON.stringify({ ok: false, error: String(error && error.message || error) })}\n`); process.exit(1); },
);
