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
  mentions: new Map(), // room -> unread messages that mention you
  convs: new Map(), // room id -> conversation: room, kind (room, private, direct), name, with, member, admin
  pending: null, // a direct conversation not started yet: {fp, name}
  files: new Map(), // offer message id -> file view (what became of it)
  receipts: new Map(), // own message id -> receipt
  members: null, // the current private room's members (room_members)
  peers: [],
  trusted: [],
  refusing: new Set(), // fingerprints that refused the link
  notify: false,
  connected: false,
  queued: null, // events that arrived during loadAll, applied after it
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

// convLabel is how a conversation is named: #room, #name[private], @person.
function convLabel(room) {
  if (room.startsWith("with:") && state.pending) return "@" + state.pending.name;
  const c = state.convs.get(room);
  if (!c) return room ? "#" + room : "no room";
  if (c.kind === "private") return "#" + c.name + "[private]";
  if (c.kind === "direct") return "@" + c.name;
  return "#" + c.name;
}

// nameOf is how this page calls a fingerprint: the trust list's name, the
// peer's nickname, or its short form.
function nameOf(fp) {
  if (state.me && fp === state.me.fingerprint) return "you";
  const t = state.trusted.find((x) => x.fingerprint === fp);
  if (t && t.name) return t.name;
  const p = state.peers.find((x) => x.fingerprint === fp);
  return (p && p.nick) || fp.slice(0, 7);
}

function sizeText(n) {
  if (n < 1024) return n + " B";
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return v.toFixed(1) + " " + units[i];
}

// receiptText is a receipt in words, as lanchat receipt says it.
function receiptText(r) {
  let t;
  if (r.members === 0) t = "no other members";
  else if (r.stored === 0) t = "only here";
  else if (r.stored === r.members) t = "stored by all " + r.members;
  else t = "stored by " + r.stored + " of " + r.members;
  if (r.read > 0) t += ", read by " + r.read;
  return t;
}

// receiptBox is the mark on an own message; opening it says who.
function receiptBox(m) {
  const r = state.receipts.get(m.id);
  const box = el("details", { class: "receipt" + (r && r.members && r.stored === r.members ? " all" : ""), "data-receipt": m.id });
  box.append(el("summary", { text: r ? receiptText(r) : "sent", "aria-label": "Delivery: " + (r ? receiptText(r) : "sent") }));
  if (r) {
    const who = (l) => (l.length ? l.map(nameOf).join(", ") : "nobody");
    box.append(el("p", { text: "Stored by: " + who(r.stored_by) }), el("p", { text: "Read by: " + who(r.read_by) }));
    if (r.waiting.length) box.append(el("p", { text: "Waiting for: " + who(r.waiting) }));
  }
  return box;
}

function fileBox(m) {
  const f = state.files.get(m.id) || { state: "offered", have: 0, size: m.file.size };
  const box = el("div", { class: "file", "data-file": m.id },
    el("span", { class: "fname", text: (m.file.folder ? "folder " : "file ") + m.file.name }),
    el("span", { class: "fsize", text: sizeText(m.file.size) + (m.file.folder ? ", " + m.file.files + " files" : "") }));
  let st = f.state;
  if (f.state === "fetching" || f.state === "paused") {
    box.append(el("progress", { max: String(m.file.size || 1), value: String(f.have || 0), "aria-label": "Fetched of " + m.file.name }));
    st += " " + sizeText(f.have || 0) + " of " + sizeText(m.file.size);
  } else if (f.state === "done") {
    st = "done: " + (f.path || "");
  } else if (f.state === "failed") {
    st = "failed: " + (f.error || "");
  } else if (m.own) {
    st = "offered by you";
  } else {
    st = "";
  }
  if (st) box.append(el("span", { class: "fstate " + f.state, role: "status", text: st }));
  if (!m.own && (f.state === "offered" || f.state === "failed")) {
    box.append(el("button", { type: "button", class: "small", text: f.state === "failed" ? "Fetch again" : "Fetch",
      "aria-label": "Fetch " + m.file.name, onclick: () => fetchFile(m) }));
  }
  return box;
}

function messageItem(m, withRoom) {
  const name = m.nick || m.author_short;
  if (m.op) {
    // a private room's membership operation: a notice, not a chat line
    return el("li", { class: "op", "data-id": m.id, role: "note" },
      el("time", { datetime: m.time, text: timeFormat.format(new Date(m.time)) + " " }),
      el("span", { text: (m.own ? "you" : name) + " " + m.body }));
  }
  const head = el("div", { class: "head" },
    nickSpan(name, m.author),
    el("span", { class: "fp", text: m.author_short, title: m.author }),
    withRoom ? el("span", { class: "fp", text: convLabel(m.room) }) : null,
    el("time", { datetime: m.time, text: timeFormat.format(new Date(m.time)) }),
    m.trusted || m.own ? null : el("span", { class: "untrusted", text: "not on your trust list" }),
    m.equivocator ? el("span", { class: "flag", text: "signed conflicting messages" }) : null,
    m.damaged ? el("span", { class: "flag", text: "damaged record" }) : null);
  if (m.mention) head.append(el("span", { class: "flag", text: "mentions you" }));
  const li = el("li", { class: "msg" + (m.mention ? " mention" : ""), "data-id": m.id }, head);
  if (m.file) li.append(fileBox(m));
  else li.append(el("p", { class: "body", text: m.damaged ? "[damaged: not what the author wrote] " + m.body : m.body }));
  if (m.own && !withRoom) {
    head.append(receiptBox(m));
    head.append(el("button", { type: "button", class: "small", text: "Delete", "aria-label": "Delete your message " + m.body.slice(0, 40),
      onclick: () => deleteMessage(m) }));
  }
  return li;
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
  const c = state.convs.get(room);
  $("room-title").textContent = convLabel(room);
  $("leave").disabled = !room;
  $("leave").hidden = !c || c.kind === "direct" || (c.kind === "private" && !c.member);
  renderMembers();
  const msgs = state.messages.get(room) || [];
  const label = convLabel(room);
  const note = state.complete.get(room) ? "start of " + label : "scroll up for older messages";
  const fromBottom = list.scrollHeight - list.scrollTop;
  renderMessages(list, msgs, false, msgs.length ? note : "no messages in " + label + " yet");
  list.scrollTop = keepBottomOffset ? list.scrollHeight - fromBottom : list.scrollHeight;
}

function roomButton(r) {
  const n = state.unread.get(r) || 0;
  const k = state.mentions.get(r) || 0;
  const label = convLabel(r);
  const b = el("button", { type: "button", "aria-current": String(r === state.current),
    "aria-label": label + (n ? ", " + n + " unread" : "") + (k ? ", " + k + " mentioning you" : ""), onclick: () => selectRoom(r) },
  el("span", { text: label }), n ? el("span", { class: "badge" + (k ? " mention" : ""), text: (k ? "@" : "") + n }) : null);
  return el("li", {}, b);
}

function renderRooms() {
  $("rooms").replaceChildren(...state.rooms.map(roomButton));
  const of = (kind) => [...state.convs.values()].filter((c) => c.kind === kind && (kind !== "private" || c.member))
    .sort((a, b) => a.name.localeCompare(b.name)).map((c) => roomButton(c.room));
  const priv = of("private");
  $("private").replaceChildren(...(priv.length ? priv : [el("li", { class: "state", text: "none yet" })]));
  const direct = of("direct");
  if (state.pending) {
    direct.push(el("li", {}, el("button", { type: "button", "aria-current": String(state.current === "with:" + state.pending.fp),
      "aria-label": "@" + state.pending.name, onclick: () => selectRoom("with:" + state.pending.fp) }, el("span", { text: "@" + state.pending.name }))));
  }
  $("direct").replaceChildren(...(direct.length ? direct : [el("li", { class: "state", text: "none yet: Message next to a trusted peer starts one" })]));
  let total = 0;
  for (const n of state.unread.values()) total += n;
  document.title = (total ? "(" + total + ") " : "") + "lanchat" + (state.current ? " " + convLabel(state.current) : "");
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
    const presence = p.linked && p.presence
      ? el("span", { class: "presence-line " + p.presence, text: p.presence + (p.status ? ": " + p.status : "") })
      : null;
    const name = (p.name || p.nick || "unnamed") + " (" + p.short + ")";
    const action = p.trusted
      ? el("button", { type: "button", class: "small", text: "Untrust", "aria-label": "Untrust " + name, onclick: () => untrust(p, name) })
      : el("button", { type: "button", class: "small", text: "Trust…", "aria-label": "Trust " + name, onclick: () => openTrust(p) });
    const dm = p.trusted
      ? el("button", { type: "button", class: "small", text: "Message", "aria-label": "Message " + name, onclick: () => openDirect(p.fingerprint, p.name || p.nick || p.short) })
      : null;
    return el("li", { "data-fingerprint": p.fingerprint }, el("span", { class: "name", text: name }),
      el("span", { class: "state " + cls, text: label }), presence, dm, action);
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
  const c = state.convs.get(state.current);
  $("send").disabled = Boolean(over) || !text.trim() || !state.current || Boolean(c && c.kind === "private" && !c.member);
}

// renderMembers shows the current private room's members, with who is an
// admin, Remove for an admin, and the invite form.
function renderMembers() {
  const c = state.convs.get(state.current);
  const panel = $("members-panel");
  if (!c || c.kind !== "private") { panel.hidden = true; return; }
  panel.hidden = false;
  const pr = state.members && state.members.id === c.room ? state.members : null;
  const members = pr ? pr.members : [];
  $("members").replaceChildren(...members.map((m) => {
    const who = m.fingerprint === state.me.fingerprint ? "you" : (m.name || m.short);
    const li = el("li", { "data-fingerprint": m.fingerprint }, el("span", { text: who + " " }),
      m.admin ? el("span", { class: "admin", text: "admin" }) : null);
    if (pr.admin && pr.member && m.fingerprint !== state.me.fingerprint) {
      li.append(el("button", { type: "button", class: "small", text: "Remove", "aria-label": "Remove " + who + " from " + convLabel(c.room),
        onclick: () => removeMember(c, m.fingerprint, who) }));
    }
    return li;
  }));
  if (pr && !pr.member) $("members").append(el("li", { text: "you are no longer a member of this room" }));
  const inRoom = new Set(members.map((m) => m.fingerprint));
  const sel = $("invite-peer");
  sel.replaceChildren(...state.trusted.filter((t) => !inRoom.has(t.fingerprint))
    .map((t) => el("option", { value: t.fingerprint, text: (t.name || t.fingerprint.slice(0, 7)) + " (" + t.fingerprint.slice(0, 7) + ")" })));
  $("invite").hidden = !(pr && pr.member) || !sel.options.length; // any member may invite
  if (pr && pr.member && !sel.options.length) $("members").append(el("li", { class: "hint", text: "everyone you trust is a member" }));
}

// ---- loading -------------------------------------------------------------

async function loadHistory(room, limit) {
  if (room.startsWith("with:")) { // a direct conversation not started: nothing yet
    state.messages.set(room, []);
    state.complete.set(room, true);
    return;
  }
  const msgs = await api("/api/history?room=" + encodeURIComponent(room) + kindQuery(kindOf(room)) + "&limit=" + limit);
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
  renderRooms();
  if (!state.messages.has(room)) {
    try { await loadHistory(room, PAGE); } catch (err) { showError("history", err); }
  }
  const c = state.convs.get(room);
  if (c && c.kind === "private") await loadMembers(room);
  if (state.current === room) renderRoom(false);
  renderSize();
  markRead(room);
  refreshReceipts(room);
}

// markRead moves the room's read position to its end when the user sees
// it (peers get a read receipt unless the node runs without them).
// kindOf is the kind the API is told a conversation is: "room" or
// "private" (a name an open and a private room share is ambiguous without
// it), "" for a direct conversation, whose id says it.
function kindOf(room) {
  const c = state.convs.get(room);
  return c && (c.kind === "room" || c.kind === "private") ? c.kind : "";
}

function kindQuery(kind) {
  return kind === "room" || kind === "private" ? "&kind=" + kind : "";
}

async function markRead(room) {
  if (room !== state.current || document.hidden || !state.convs.has(room)) return;
  const had = state.unread.get(room) || 0;
  state.unread.delete(room);
  state.mentions.delete(room);
  if (had) renderRooms();
  try { await api("/api/mark_read", { room, kind: kindOf(room) || undefined }); } catch (err) { if (err.code !== "no_message") showError("mark read", err); }
}

async function loadMembers(room) {
  try { state.members = await api("/api/members?room=" + encodeURIComponent(room)); } catch (err) { showError("members", err); }
}

// refreshReceipts asks how far the room's newest own messages got.
async function refreshReceipts(room) {
  const own = (state.messages.get(room) || []).filter((m) => m.own && !m.op).slice(-30);
  await Promise.all(own.map(async (m) => {
    try {
      state.receipts.set(m.id, await api("/api/receipt?room=" + encodeURIComponent(m.room) + kindQuery(m.conversation) + "&seq=" + m.seq));
    } catch { /* deleted meanwhile: the reload shows it */ }
  }));
  if (state.current !== room) return;
  for (const m of own) {
    const old = document.querySelector('#messages [data-receipt="' + m.id + '"]');
    if (old) { const box = receiptBox(m); box.open = old.open; old.replaceWith(box); }
  }
}

// loadConversations lists the rooms, private rooms and direct
// conversations with their unread counts.
async function loadConversations() {
  const convs = await api("/api/conversations");
  state.convs.clear();
  state.rooms = [];
  state.unread.clear();
  state.mentions.clear();
  for (const c of convs) {
    state.convs.set(c.room, c);
    if (c.kind === "room") state.rooms.push(c.room);
    if (c.unread && c.room !== state.current) state.unread.set(c.room, c.unread);
    if (c.mentions && c.room !== state.current) state.mentions.set(c.room, c.mentions);
  }
  if (state.pending) {
    const started = convs.find((c) => c.kind === "direct" && c.with === state.pending.fp);
    if (started) {
      if (state.current === "with:" + state.pending.fp) state.current = started.room;
      state.pending = null;
    }
  }
}

async function loadPeers() {
  try {
    [state.peers, state.trusted] = await Promise.all([api("/api/peers"), api("/api/trusted")]);
    renderPeers();
  } catch (err) {
    if (err instanceof APIError) showError("peers", err);
  }
}

// loadAll loads everything the page shows. Events that arrive meanwhile
// wait in state.queued and are applied after it (what the loads already
// hold is skipped), so nothing that happens during a load is lost. The
// "you are" line is filled in last: once it shows, the page is loaded.
async function loadAll() {
  if (state.queued) return; // one load at a time; the events wait for it
  state.queued = [];
  try {
    await loadEverything();
  } finally {
    const queued = state.queued;
    state.queued = null;
    for (const ev of queued) onEvent(ev);
  }
  $("me").textContent = "you are " + state.me.nick + " (" + state.me.short + ")";
}

async function loadEverything() {
  state.me = await api("/api/session");
  $("trust-mine").replaceChildren(fingerprintGroups(state.me.fingerprint));
  if (!$("download-dir").value) $("download-dir").value = state.me.download_dir;
  $("presence-state").value = state.me.presence || "online";
  $("presence-status").value = state.me.status || "";
  const files = api("/api/files").catch((err) => { showError("files", err); return []; });
  await loadConversations();
  for (const f of await files) state.files.set(f.id, f);
  state.messages.clear();
  if (!state.convs.has(state.current) && !state.current.startsWith("with:")) state.current = state.rooms[0] || "";
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
  if (!state.convs.has(m.room)) {
    // a new direct conversation, or an invitation to a private room
    if (m.conversation === "direct" && m.with) {
      state.convs.set(m.room, { room: m.room, kind: "direct", name: m.with_nick || m.with.slice(0, 7), with: m.with, member: true });
      if (state.pending && state.pending.fp === m.with) {
        const here = state.current === "with:" + m.with;
        state.pending = null;
        if (here) { selectRoom(m.room); return; } // the conversation now has its id: show it from the node
      }
    } else if (m.conversation === "private") {
      loadConversations().then(renderRooms, (err) => showError("rooms", err));
    }
  }
  if (m.op && m.conversation === "private") {
    const c = state.convs.get(m.room);
    if (m.op.subject === state.me.fingerprint || m.op.kind === "leave") loadConversations().then(renderRooms, () => {});
    if (c && m.room === state.current) loadMembers(m.room).then(renderMembers);
  }
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
  if (onScreen && !m.own) markRead(m.room);
  if (!onScreen && !m.own && !m.op) {
    state.unread.set(m.room, (state.unread.get(m.room) || 0) + 1);
    if (m.mention) state.mentions.set(m.room, (state.mentions.get(m.room) || 0) + 1);
    if (state.notify && "Notification" in window && Notification.permission === "granted") {
      new Notification((m.nick || m.author_short) + " in " + convLabel(m.room), { body: m.body.slice(0, 200), tag: m.room });
    }
  }
  renderRooms();
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
    case "nick": case "join": case "leave": case "presence": loadPeers(); break;
    case "receipt": if (ev.room === state.current) refreshReceipts(ev.room); break;
    case "file": onFile(ev.file); break;
  }
}

// onFile shows how far a fetch got.
function onFile(f) {
  if (!f) return;
  // fetch's answer may come after the events of the fetch it started: an
  // older view never replaces a newer one
  const old = state.files.get(f.id);
  if (old && old.state === "done" && f.state !== "done") return;
  if (old && old.state === f.state && f.state === "fetching" && (f.have || 0) < (old.have || 0)) return;
  state.files.set(f.id, f);
  const box = document.querySelector('#messages [data-file="' + f.id + '"]');
  if (!box) return;
  const m = (state.messages.get(state.current) || []).find((x) => x.id === f.id);
  if (m) box.replaceWith(fileBox(m));
  if (f.state === "done") notice("fetched " + f.name + " to " + f.path);
  if (f.state === "failed") notice("fetching " + f.name + " failed: " + f.error, "error");
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
    try {
      const ev = JSON.parse(e.data);
      if (state.queued) state.queued.push(ev);
      else onEvent(ev);
    } catch (err) { showError("event", err); }
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
  const c = state.convs.get(state.current);
  try {
    let res;
    if (state.current.startsWith("with:")) res = await api("/api/send_direct", { to: state.pending.fp, body });
    else if (c && c.kind === "direct") res = await api("/api/send_direct", { to: c.with, body });
    else if (c && c.kind === "private") res = await api("/api/send", { room: c.room, body, kind: "private" });
    else res = await api("/api/send", { room: state.current, body, kind: "room" });
    box.value = "";
    onMessage(res.message);
    if (state.current === res.message.room) refreshReceipts(res.message.room);
  } catch (err) {
    showError("not sent", err);
  }
  renderSize();
}

async function join(room) {
  try {
    const res = await api("/api/join", { room });
    await loadConversations();
    await selectRoom(res.room);
  } catch (err) {
    showError("join", err);
  }
}

async function leave() {
  const room = state.current;
  if (!room) return;
  const c = state.convs.get(room);
  try {
    if (c && c.kind === "private") {
      if (!confirm("Leave " + convLabel(room) + "? Only a member can invite you back.")) return;
      await api("/api/room_leave", { room });
    } else {
      await api("/api/leave", { room });
    }
    await loadConversations();
    state.messages.delete(room);
    state.unread.delete(room);
    await selectRoom(state.rooms[0] || "");
  } catch (err) {
    showError("leave", err);
  }
}

// openDirect shows the direct conversation with a trusted peer, started
// or not.
async function openDirect(fp, name) {
  const c = [...state.convs.values()].find((x) => x.kind === "direct" && x.with === fp);
  if (c) { await selectRoom(c.room); return; }
  state.pending = { fp, name };
  await selectRoom("with:" + fp);
  $("message").focus();
}

async function createRoom(name) {
  try {
    const pr = await api("/api/room_create", { name });
    await loadConversations();
    await selectRoom(pr.id);
  } catch (err) {
    showError("create", err);
  }
}

async function invite() {
  const c = state.convs.get(state.current);
  const fp = $("invite-peer").value;
  if (!c || c.kind !== "private" || !fp) return;
  try {
    const res = await api("/api/room_invite", { room: c.room, peer: fp });
    onMessage(res.message);
    await loadMembers(c.room);
    renderMembers();
  } catch (err) {
    showError("invite", err);
  }
}

async function removeMember(c, fp, who) {
  if (!confirm("Remove " + who + " from " + convLabel(c.room) + "? They get nothing written after this.")) return;
  try {
    const res = await api("/api/room_remove", { room: c.room, peer: fp });
    onMessage(res.message);
    await loadMembers(c.room);
    renderMembers();
  } catch (err) {
    showError("remove", err);
  }
}

async function fetchFile(m) {
  const out = $("download-dir").value.trim();
  if (!out.startsWith("/") && !/^[A-Za-z]:\\/.test(out)) {
    notice("the download folder must be an absolute path on the node's machine", "error");
    $("download-dir").focus();
    return;
  }
  try {
    onFile(await api("/api/fetch", { id: m.id, out }));
  } catch (err) {
    showError("fetch", err);
  }
}

async function deleteMessage(m) {
  if (!confirm("Delete this message for everyone? Each member's node wipes it when it gets the request.")) return;
  try {
    const res = await api("/api/delete", { room: m.room, seq: m.seq });
    notice("deleted for everyone: asked " + res.handed_to + (res.handed_to === 1 ? " linked peer" : " linked peers") + " now, the others when they next sync");
    await reloadRoom(m.room);
  } catch (err) {
    showError("delete", err);
  }
}

async function setPresence() {
  try {
    const res = await api("/api/presence", { state: $("presence-state").value, status: $("presence-status").value.trim() });
    notice("you are " + res.state + (res.status ? ": " + res.status : ""));
  } catch (err) {
    showError("presence", err);
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
  $("create").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = $("create-input").value.trim().replace(/^#/, "");
    if (v) createRoom(v);
    $("create-input").value = "";
  });
  $("invite").addEventListener("submit", (e) => { e.preventDefault(); invite(); });
  $("presence").addEventListener("submit", (e) => { e.preventDefault(); setPresence(); });
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
    if (!document.hidden && state.current) markRead(state.current);
  });
  setInterval(() => { if (state.connected) loadPeers(); }, 5000);
}

wire();
connect();
