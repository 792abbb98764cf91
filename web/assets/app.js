// lanchat web UI: a client of the node's /api (JSON) and /api/events
// (Server-Sent Events). Everything a peer wrote is put in the page as text
// (textContent), never as HTML.

const PAGE = 200; // messages fetched per step of scrolling back
const $ = (id) => document.getElementById(id);

const state = {
  me: null, // the session: fingerprint, short, nick, csrf, max_body_bytes
  rooms: [],
  current: "",
  messages: new Map(), // room -> [message view], in the room's order
  limit: new Map(), // room -> how many are fetched
  complete: new Map(), // room -> every message is fetched
  unread: new Map(), // room -> count
  peers: [],
  trusted: [],
  refusing: new Set(), // fingerprints that refused the link
  notify: false,
  connected: false,
};

// ---- talking to the node -------------------------------------------------

class APIError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || "request failed (" + status + ")");
    this.status = status;
    this.code = e.code || "";
    this.hint = e.hint || "";
  }
}

async function api(path, body) {
  const opts = { credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    opts.method = "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.headers["X-Lanchat-Csrf"] = state.me ? state.me.csrf : "";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}

// ---- small DOM helpers ---------------------------------------------------

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function colourOf(fp) {
  let h = 0;
  for (const c of fp) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return "hsl(" + (h % 360) + " 55% 42%)";
}

// nickSpan is the author's name in their colour (set through the CSSOM:
// the CSP allows no style attribute).
function nickSpan(name, fp) {
  const s = el("span", { class: "nick", text: name });
  s.style.color = colourOf(fp);
  return s;
}

function fingerprintGroups(fp) {
  const box = document.createDocumentFragment();
  for (const g of fp.split("-")) box.append(el("span", { class: "group", text: g }));
  return box;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function notice(text, kind) {
  const box = $("notices");
  const p = el("p", { text, class: kind || "" });
  box.append(p);
  while (box.children.length > 5) box.firstChild.remove();
  setTimeout(() => p.remove(), 30000);
}

function showError(what, err) {
  notice(what + ": " + err.message + (err.hint ? " (" + err.hint + ")" : ""), "error");
}

// ---- rendering -----------------------------------------------------------

function messageItem(m, withRoom) {
  const name = m.nick || m.author_short;
  const head = el("div", { class: "head" },
    nickSpan(name, m.author),
    el("span", { class: "fp", text: m.author_short, title: m.author }),
    withRoom ? el("span", { class: "fp", text: "#" + m.room }) : null,
    el("time", { datetime: m.time, text: timeFormat.format(new Date(m.time)) }),
    m.trusted || m.own ? null : el("span", { class: "untrusted", text: "not on your trust list" }),
    m.equivocator ? el("span", { class: "flag", text: "signed conflicting messages" }) : null,
    m.damaged ? el("span", { class: "flag", text: "damaged record" }) : null);
  return el("li", { class: "msg", "data-id": m.id }, head,
    el("p", { class: "body", text: m.damaged ? "[damaged: not what the author wrote] " + m.body : m.body }));
}

function renderMessages(list, msgs, withRoom, olderNote) {
  const frag = document.createDocumentFragment();
  if (olderNote) frag.append(el("li", { class: "older", text: olderNote }));
  let day = "";
  for (const m of msgs) {
    const d = dayFormat.format(new Date(m.time));
    if (d !== day) {
      day = d;
      frag.append(el("li", { class: "day", role: "separator" }, el("span", { text: d })));
    }
    frag.append(messageItem(m, withRoom));
  }
  list.replaceChildren(frag);
}

// appendMessage adds m after prev at the end of the shown list, with a
// date separator if the day changed.
function appendMessage(list, prev, m) {
  const d = dayFormat.format(new Date(m.time));
  if (d !== dayFormat.format(new Date(prev.time))) {
    list.append(el("li", { class: "day", role: "separator" }, el("span", { text: d })));
  }
  list.append(messageItem(m, false));
}

function renderRoom(keepBottomOffset) {
  const list = $("messages");
  const room = state.current;
  $("room-title").textContent = room ? "#" + room : "no room";
  $("leave").disabled = !room;
  const msgs = state.messages.get(room) || [];
  const note = state.complete.get(room) ? "start of #" + room : "scroll up for older messages";
  const fromBottom = list.scrollHeight - list.scrollTop;
  renderMessages(list, msgs, false, msgs.length ? note : "no messages in #" + room + " yet");
  list.scrollTop = keepBottomOffset ? list.scrollHeight - fromBottom : list.scrollHeight;
}

function renderRooms() {
  const ul = $("rooms");
  ul.replaceChildren(...state.rooms.map((r) => {
    const n = state.unread.get(r) || 0;
    const b = el("button", { type: "button", "aria-current": String(r === state.current),
      "aria-label": "#" + r + (n ? ", " + n + " unread" : ""), onclick: () => selectRoom(r) },
    el("span", { text: "#" + r }), n ? el("span", { class: "badge", text: String(n) }) : null);
    return el("li", {}, b);
  }));
  let total = 0;
  for (const n of state.unread.values()) total += n;
  document.title = (total ? "(" + total + ") " : "") + "lanchat" + (state.current ? " #" + state.current : "");
}

function peerState(p) {
  if (state.refusing.has(p.fingerprint) && !p.linked) return ["refusing", "refuses the link: they have not trusted you yet"];
  if (p.linked) return ["linked", "linked"];
  if (p.trusted) return ["trusted", p.last_seen ? "trusted, around" : "trusted, not around"];
  return ["discovered", "around, not trusted"];
}

function renderPeers() {
  const byFp = new Map();
  for (const p of state.peers) byFp.set(p.fingerprint, { ...p });
  for (const t of state.trusted) {
    const p = byFp.get(t.fingerprint) || { fingerprint: t.fingerprint, short: t.fingerprint.slice(0, 7), linked: false, last_seen: null };
    p.trusted = true;
    p.name = t.name;
    byFp.set(t.fingerprint, p);
  }
  const ul = $("peers");
  const items = [...byFp.values()].sort((a, b) => (a.name || a.nick || a.short).localeCompare(b.name || b.nick || b.short));
  if (!items.length) {
    ul.replaceChildren(el("li", { class: "state", text: "nobody around yet" }));
    return;
  }
  ul.replaceChildren(...items.map((p) => {
    const [cls, label] = peerState(p);
    const name = (p.name || p.nick || "unnamed") + " (" + p.short + ")";
    const action = p.trusted
      ? el("button", { type: "button", class: "small", text: "Untrust", "aria-label": "Untrust " + name, onclick: () => untrust(p, name) })
      : el("button", { type: "button", class: "small", text: "Trust…", "aria-label": "Trust " + name, onclick: () => openTrust(p) });
    return el("li", { "data-fingerprint": p.fingerprint }, el("span", { class: "name", text: name }),
      el("span", { class: "state " + cls, text: label }), action);
  }));
}

function renderSize() {
  const text = $("message").value;
  const n = new TextEncoder().encode(text).length;
  const max = state.me ? state.me.max_body_bytes : 0;
  const size = $("size");
  const over = max && n > max;
  size.textContent = over
    ? n + " / " + max + " bytes: " + (n - max) + " bytes too long, shorten it to send"
    : (n ? n + " / " + max + " bytes" : "");
  size.classList.toggle("over", Boolean(over));
  $("send").disabled = Boolean(over) || !text.trim() || !state.current;
}

// ---- loading -------------------------------------------------------------

async function loadHistory(room, limit) {
  const msgs = await api("/api/history?room=" + encodeURIComponent(room) + "&limit=" + limit);
  state.messages.set(room, msgs);
  state.limit.set(room, limit);
  state.complete.set(room, msgs.length < limit);
}

// reloadRoom fetches a room's history again (as much as is shown) and
// redraws it if it is on screen; calls made while one runs are folded into
// one more.
async function reloadRoom(room) {
  if (reloadRoom.busy) { reloadRoom.again = true; return; }
  reloadRoom.busy = true;
  try {
    do {
      reloadRoom.again = false;
      await loadHistory(room, state.limit.get(room) || PAGE);
      if (state.current === room) {
        const box = $("messages");
        renderRoom(box.scrollHeight - box.scrollTop - box.clientHeight >= 40);
      }
    } while (reloadRoom.again);
  } catch (err) {
    showError("history", err);
  } finally {
    reloadRoom.busy = false;
  }
}

async function selectRoom(room) {
  state.current = room;
  state.unread.delete(room);
  renderRooms();
  if (!state.messages.has(room)) {
    try { await loadHistory(room, PAGE); } catch (err) { showError("history", err); }
  }
  if (state.current === room) renderRoom(false);
  renderSize();
}

async function loadPeers() {
  try {
    [state.peers, state.trusted] = await Promise.all([api("/api/peers"), api("/api/trusted")]);
    renderPeers();
  } catch (err) {
    if (err instanceof APIError) showError("peers", err);
  }
}

async function loadAll() {
  state.me = await api("/api/session");
  $("me").textContent = "you are " + state.me.nick + " (" + state.me.short + ")";
  $("trust-mine").replaceChildren(fingerprintGroups(state.me.fingerprint));
  state.rooms = await api("/api/rooms");
  state.messages.clear();
  if (!state.rooms.includes(state.current)) state.current = state.rooms[0] || "";
  renderRooms();
  if (state.current) await selectRoom(state.current);
  else renderRoom(false);
  await loadPeers();
}

async function olderMessages() {
  const room = state.current;
  if (!room || state.complete.get(room) || olderMessages.busy) return;
  olderMessages.busy = true;
  try {
    await loadHistory(room, (state.limit.get(room) || PAGE) + PAGE);
    if (state.current === room) renderRoom(true);
  } catch (err) {
    showError("history", err);
  } finally {
    olderMessages.busy = false;
  }
}

// ---- live events ---------------------------------------------------------

function onMessage(m) {
  const list = state.messages.get(m.room);
  let reloading = false;
  if (list) {
    if (list.some((x) => x.id === m.id)) return;
    const last = list[list.length - 1];
    if (last && m.clock <= last.clock) {
      reloading = true;
      // not after the last one shown (a catch-up, a concurrent message):
      // the node knows the room's order; ask it
      reloadRoom(m.room);
    } else {
      list.push(m);
    }
  }
  const onScreen = m.room === state.current && !document.hidden;
  if (m.room === state.current && !reloading) {
    const box = $("messages");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    if (list && list[list.length - 1] === m && list.length > 1 && box.querySelector(".msg")) {
      appendMessage(box, list[list.length - 2], m); // the usual case: no need to draw the rest again
      if (atBottom) box.scrollTop = box.scrollHeight;
    } else {
      renderRoom(!atBottom);
    }
  }
  if (!onScreen && !m.own) {
    state.unread.set(m.room, (state.unread.get(m.room) || 0) + 1);
    renderRooms();
    if (state.notify && "Notification" in window && Notification.permission === "granted") {
      new Notification((m.nick || m.author_short) + " in #" + m.room, { body: m.body.slice(0, 200), tag: m.room });
    }
  }
}

function onEvent(ev) {
  const who = ev.peer ? (ev.peer.nick || "?") + "(" + ev.peer.short + ")" : "";
  switch (ev.type) {
    case "message": onMessage(ev.message); break;
    case "peer_up":
      state.refusing.delete(ev.peer.fingerprint);
      notice(who + " linked"); loadPeers(); break;
    case "peer_down": notice(who + " left" + (ev.reason ? ": " + ev.reason : "")); loadPeers(); break;
    case "peer_refused":
      state.refusing.add(ev.peer.fingerprint);
      notice(who + " refuses the link: they have not trusted you yet. Read them your fingerprint.", "warn");
      loadPeers(); break;
    case "untrusted_peer": notice(who + " is not on your trust list and tried to link: compare fingerprints, then trust them"); loadPeers(); break;
    case "untrusted_peers": notice(ev.count + " more untrusted peers tried to link"); break;
    case "relink_backoff": notice("links with " + who + " keep ending: " + ev.reason, "warn"); break;
    case "equivocation": notice(who + " signed two different messages under one number in #" + ev.room, "warn"); break;
    case "events_dropped": notice(ev.count + " events were missed; reloading"); loadAll().catch((e) => showError("reload", e)); break;
    case "nick": case "join": case "leave": loadPeers(); break;
  }
}

let source = null;
function connect() {
  if (source) source.close();
  source = new EventSource("/api/events");
  source.onopen = async () => {
    try {
      await loadAll();
      state.connected = true;
      $("down").hidden = true;
    } catch (err) {
      handleFailure(err);
    }
  };
  source.onmessage = (e) => {
    try { onEvent(JSON.parse(e.data)); } catch (err) { showError("event", err); }
  };
  source.onerror = () => {
    state.connected = false;
    // EventSource retries by itself while the server answers 200 later;
    // tell a refused session (401) from a node that is down.
    api("/api/session").then(() => {}, (err) => handleFailure(err));
  };
}

function handleFailure(err) {
  if (err instanceof APIError && err.status === 401) {
    if (source) source.close();
    $("login").hidden = false;
    $("down").hidden = true;
    return;
  }
  $("down").hidden = false;
  if (source && source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
}

// ---- actions -------------------------------------------------------------

async function send() {
  const box = $("message");
  const body = box.value;
  if (!body.trim() || !state.current || $("send").disabled) return;
  $("send").disabled = true;
  try {
    const res = await api("/api/send", { room: state.current, body });
    box.value = "";
    onMessage(res.message);
  } catch (err) {
    showError("not sent", err);
  }
  renderSize();
}

async function join(room) {
  try {
    const res = await api("/api/join", { room });
    state.rooms = await api("/api/rooms");
    await selectRoom(res.room);
  } catch (err) {
    showError("join", err);
  }
}

async function leave() {
  const room = state.current;
  if (!room) return;
  try {
    await api("/api/leave", { room });
    state.rooms = await api("/api/rooms");
    state.messages.delete(room);
    state.unread.delete(room);
    await selectRoom(state.rooms[0] || "");
  } catch (err) {
    showError("leave", err);
  }
}

let trustTarget = null;
function openTrust(p) {
  trustTarget = p;
  $("trust-nick").textContent = (p.nick || "this peer") + " (" + p.short + ")";
  $("trust-fp").replaceChildren(fingerprintGroups(p.fingerprint));
  $("trust-name").value = p.nick || "";
  $("trust-same").checked = false;
  $("trust-ok").disabled = true;
  $("trust-dialog").showModal();
}

async function confirmTrust() {
  const p = trustTarget;
  if (!p || !$("trust-same").checked) return;
  try {
    await api("/api/trust", { fingerprint: p.fingerprint, name: $("trust-name").value.trim() });
    notice("trusted " + (p.nick || p.short) + ": they get a link once they trust you too");
  } catch (err) {
    showError("trust", err);
  }
  loadPeers();
}

async function untrust(p, name) {
  if (!confirm("Untrust " + name + "? Their link closes and they are no longer on your trust list.")) return;
  try {
    await api("/api/untrust", { fingerprint: p.fingerprint });
    notice("untrusted " + name);
  } catch (err) {
    showError("untrust", err);
  }
  loadPeers();
}

async function search(text) {
  const box = $("search-results");
  if (!text) { box.hidden = true; return; }
  try {
    const msgs = await api("/api/history?grep=" + encodeURIComponent(text) + "&limit=" + PAGE);
    $("search-title").textContent = msgs.length + (msgs.length === 1 ? " message" : " messages") + " with \u201c" + text + "\u201d";
    renderMessages($("search-list"), msgs, true, msgs.length ? null : "nothing found");
    box.hidden = false;
  } catch (err) {
    showError("search", err);
  }
}

// ---- wiring --------------------------------------------------------------

function wire() {
  const box = $("message");
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  box.addEventListener("input", renderSize);
  $("composer").addEventListener("submit", (e) => { e.preventDefault(); send(); });
  $("join").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = $("join-input").value.trim().replace(/^#/, "");
    if (v) join(v);
    $("join-input").value = "";
  });
  $("leave").addEventListener("click", leave);
  $("messages").addEventListener("scroll", () => { if ($("messages").scrollTop < 30) olderMessages(); });
  $("search").addEventListener("submit", (e) => { e.preventDefault(); search($("search-input").value.trim()); });
  $("search-close").addEventListener("click", () => { $("search-results").hidden = true; $("search-input").value = ""; });
  $("trust-same").addEventListener("change", () => { $("trust-ok").disabled = !$("trust-same").checked; });
  $("trust-cancel").addEventListener("click", () => $("trust-dialog").close());
  $("trust-form").addEventListener("submit", (e) => { e.preventDefault(); $("trust-dialog").close(); confirmTrust(); });
  const nb = $("notify");
  if (!("Notification" in window)) nb.hidden = true;
  nb.addEventListener("click", async () => {
    if (state.notify) { state.notify = false; nb.textContent = "Notify me"; return; }
    const perm = await Notification.requestPermission();
    state.notify = perm === "granted";
    nb.textContent = state.notify ? "Notifications on" : "Notify me";
    if (!state.notify) notice("notifications are blocked for this page in the browser's settings");
  });
  $("logout").addEventListener("click", async () => {
    try {
      await api("/api/logout", {});
      if (source) source.close();
      $("login").hidden = false;
    } catch (err) {
      showError("log out", err);
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.current) { state.unread.delete(state.current); renderRooms(); }
  });
  setInterval(() => { if (state.connected) loadPeers(); }, 5000);
}

wire();
connect();
