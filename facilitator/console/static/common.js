/* Viewpoint console: what the headset page and the group page share. Loaded before either page's script. */
"use strict";

const $ = (id) => document.getElementById(id);

function fmt(t) {
  if (t === null || t === undefined || Number.isNaN(t)) return "–:––";
  t = Math.max(0, t);
  const m = Math.floor(t / 60), s = t - m * 60;
  return `${m}:${s.toFixed(1).padStart(4, "0")}`;
}
function esc(s) { const d = document.createElement("div"); d.textContent = s ?? ""; return d.innerHTML; }

/* The content-warning countdown both pages show in `el` for film `f` at media time `t` (written only when it
   changes: a write costs the page a layout). */
function showWarningCountdown(el, f, t) {
  let cls = "nextwarn", text;
  const inside = f.content_warnings.find((w) => t >= w.start && t < w.end);
  const next = inside ? null : f.content_warnings.filter((w) => w.start >= t).sort((a, b) => a.start - b.start)[0];
  if (inside) {
    cls = "nextwarn inside";
    text = `In a content warning now: ${inside.tags.join(", ")} (ends in ${(inside.end - t).toFixed(1)} s)`;
  } else if (!next) {
    text = "No more content warnings in this film.";
  } else {
    const dt = next.start - t;
    if (dt < 10) cls = "nextwarn soon";
    text = `Next warning in ${dt.toFixed(1)} s: ${next.tags.join(", ")} at ${fmt(next.start)}`;
  }
  if (el.className !== cls) el.className = cls;
  if (el.textContent !== text) el.textContent = text;
}

/* ---------- the page's WebSocket to the console ----------
   `state` holds ws, wsOpen, lastServerMsg, nextId and pending (id -> {resolve, reject}); the socket reopens a
   second after it closes, and a close fails every command still waiting. */

function openSocket(state, path, handlers) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}${path}${location.search}`);
  state.ws = ws;
  ws.onopen = () => { state.wsOpen = true; state.lastServerMsg = performance.now(); };
  ws.onmessage = (m) => { state.lastServerMsg = performance.now(); handlers.onMessage(JSON.parse(m.data)); };
  ws.onclose = () => {
    state.wsOpen = false;
    for (const [, p] of state.pending) p.reject(new Error("console connection closed"));
    state.pending.clear();
    if (handlers.onClose) handlers.onClose();
    setTimeout(() => openSocket(state, path, handlers), 1000);
  };
}

/* A page command: resolves with the reply's result, rejects with its error, or after `timeoutMs` with
   "<cmd>: <noAnswer>". */
function sendCommand(state, id, cmd, args, { timeoutMs, notConnected, noAnswer }) {
  return new Promise((resolve, reject) => {
    if (!state.wsOpen) { reject(new Error(notConnected)); return; }
    state.pending.set(id, { resolve, reject });
    state.ws.send(JSON.stringify({ kind: "cmd", id, cmd, args }));
    setTimeout(() => {
      if (state.pending.has(id)) { state.pending.delete(id); reject(new Error(`${cmd}: ${noAnswer}`)); }
    }, timeoutMs);
  });
}

/* A "reply" message settles the command it answers. */
function settleReply(state, msg) {
  const p = state.pending.get(msg.id);
  if (p) { state.pending.delete(msg.id); msg.ok ? p.resolve(msg.result || {}) : p.reject(new Error(msg.error?.message || "failed")); }
}
