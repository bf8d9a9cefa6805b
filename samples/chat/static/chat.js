// The chat page: log in for a token, connect to /hubs/chat with the official
// client (the global `signalR` of /lib/signalr.js), and render what the hub sends.
"use strict";

const $ = (id) => document.getElementById(id);

let connection = null; // the HubConnection, once logged in
const joined = new Set(); // rooms we are in: joined again on a new connection
let currentRoom = null; // where #message goes
const nodes = new Map(); // node -> { count, expires }: the online count, per node
const typists = new Map(); // "room\nuser" -> timer that clears the indicator
let lastTyping = 0; // when we last told the room we were typing (ms)

// ------------------------------------------------------------------ UI state

// "connecting", "connected", "reconnecting" or "disconnected".
function setState(state) {
  $("state").dataset.state = state;
  $("state").textContent = state;
  for (const id of ["join", "send", "dm-send"]) $(id).disabled = state !== "connected";
  renderRooms(); // enables "Leave" when connected and in a room
}

function addMessage(kind, text, attributes = {}) {
  const li = document.createElement("li");
  li.className = kind;
  li.dataset.kind = kind; // "room", "dm", "notice" or "error"
  Object.assign(li.dataset, attributes);
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString();
  li.append(time, " ", text); // text nodes: never HTML from other users
  $("messages").append(li);
  li.scrollIntoView({ block: "end" });
}

function renderRooms() {
  const list = $("rooms");
  list.replaceChildren();
  for (const room of joined) {
    const li = document.createElement("li");
    li.textContent = `#${room}`;
    li.dataset.room = room;
    li.classList.toggle("current", room === currentRoom);
    li.addEventListener("click", () => {
      currentRoom = room;
      renderRooms();
    });
    list.append(li);
  }
  $("message").placeholder = currentRoom ? `message to #${currentRoom}` : "join a room first";
  $("leave").disabled = currentRoom === null || $("state").dataset.state !== "connected";
}

// The sum of the last count of every node heard from within its ttl.
function renderOnline() {
  const now = Date.now();
  let total = 0;
  for (const [node, entry] of nodes) {
    if (entry.expires < now) nodes.delete(node);
    else total += entry.count;
  }
  $("online").textContent = nodes.size ? String(total) : "–";
  $("online").title = [...nodes].map(([node, e]) => `${node}: ${e.count}`).join("\n");
}
setInterval(renderOnline, 1000); // forget nodes that stopped reporting

function renderTyping() {
  const who = [...typists.keys()].map((key) => {
    const [room, user] = key.split("\n");
    return `${user} (#${room})`;
  });
  $("typing").textContent = who.length ? `${who.join(", ")} typing…` : "";
}

function showTyping(room, user, show) {
  const key = `${room}\n${user}`;
  clearTimeout(typists.get(key));
  typists.delete(key);
  if (show) typists.set(key, setTimeout(() => showTyping(room, user, false), 3000));
  renderTyping();
}

// Hub errors read "An unexpected error occurred invoking 'X' on the server. HubException: why".
function report(error) {
  addMessage("error", String(error.message ?? error).replace(/^.*HubException: /, ""));
}

// ------------------------------------------------------------------ connection

function connect(token) {
  const conn = new signalR.HubConnectionBuilder()
    // Browsers send the token as ?access_token= for WebSockets, as a header otherwise.
    .withUrl("/hubs/chat", { accessTokenFactory: () => token })
    // A dropped WebSocket is resumed on the same connection (no lost messages,
    // groups kept); this is invisible to the page...
    .withStatefulReconnect()
    // ...and when it cannot be resumed, a new connection is made (0, 2, 10, 30 s).
    .withAutomaticReconnect()
    .configureLogging(signalR.LogLevel.Warning)
    .build();

  conn.on("Welcome", (name, node) => {
    $("me").textContent = `${name} @ ${node}`;
  });
  conn.on("Online", (node, count, ttl) => {
    nodes.set(node, { count, expires: Date.now() + ttl * 1000 });
    renderOnline();
  });
  conn.on("Notice", (room, text) => addMessage("notice", `[#${room}] ${text}`, { room }));
  conn.on("RoomMessage", (room, from, text) => {
    showTyping(room, from, false);
    addMessage("room", `[#${room}] ${from}: ${text}`, { room, from });
  });
  conn.on("Typing", (room, from) => showTyping(room, from, true));
  conn.on("DirectMessage", (from, to, text) => {
    addMessage("dm", `[DM] ${from} → ${to}: ${text}`, { from, to });
  });

  conn.onreconnecting(() => setState("reconnecting"));
  conn.onreconnected(async () => {
    // A new connection: it is in no group yet.
    setState("connected");
    for (const room of joined) await conn.invoke("JoinRoom", room).catch(report);
  });
  conn.onclose(() => setState("disconnected")); // automatic reconnect gave up, or logout
  return conn;
}

// ------------------------------------------------------------------ forms

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  const response = await fetch("/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: $("name").value }),
  });
  if (!response.ok) {
    $("login-error").textContent = await response.text();
    return;
  }
  const { token } = await response.json();
  if (connection) await connection.stop(); // logging in again: a new user
  joined.clear();
  currentRoom = null;
  renderRooms();
  connection = connect(token);
  setState("connecting");
  try {
    await connection.start();
    setState("connected");
  } catch (error) {
    setState("disconnected");
    $("login-error").textContent = String(error.message ?? error);
  }
});

$("room-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const room = await connection.invoke("JoinRoom", $("room").value);
    joined.add(room);
    currentRoom = room;
    renderRooms();
  } catch (error) {
    report(error);
  }
});

$("leave").addEventListener("click", async () => {
  const room = currentRoom;
  if (room === null) return;
  await connection.invoke("LeaveRoom", room).catch(report);
  joined.delete(room);
  currentRoom = joined.size ? [...joined].at(-1) : null;
  renderRooms();
});

$("send-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (currentRoom === null) return report("join a room first");
  try {
    await connection.invoke("SendToRoom", currentRoom, $("message").value);
    $("message").value = "";
    lastTyping = 0;
  } catch (error) {
    report(error);
  }
});

// Tell the room we are typing, at most every 2 s (the others show it for 3 s).
$("message").addEventListener("input", () => {
  const now = Date.now();
  if (currentRoom === null || connection?.state !== "Connected" || now - lastTyping < 2000) return;
  lastTyping = now;
  connection.send("Typing", currentRoom).catch(report); // no answer needed
});

$("dm-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await connection.invoke("SendDirect", $("dm-to").value, $("dm-text").value);
    $("dm-text").value = "";
  } catch (error) {
    report(error);
  }
});
