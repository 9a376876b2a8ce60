/* Viewpoint facilitator console: one page, no build step, no network beyond this console's own server. */
"use strict";

const STALE_AFTER_S = 2.0;   // player quiet for longer than this: amber (heartbeats come every second)
const LOST_AFTER_S = 3.0;    // and this: red, "lost"
const TRAIL_S = 4.0;         // seconds of gaze trail drawn on the live picture
const STEPS = ["setup", "warnings", "preflight", "consent", "before", "live", "after", "ended"];

const S = {
  ws: null, wsOpen: false, lastServerMsg: 0, lastHealthAt: 0, nextId: 1, pending: new Map(),
  config: { quick_tags: [], films: [], players: [], auto_pause: false },
  playerId: null, filmId: null, step: "setup",
  state: { transport: "unknown", media_t: 0, rate: 1, volume: 1, welfare: "none", film: null, session: null,
           at: performance.now() },
  health: { connected: false, age_s: null },
  notes: new Map(), pinnedT: null, promptsUsed: new Set(), trail: [], frameKey: null, lastChapter: null,
  alertOpen: false, readOnly: false, participant: null, welfareCount: 0, driving: true, lastEndReason: null,
  logQueue: [], viewW: 0, viewH: 0, viewDrawn: null,
};

function film() { return S.config.films.find((f) => f.id === (S.filmId || S.state.film)) || null; }

/* ---------- connection ---------- */

function connect() { openSocket(S, "/ws", { onMessage }); }

function send(obj) { if (S.ws && S.wsOpen) S.ws.send(JSON.stringify(obj)); }

function command(cmd, args = {}) {
  return sendCommand(S, `p-${S.nextId++}`, cmd, args, {
    timeoutMs: 8000, notConnected: "not connected to the console server", noAnswer: "no answer from the player",
  });
}

function onMessage(msg) {
  switch (msg.kind) {
    case "hello":
      S.config = msg.config; S.readOnly = !!msg.config.read_only;
      $("to-group").classList.toggle("hidden", !msg.config.group);
      if (msg.config.group) $("to-group").href = `group${location.search}`;
      applyReadOnly();
      if (msg.player) S.playerId = msg.player;
      renderSetup(); renderQuickTags();
      $("auto-pause").checked = !!msg.config.auto_pause;
      if (msg.state) applyState(msg.state);
      S.notes.clear(); S.logQueue.length = 0; $("log").innerHTML = ""; questionnaireReset();
      if (S.filmId || S.state.film) loadFlow(S.filmId || S.state.film);
      for (const ev of msg.events || []) onEvent(ev, true);
      if (msg.health) applyHealth(msg.health);
      resumeFlow();
      break;
    case "state": applyState(msg.state); break;
    case "health": applyHealth(msg.health); break;
    case "event": onEvent(msg.event, false); break;
    case "reply": settleReply(S, msg); break;
    case "notice": logLine(msg.text, msg.level || ""); break;
    case "tabs": applyTabs(msg); break;
    default: break;
  }
}

/* An observer's console: everything that would command the player is disabled (the server refuses anyway). */
function applyReadOnly() {
  document.body.classList.toggle("readonly", S.readOnly);
  const sel = "#welfare button, .transport button, .transport select, .transport input, #end-session, " +
    "#quicktags button, #note-form button, #note-text, #to-preflight, #record-consent, #preflight-retry";
  document.querySelectorAll(sel).forEach((el) => { if (S.readOnly) el.disabled = true; });
  if (S.readOnly) $("pstate").title = "Observer console: read-only";
}

function applyState(st) {
  Object.assign(S.state, st, { at: performance.now() });
  if (st.film && !S.filmId) S.filmId = st.film;
  // A session running on the player (started by another console, or before this page loaded): follow it.
  if (st.session && st.session.active && S.step === "setup") { S.filmId = st.film || S.filmId; showStep("live"); }
  renderSoon();
}

/* State and health arrive many times a second: drawn once, on the next tick (10 Hz), never per message, so
   the page's main thread stays free for a press on STOP NOW. */
function renderSoon() { S.renderDue = true; }

/* One tab drives the session; another tab of this console is read-only (STOP NOW excepted) until it takes over. */
function applyTabs(msg) {
  S.driving = !!msg.driver;
  $("tab-notice").hidden = S.driving;
  document.body.classList.toggle("other-tab", !S.driving);
}

/* A session a crash ended (player or console): said so, not "ended", and a lead can resume it. */
function renderInterrupted() {
  const i = S.state.interrupted;
  $("interrupted").hidden = !i;
  if (!i) return;
  $("interrupted-text").textContent = `The session with participant ${i.participant} was interrupted at ` +
    `${fmt(i.media_t || 0)}: the headset stopped without it being ended. Resume it at that point with the ` +
    "consent already given, or start a new session.";
  $("resume-session").disabled = S.readOnly;
}

async function resumeSession() {
  const i = S.state.interrupted; if (!i) return;
  try {
    const r = await command("session.resume", { session: i.session });
    S.participant = r.participant; S.filmId = (r.resumed && r.resumed.film) || S.filmId;
    logLine(`session resumed at ${fmt((r.resumed && r.resumed.media_t) || 0)}: participant ${r.participant}`, "");
    showStep("live");
  } catch (e) { logLine(`could not resume: ${e.message}`, "welfare"); $("interrupted-text").textContent = e.message; }
}

async function purgeSessions() {
  const days = Number($("purge-days").value);
  if (!Number.isFinite(days) || days < 0) { $("purge-msg").textContent = "Give a number of days (0 or more)."; return; }
  if (!confirm(`Erase every session that ended more than ${days} day(s) ago from the headset? This cannot be undone.`)) return;
  try {
    const r = await command("purge", { older_than_days: days });
    $("purge-msg").className = "msg ok";
    $("purge-msg").textContent = `Purged ${r.count} session(s); ${r.reports_removed.length} report(s) deleted` +
      (r.reports_kept.length ? `; NOT deleted: ${r.reports_kept.join(", ")}` : ".");
  } catch (e) { $("purge-msg").className = "msg"; $("purge-msg").textContent = `Purge failed: ${e.message}`; }
}

function applyHealth(h) { S.health = h; S.lastHealthAt = performance.now(); renderSoon(); }

/* Media time now, extrapolated from the last state while the player is playing and the link is live. */
function mediaNow() {
  const st = S.state;
  if (st.transport === "playing" && isLive()) {
    const dt = (performance.now() - st.at) / 1000;
    const f = film();
    const t = st.media_t + dt * (st.rate || 1);
    return f && f.duration ? Math.min(t, f.duration) : t;
  }
  return st.media_t;
}

function linkAge() {
  const serverAge = (performance.now() - S.lastHealthAt) / 1000;
  if (!S.wsOpen) return Infinity;
  if (!S.health.connected || S.health.age_s === null || S.health.age_s === undefined) return Infinity;
  return S.health.age_s + serverAge;
}
function isLive() { return linkAge() < STALE_AFTER_S; }
/* The headset's session log (its heartbeats say): anything but "ok" means nothing is being recorded. */
const LOG_STATES = { stalled: "log disk not responding", full: "log disk full", read_only: "log disk read-only",
  failed: "log cannot be written" };
function notRecording() { return Boolean(S.health.log) && S.health.log !== "ok"; }

/* ---------- status bar ---------- */

/* Written only when it changes: a write of the same text still costs the page a layout. */
function setText(el, text) { if (el.textContent !== text) el.textContent = text; }
function setCls(el, cls) { if (el.className !== cls) el.className = cls; }

function renderStatus() {
  const age = linkAge();
  const conn = $("conn");
  const who = S.health.player_name ? `${S.health.player_name}: ` : "";
  if (!S.wsOpen) { setCls(conn, "pill bad"); setText(conn, "Console offline"); }
  else if (!S.health.connected && S.health.age_s === null) { setCls(conn, "pill bad"); setText(conn, `${who}not connected`); }
  else if (age < STALE_AFTER_S && notRecording()) { setCls(conn, "pill bad"); setText(conn, `${who}live, NOT RECORDING`); }
  else if (age < STALE_AFTER_S) { setCls(conn, "pill ok"); setText(conn, `${who}live`); }
  else if (age < LOST_AFTER_S) { setCls(conn, "pill warn"); setText(conn, `${who}delayed ${age.toFixed(1)} s`); }
  else {
    setCls(conn, "pill bad");
    setText(conn, Number.isFinite(age) ? `${who}LOST ${age.toFixed(0)} s` : `${who}LOST`);
  }
  document.body.classList.toggle("stale", !(age < STALE_AFTER_S));
  const rec = $("rec");
  rec.classList.toggle("hidden", !notRecording());
  setText(rec, notRecording() ? `NOT RECORDING: ${LOG_STATES[S.health.log] || S.health.log}` : "");
  const ps = $("pstate");
  setText(ps, S.state.transport || "–");
  setCls(ps, "pill " + ({ playing: "ok", paused: "warn", error: "bad" }[S.state.transport] || "muted"));
  const wl = S.state.welfare || "none";
  const ws = $("welfare-state");
  ws.classList.toggle("hidden", wl === "none");
  setCls(ws, `pill ${wl === "none" ? "hidden" : "welfare-" + wl}`);
  setText(ws, wl === "stop" ? "STOPPED: viewer sees the calm scene" : wl === "soften" ? "Softened" : "");
  $("w-soften").classList.toggle("active", wl === "soften");
  $("w-stop").classList.toggle("active", wl === "stop");
  setText($("t-play").firstChild, S.state.transport === "playing" ? "Pause " : "Play ");
  const vol = $("t-volume");
  const v = String(Math.round(S.state.volume * 100));
  if (document.activeElement !== vol && typeof S.state.volume === "number" && vol.value !== v) vol.value = v;
}

/* ---------- session flow ---------- */

function showStep(step) {
  S.step = step;
  for (const s of STEPS) $(`step-${s}`).hidden = s !== step;
  const idx = STEPS.indexOf(step);
  document.querySelectorAll("#steps li").forEach((li) => {
    const i = STEPS.indexOf(li.dataset.step);
    li.className = i === idx ? "current" : i < idx ? "done" : "";
    if (i === idx) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
  });
  if (step === "live") { renderTimeline(); renderPrompts(); renderSubtitles(); }
  if (step === "ended") renderEnded();
  if (step === "before" || step === "after" || step === "live") renderQuestionSteps();
  const session = S.state.session && S.state.session.id;
  sessionStorage.setItem("vp-flow", JSON.stringify({ step, film: S.filmId, player: S.playerId, session }));
}

function renderEnded() {
  const interrupted = S.lastEndReason === "interrupted" || !!S.state.interrupted;
  $("h-ended").textContent = interrupted ? "Session interrupted" : "Session ended";
  const f = film();
  const notes = [...S.notes.values()].filter((n) => !n.deleted && !n.tags.includes("prompt")).length;
  const who = S.participant ? `Participant ${S.participant}` : "The participant";
  $("ended-summary").textContent = `${who} · ${f ? f.title : "film"} · ${notes} note${notes === 1 ? "" : "s"} · ` +
    `${S.welfareCount} welfare event${S.welfareCount === 1 ? "" : "s"}. The session is in the headset's log; ` +
    "the report is written from it.";
}

function resumeFlow() {
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem("vp-flow") || "null"); } catch (e) { saved = null; }
  // A session already running on the player (page reloaded, console restarted): straight to the live view,
  // or back to this session's questionnaire step.
  if (S.state.session && S.state.session.active) {
    S.filmId = S.state.film || S.filmId;
    const same = saved && saved.session === S.state.session.id && ["before", "after"].includes(saved.step);
    showStep(same ? saved.step : "live");
    return;
  }
  if (saved && saved.step === "ended") { S.filmId = saved.film; showStep("ended"); return; }
  if (S.step === "live") { showStep("ended"); return; }
  showStep(S.step === "ended" ? "ended" : "setup");
}

function choiceButton(label, sub, pressed, onClick) {
  const b = document.createElement("button");
  b.type = "button"; b.className = "choice"; b.setAttribute("aria-pressed", pressed ? "true" : "false");
  b.innerHTML = `${esc(label)}${sub ? `<small>${esc(sub)}</small>` : ""}`;
  b.addEventListener("click", onClick);
  return b;
}

function renderSetup() {
  const players = $("players"); players.innerHTML = "";
  if (!S.playerId && S.config.players.length === 1) S.playerId = S.config.players[0].id;
  for (const p of S.config.players) {
    players.appendChild(choiceButton(p.name, p.endpoint, p.id === S.playerId, () => {
      S.playerId = p.id; send({ kind: "select_player", player: p.id }); renderSetup();
    }));
  }
  if (!S.config.players.length) players.innerHTML = '<p class="msg">No headset configured.</p>';
  const films = $("films"); films.innerHTML = "";
  for (const f of S.config.films) {
    const sub = `${fmt(f.duration)} · ${f.projection}${f.stereo !== "mono" ? " " + f.stereo : ""} · ` +
      `${f.content_warnings.length} warning${f.content_warnings.length === 1 ? "" : "s"}`;
    films.appendChild(choiceButton(f.title || f.id, sub, f.id === S.filmId, () => { S.filmId = f.id; renderSetup(); }));
  }
  if (!S.config.films.length) films.innerHTML = '<p class="msg">The film library is empty.</p>';
  $("to-warnings").disabled = !(S.playerId && S.filmId);
}

function renderWarnings() {
  const f = film();
  $("warn-film").textContent = f ? f.title || f.id : "";
  const g = f && f.audience ? f.audience : {};
  const bits = [];
  if (g.min_age) bits.push(`Suitable from age ${g.min_age}.`);
  if (g.guidance) bits.push(g.guidance);
  $("guidance").textContent = bits.join(" ") || "No audience guidance in the film's manifest.";
  const ul = $("warn-list"); ul.innerHTML = "";
  for (const w of (f ? f.content_warnings : [])) {
    const li = document.createElement("li");
    li.innerHTML = `<span class="when">${fmt(w.start)}–${fmt(w.end)}</span>` +
      w.tags.map((t) => `<span class="tag">${esc(t)}</span>`).join("") + `<div>${esc(w.note)}</div>`;
    ul.appendChild(li);
  }
  if (!f || !f.content_warnings.length) ul.innerHTML = "<li>This film has no timed content warnings.</li>";
  $("ack-warnings").checked = false; $("to-preflight").disabled = true;
}

async function runPreflight() {
  const tbody = $("preflight").querySelector("tbody");
  tbody.innerHTML = '<tr><td colspan="2">Loading the film on the headset…</td></tr>';
  $("preflight-msg").textContent = ""; $("to-consent").disabled = true;
  try {
    const r = await command("load", { film: S.filmId });
    const checks = r.checks || [];
    tbody.innerHTML = "";
    let allOk = true;
    for (const c of checks) {
      allOk = allOk && c.ok !== false;
      const cls = c.ok === true ? "ok" : c.ok === false ? "bad" : "na";
      const mark = c.ok === true ? "✔" : c.ok === false ? "✘" : "–";
      const tr = document.createElement("tr");
      tr.innerHTML = `<td>${esc(c.label)}</td><td class="res ${cls}">${mark} ${esc(c.value)}</td>`;
      tbody.appendChild(tr);
    }
    $("preflight-msg").textContent = allOk ? "All checks passed." : "A check failed: fix it before starting.";
    $("preflight-msg").className = allOk ? "msg ok" : "msg";
    $("to-consent").disabled = !allOk;
    if (allOk) $("to-consent").focus();
  } catch (e) {
    tbody.innerHTML = "";
    $("preflight-msg").className = "msg"; $("preflight-msg").textContent = `Pre-flight failed: ${e.message}`;
  }
}

// The wire contract's tables (player/protocol, served at api/protocol): event labels, the participant rule.
let PROTOCOL = null;
const protocolLoaded = fetch("api/protocol", { credentials: "same-origin" })
  .then((r) => r.json()).then((p) => { PROTOCOL = p; }).catch(() => {});

async function newCode() {
  const r = await fetch("api/new-code", { credentials: "same-origin" });
  return (await r.json()).code;
}

// Why a typed participant code is refused, by the one rule the player applies ("" when it is fine).
function codeProblem(code) {
  const rule = PROTOCOL && PROTOCOL.participant;
  if (!code) return "";
  if (!rule) return "";
  if (code.length > rule.max_chars) return `at most ${rule.max_chars} characters`;
  for (const r of rule.refusals) if (new RegExp(r.regex).test(code)) return r.why;
  return new RegExp(rule.pattern).test(code) ? "" : rule.mismatch;
}

function consentReady() {
  const code = $("participant").value;
  const why = codeProblem(code);
  $("participant-why").textContent = why;
  $("participant").setAttribute("aria-invalid", why ? "true" : "false");
  const ok = code && !why && $("c-agree").checked && $("c-stop").checked;
  $("record-consent").disabled = !ok;
}

async function recordConsent() {
  const f = film();
  const who = $("facilitator").value.trim();
  const warned = (f ? f.content_warnings : []).map((w) => `${fmt(w.start)} ${w.tags.join("+")}`).join(", ");
  const consent = {
    given: $("c-agree").checked, method: "verbal", form_version: "viewpoint-console-1",
    pose_capture: $("c-pose").checked,
    note: `Viewer agreed to watch; told how to stop at any time: ${$("c-stop").checked ? "yes" : "no"}. ` +
      `Content warnings and audience guidance shown and acknowledged: ${warned || "none in the film"}.`,
  };
  if (who) consent.recorded_by = who;
  const args = { participant: $("participant").value, consent, ...programmeLabels() };
  if (who) args.facilitator = who;
  $("record-consent").disabled = true;
  try {
    await command("session.start", args);
    rememberProgrammeLabels();
    const next = afterConsentStep();
    showStep(next);
    $(next === "live" ? "t-play" : "before-open").focus();
  } catch (e) {
    $("consent-msg").textContent = `Could not record consent: ${e.message}`;
    consentReady();
  }
}

/* ---------- live view: timeline ---------- */

function pct(t) { const f = film(); const d = (f && f.duration) || 1; return `${Math.max(0, Math.min(1, t / d)) * 100}%`; }

// The subtitle languages the film has; the choice goes to the player (the protocol's subtitles command).
function renderSubtitles() {
  const f = film(), sel = $("t-subtitles");
  if (!f || sel.dataset.film === f.id) return;
  sel.dataset.film = f.id;
  const langs = f.subtitles || [];
  sel.innerHTML = '<option value="auto">Subtitles: auto</option>' +
    langs.map((l) => `<option value="${esc(l)}">Subtitles: ${esc(l)}</option>`).join("") +
    '<option value="off">Subtitles: off</option>';
  sel.disabled = !langs.length;
}

function renderTimeline() {
  const f = film();
  const ch = $("tl-chapters"), wr = $("tl-warnings"), mk = $("tl-marks"), sel = $("t-chapter");
  ch.innerHTML = ""; wr.innerHTML = ""; mk.innerHTML = ""; sel.innerHTML = '<option value="">Jump to chapter…</option>';
  if (!f) return;
  f.chapters.forEach((c) => {
    const d = document.createElement("div");
    d.className = "tl-ch"; d.style.left = pct(c.start); d.style.width = `calc(${pct(c.end)} - ${pct(c.start)})`;
    d.textContent = c.title; d.title = `${c.title} ${fmt(c.start)}`;
    ch.appendChild(d);
    const o = document.createElement("option"); o.value = c.id; o.textContent = `${fmt(c.start)} ${c.title}`;
    sel.appendChild(o);
  });
  for (const w of f.content_warnings) {
    const d = document.createElement("div");
    d.className = "tl-w"; d.style.left = pct(w.start); d.style.width = `calc(${pct(w.end)} - ${pct(w.start)})`;
    d.title = `${w.tags.join(", ")}: ${w.note}`; wr.appendChild(d);
  }
  for (const t of f.safe_points) {
    const d = document.createElement("div"); d.className = "tl-safe"; d.style.left = pct(t);
    d.title = `safe point ${fmt(t)}`; mk.appendChild(d);
  }
  for (const n of S.notes.values()) {
    if (n.deleted || n.media_t === null) continue;
    const d = document.createElement("div"); d.className = "tl-note"; d.style.left = pct(n.media_t);
    d.title = `${fmt(n.media_t)} ${n.text}`; mk.appendChild(d);
  }
}

function renderCountdown(t) {
  const f = film(); const el = $("nextwarn");
  if (!f) { setText(el, ""); return; }
  showWarningCountdown(el, f, t);
}

/* ---------- live view: picture with the viewer's view ---------- */

function updateFrame(t) {
  // what the viewer sees: the calm scene during a stop and outside a consented session, never the film
  const calm = S.state.welfare === "stop" ? "STOPPED: the viewer sees the calm scene"
    : !(S.state.session && S.state.session.active) ? "No session running: the headset shows the calm scene" : "";
  const pic = $("picture");
  if (pic.dataset.calm !== calm) { pic.classList.toggle("calm", !!calm); pic.dataset.calm = calm; }
  if (calm) { S.frameKey = null; return; }
  const f = film(); if (!f) return;
  const key = `${f.id}@${Math.round(t)}`;
  if (key === S.frameKey) return;
  S.frameKey = key;
  pic.classList.remove("no-frame");
  $("frame").src = `api/frame/${encodeURIComponent(f.id)}?t=${Math.round(t)}${location.search.replace("?", "&")}`;
}

function frameMissing() {
  $("picture").classList.add("no-frame");
}

/* The canvas's size comes from a ResizeObserver (no layout read on a tick); an empty trail is drawn once. */
function drawView() {
  const cv = $("view");
  const now = performance.now() / 1000;
  if (S.trail.length && now - S.trail[0].at >= TRAIL_S) S.trail = S.trail.filter((s) => now - s.at < TRAIL_S);
  const key = S.trail.length ? null : `${S.viewW}x${S.viewH}`;  // null: a trail fades, so it is redrawn
  if (key !== null && key === S.viewDrawn) return;
  S.viewDrawn = key;
  if (cv.width !== S.viewW || cv.height !== S.viewH) { cv.width = S.viewW; cv.height = S.viewH; }
  const g = cv.getContext("2d"); g.clearRect(0, 0, cv.width, cv.height);
  if (!S.trail.length) return;
  const f = film(); const span = f && f.projection === "equirect180" ? 180 : 360;
  const X = (h) => ((((h + 180) % 360) + 360) % 360 - 180) / span * cv.width + cv.width / 2;
  const Y = (p) => (0.5 - p / 180) * cv.height;
  g.lineWidth = 2;
  for (let i = 1; i < S.trail.length; i++) {
    const a = S.trail[i - 1], b = S.trail[i];
    if (Math.abs(a.h - b.h) > 180) continue;  // wrapped around the seam
    g.strokeStyle = `rgba(124,196,255,${0.15 + 0.75 * (1 - (now - b.at) / TRAIL_S)})`;
    g.beginPath(); g.moveTo(X(a.h), Y(a.p)); g.lineTo(X(b.h), Y(b.p)); g.stroke();
  }
  const last = S.trail[S.trail.length - 1];
  const fovH = last.fov_h || 90, fovV = last.fov_v || 90;
  const w = fovH / span * cv.width, h = fovV / 180 * cv.height;
  g.strokeStyle = isLive() ? "#ffffff" : "#888888"; g.lineWidth = 2.5; g.setLineDash(isLive() ? [] : [6, 4]);
  for (const dx of [-cv.width * 360 / span, 0, cv.width * 360 / span]) {
    g.strokeRect(X(last.h) - w / 2 + dx, Y(last.p) - h / 2, w, h);
  }
  g.setLineDash([]);
  g.fillStyle = "#ff4d4d"; g.beginPath(); g.arc(X(last.h), Y(last.p), 5, 0, Math.PI * 2); g.fill();
}

/* ---------- events ---------- */

/* Log lines are written on the next tick, many at once (a burst of events costs the page one layout, not one
   each); a welfare line is written at once, with those queued before it. */
const LOG_LINES = 200;
function logLine(text, cls, t) {
  S.logQueue.push({ text: `${(t || new Date()).toTimeString().slice(0, 8)} ${text}`, cls });
  if (S.logQueue.length > LOG_LINES) S.logQueue.splice(0, S.logQueue.length - LOG_LINES);
  if (cls === "welfare") flushLog();
}

function flushLog() {
  if (!S.logQueue.length) return;
  const frag = document.createDocumentFragment();
  for (let i = S.logQueue.length - 1; i >= 0; i--) {  // newest first
    const li = document.createElement("li");
    if (S.logQueue[i].cls) li.className = S.logQueue[i].cls;
    li.textContent = S.logQueue[i].text;
    frag.appendChild(li);
  }
  S.logQueue.length = 0;
  const log = $("log"); log.prepend(frag);
  while (log.children.length > LOG_LINES) log.lastChild.remove();
}

function showAlert(text, soft) {
  $("alert-text").textContent = text;
  $("alert").classList.remove("hidden"); $("alert").classList.toggle("soft", !!soft);
  S.alertOpen = true;
}

// What people read for an event: the event catalogue's label (player/protocol/events.py).
function eventLabel(type) {
  const spec = PROTOCOL && PROTOCOL.events[type];
  return spec ? spec.label : type;
}

function onEvent(ev, replay) {
  const type = ev.type || "";
  if (type !== "pose") questionnaireEvent(ev, replay);
  if (type === "pose") {
    if (!replay && typeof ev.data?.heading === "number") {
      S.trail.push({ h: ev.data.heading, p: ev.data.pitch, at: performance.now() / 1000,
                     fov_h: ev.data.fov_h, fov_v: ev.data.fov_v });
    }
    return;
  }
  const d = ev.data || {};
  const when = ev.utc ? new Date(ev.utc) : new Date();
  const mt = typeof ev.media_t === "number" ? ` @${fmt(ev.media_t)}` : "";
  if (type.startsWith("annotation.")) {
    const id = String(type === "annotation.added" ? ev.seq : d.ref);
    if (type === "annotation.added") {
      S.notes.set(id, { id, text: d.text || "", tags: d.tags || [], media_t: d.at ?? ev.media_t, deleted: false });
      if ((d.tags || []).includes("prompt")) S.promptsUsed.add(d.text);
    } else if (type === "annotation.edited" && S.notes.has(id)) {
      Object.assign(S.notes.get(id), { text: d.text ?? S.notes.get(id).text, tags: d.tags ?? S.notes.get(id).tags });
    } else if (type === "annotation.deleted" && S.notes.has(id)) {
      S.notes.get(id).deleted = true;
    }
    renderNotes(); renderPrompts(); if (S.step === "live") renderTimeline();
    logLine(`note ${type.split(".")[1]}${mt}: ${d.text || ""}`, "", when);
    return;
  }
  let cls = "", label = eventLabel(type);
  if (type === "transport.volume" || type === "transport.rate" || type === "transport.warning") {
    label = type === "transport.volume" && typeof d.volume === "number"
      ? `volume ${Math.round(d.volume * 100)}%${d.muted ? ", muted" : ""}`
      : `${type.slice(10)} ${JSON.stringify(d).slice(0, 50)}`;
    cls = "cmd";
  }
  const viewer = viewerSignal(type, d);
  if (type.startsWith("welfare.") && !viewer) {
    const lvl = d.level || type.split(".")[1];
    cls = lvl === "stop" ? "welfare" : "soft";
    label = `WELFARE ${lvl === "none" ? "resumed" : lvl}${d.by ? " by " + d.by : ""}${d.source ? " (" + d.source + ")" : ""}`;
  }
  if (viewer) {
    cls = viewer.calm ? "" : "welfare";
    label = `VIEWER: ${viewer.text}`;
    if (!replay && !viewer.calm) showAlert(`${viewer.text}${mt}`, false);
  }
  if (type === "transport.error" && !replay) showAlert(`Playback error: ${d.reason || "unknown"}`, true);
  if (type === "chapter.entered") {
    label = `chapter: ${d.title || d.chapter || d.id || ""}`;
    if (!replay) chapterEntered(d.chapter || d.id);
  }
  if (type === "transport.ended" && !replay) promptsDue(lastChapterId());
  if (type === "content_warning.upcoming") {
    label = `warning in ${Number(d.in_s || 0).toFixed(0)} s: ${(d.tags || []).join(", ")}`; cls = "soft";
  }
  if (type === "content_warning.exited") { label = "content warning over"; cls = "cmd"; }
  if (type === "content_warning.entered") { label = `CONTENT WARNING: ${(d.tags || []).join(", ")}`; cls = "soft"; }
  if (type === "command") {
    const a = d.args && Object.keys(d.args).length ? " " + JSON.stringify(d.args).slice(0, 60) : "";
    label = `› ${d.cmd}${a}${d.by ? " (" + d.by + ")" : ""}`; cls = "cmd";
  }
  if (type === "session.started") {
    label = d.participant ? `session started: participant ${d.participant}` : "standby";
    if (d.participant) { S.participant = d.participant; S.welfareCount = 0; }
  }
  if (["welfare.changed", "viewer.break_request", "viewer.focus_lost"].includes(type)) S.welfareCount += 1;
  if (type === "session.ended") {
    if (d.reason === "facilitated_session_started") return;
    S.lastEndReason = d.reason || null;
    label = `session ended (${String(d.reason || "").replace(/_/g, " ")})`;
  }
  if (type.startsWith("facilitator.")) { label = `console ${type.split(".")[1]}: ${d.name || ""}`; cls = "cmd"; }
  const inSession = ["before", "live", "after"].includes(S.step);
  if (type === "session.ended" && !replay && inSession && d.reason !== "facilitated_session_started") {
    showStep("ended");
  }
  logLine(`${label}${mt}`, cls, when);
}

/* Viewer-side signals: the break button, the headset taken off, focus lost to a system menu, back in use.
   The words are the event catalogue's; an alert is raised for the catalogue's alert events. */
function viewerSignal(type, d) {
  const src = String(d.by || d.source || "").toLowerCase();
  if (type === "viewer.focus_lost") return { text: eventLabel(type) + (d.reason ? ` (${d.reason})` : "") };
  if (type === "viewer.headset_off" || type === "viewer.break_request") return { text: eventLabel(type) };
  if (type === "viewer.focus_gained") return { text: eventLabel(type), calm: true };
  if (type === "viewer.recentre") return { text: `recentred (${d.source || "viewer"})`, calm: true };
  if (type === "welfare.changed" && (src === "viewer" || src === "headset")) {
    return { text: `welfare ${d.level} from the headset` };
  }
  if (type.startsWith("viewer.")) return { text: type.slice(7).replace(/_/g, " "), calm: true };
  return null;
}

function lastChapterId() { const f = film(); return f && f.chapters.length ? f.chapters[f.chapters.length - 1].id : null; }

function chapterEntered(id) {
  const f = film(); if (!f) return;
  const idx = f.chapters.findIndex((c) => c.id === id);
  if (idx > 0) promptsDue(f.chapters[idx - 1].id);
}

/* ---------- prompts ---------- */

let promptChapter = null;
function promptsDue(chapterId) {
  if (!chapterId) return;
  promptChapter = chapterId; renderPrompts();
  const panel = $("prompts-panel"); panel.classList.add("due");
  setTimeout(() => panel.classList.remove("due"), 8000);
}

function renderPrompts() {
  const f = film(); const box = $("prompts"); box.innerHTML = "";
  if (!f) return;
  const t = mediaNow();
  let ch = f.chapters.find((c) => c.id === promptChapter);
  if (!ch) ch = f.chapters.filter((c) => c.start <= t).pop() || f.chapters[0];
  if (!ch) { box.textContent = "No chapters in this film."; return; }
  const head = document.createElement("div");
  head.innerHTML = `<strong>${esc(ch.title)}</strong> <small>(${fmt(ch.start)}–${fmt(ch.end)})</small>`;
  box.appendChild(head);
  if (!ch.prompts.length) { box.appendChild(document.createTextNode("No prompts for this chapter.")); return; }
  for (const p of ch.prompts) {
    const row = document.createElement("div");
    row.className = "prompt" + (S.promptsUsed.has(p) ? " used" : "");
    const b = document.createElement("button"); b.className = "btn"; b.textContent = "Used";
    b.title = "Mark this prompt as used (logged as a note)";
    b.disabled = S.promptsUsed.has(p);
    b.addEventListener("click", () => annotate(p, ["prompt", ch.id], mediaNow()));
    const span = document.createElement("span"); span.textContent = p;
    row.append(b, span); box.appendChild(row);
  }
}

/* ---------- notes ---------- */

function renderQuickTags() {
  const box = $("quicktags"); box.innerHTML = "";
  S.config.quick_tags.slice(0, 9).forEach((tag, i) => {
    const b = document.createElement("button"); b.className = "btn"; b.type = "button";
    b.innerHTML = `${esc(tag)} <kbd>${i + 1}</kbd>`; b.title = `Pin "${tag}" at the current film time (key ${i + 1})`;
    b.addEventListener("click", () => quickTag(i));
    box.appendChild(b);
  });
}

function quickTag(i) {
  const tag = S.config.quick_tags[i]; if (!tag) return;
  const text = $("note-text").value.trim();
  const t = S.pinnedT ?? mediaNow();
  annotate(text || tag, [tag], t).then(() => { $("note-text").value = ""; unpin(); });
}

function pin() {
  S.pinnedT = mediaNow();
  $("note-at").textContent = `at ${fmt(S.pinnedT)}`; $("note-at").classList.add("pinned");
  $("note-text").focus();
}
function unpin() { S.pinnedT = null; $("note-at").classList.remove("pinned"); }

async function annotate(text, tags, t) {
  try {
    await command("annotate", { text, tags, media_t: Math.round(t * 1000) / 1000 });
  } catch (e) { logLine(`note not saved: ${e.message}`, "welfare"); throw e; }
}

function renderNotes() {
  const ul = $("notes"); ul.innerHTML = "";
  const items = [...S.notes.values()].filter((n) => !n.deleted).sort((a, b) => (b.media_t ?? 0) - (a.media_t ?? 0));
  for (const n of items) {
    const li = document.createElement("li"); li.dataset.id = n.id;
    li.innerHTML = `<span class="t">${fmt(n.media_t)}</span><span class="txt">${esc(n.text)}` +
      `${(n.tags.includes("prompt") ? ["prompt"] : n.tags).map((t) => ` <span class="tag">${esc(t)}</span>`).join("")}` +
      "</span>";
    const ed = document.createElement("button"); ed.textContent = "Edit"; ed.setAttribute("aria-label", `Edit note ${n.text}`);
    ed.addEventListener("click", () => editNote(n));
    const del = document.createElement("button"); del.textContent = "Delete"; del.setAttribute("aria-label", `Delete note ${n.text}`);
    del.addEventListener("click", () => command("annotation.delete", { ref: Number(n.id) }).catch((e) => logLine(e.message, "welfare")));
    li.append(ed, del); ul.appendChild(li);
  }
}

function editNote(n) {
  const dlg = $("edit-dialog"); $("edit-text").value = n.text;
  dlg.onclose = () => {
    if (dlg.returnValue === "ok" && $("edit-text").value.trim() && $("edit-text").value.trim() !== n.text) {
      command("annotation.edit", { ref: Number(n.id), text: $("edit-text").value.trim() })
        .catch((e) => logLine(e.message, "welfare"));
    }
  };
  dlg.show();  // not modal: STOP NOW (button, X, Esc) stays reachable while a note is being edited
}

/* ---------- controls ---------- */

function welfare(level) {
  command("welfare", { action: level }).catch((e) => {
    logLine(`welfare ${level} FAILED: ${e.message}`, "welfare");
    showAlert(`${level.toUpperCase()} did not reach the headset (${e.message}): ask the viewer to take it off`, false);
  });
}
function togglePlay() {
  command(S.state.transport === "playing" ? "pause" : "play").catch((e) => logLine(e.message, "welfare"));
}
function seekBy(dt) { command("seek", { t: Math.max(0, mediaNow() + dt) }).catch((e) => logLine(e.message, "welfare")); }

function typing(e) {
  const el = e.target;
  return el && (el.tagName === "INPUT" && el.type !== "checkbox" && el.type !== "range" || el.tagName === "TEXTAREA" ||
    el.tagName === "SELECT");
}

document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  // Stop now works from anywhere, even while typing a note or editing one in the dialog.
  if (S.readOnly) return;
  if (e.key === "Escape") { e.preventDefault(); welfare("stop"); if (typing(e)) e.target.blur(); return; }
  if (typing(e)) return;
  const k = e.key.toLowerCase();
  if (k === "x") { e.preventDefault(); welfare("stop"); return; }
  if (k === "s") { e.preventDefault(); welfare("soften"); return; }
  if (k === "r") { e.preventDefault(); welfare("resume"); return; }
  if (S.step !== "live") return;
  if (k === " " ) { e.preventDefault(); togglePlay(); }
  else if (k === "j") seekBy(-10);
  else if (k === "l") seekBy(10);
  else if (k === "g") command("next_safe_point").catch((er) => logLine(er.message, "welfare"));
  else if (k === "n") { e.preventDefault(); pin(); }
  else if (/^[1-9]$/.test(k)) quickTag(Number(k) - 1);
});

function bind() {
  $("frame").addEventListener("error", frameMissing);
  document.querySelectorAll("[data-welfare]").forEach((b) => {
    // Acted on the press (pointerdown), not the release: the stop leaves at once. A click that follows
    // the same press is not sent again; a click without a press (Enter or Space on the button) is.
    b.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || b.disabled) return;
      welfare(b.dataset.welfare);  // the message leaves first; the bookkeeping after
      b.dataset.pressedAt = String(performance.now());
    });
    b.addEventListener("click", () => {
      const pressed = Number(b.dataset.pressedAt || 0);
      b.dataset.pressedAt = "";
      if (!pressed || performance.now() - pressed > 2000) welfare(b.dataset.welfare);
    });
  });
  $("alert-ack").addEventListener("click", () => { $("alert").classList.add("hidden"); S.alertOpen = false; });
  $("to-warnings").addEventListener("click", () => { renderWarnings(); showStep("warnings"); $("ack-warnings").focus(); });
  $("ack-warnings").addEventListener("change", () => { $("to-preflight").disabled = !$("ack-warnings").checked; });
  $("back-setup").addEventListener("click", () => showStep("setup"));
  $("to-preflight").addEventListener("click", () => { showStep("preflight"); runPreflight(); });
  $("preflight-retry").addEventListener("click", runPreflight);
  $("back-warnings").addEventListener("click", () => { renderWarnings(); showStep("warnings"); });
  $("to-consent").addEventListener("click", async () => {
    await protocolLoaded;
    if (!$("participant").value) $("participant").value = await newCode();
    await loadFlow(S.filmId);
    fillProgrammeLabels();
    showStep("consent"); consentReady(); $("participant").focus();
  });
  $("new-code").addEventListener("click", async () => { $("participant").value = await newCode(); consentReady(); });
  for (const id of ["participant", "c-agree", "c-stop"]) $(id).addEventListener("input", consentReady);
  for (const id of ["c-agree", "c-stop"]) $(id).addEventListener("change", consentReady);
  $("back-preflight").addEventListener("click", () => showStep("preflight"));
  $("record-consent").addEventListener("click", recordConsent);
  $("t-play").addEventListener("click", togglePlay);
  $("t-back").addEventListener("click", () => seekBy(-10));
  $("t-fwd").addEventListener("click", () => seekBy(10));
  $("t-safe").addEventListener("click", () => command("next_safe_point").catch((e) => logLine(e.message, "welfare")));
  $("t-recentre").addEventListener("click", () => command("recentre").catch((e) => logLine(e.message, "welfare")));
  $("t-chapter").addEventListener("change", (e) => {
    if (e.target.value) command("chapter", { id: e.target.value }).catch((er) => logLine(er.message, "welfare"));
    e.target.value = "";
  });
  $("t-subtitles").addEventListener("change", (e) => command("subtitles", { language: e.target.value })
    .then(() => logLine(`subtitles: ${e.target.value}`, "cmd")).catch((er) => logLine(er.message, "welfare")));
  $("t-volume").addEventListener("change", (e) => command("volume", { volume: Number(e.target.value) / 100 })
    .catch((er) => logLine(er.message, "welfare")));
  $("timeline").addEventListener("click", (e) => {
    const f = film(); if (!f || !f.duration) return;
    const r = e.currentTarget.getBoundingClientRect();
    command("seek", { t: ((e.clientX - r.left) / r.width) * f.duration }).catch((er) => logLine(er.message, "welfare"));
  });
  $("note-text").addEventListener("focus", () => { if (S.pinnedT === null) pin(); });
  $("note-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("note-text").value.trim(); if (!text) return;
    annotate(text, [], S.pinnedT ?? mediaNow()).then(() => { $("note-text").value = ""; unpin(); $("note-text").blur(); });
  });
  $("auto-pause").addEventListener("change", (e) => send({ kind: "settings", auto_pause: e.target.checked }));
  $("end-session").addEventListener("click", async () => {
    if (endGoesToQuestions()) return;  // the questions after the film first (questionnaire.js)
    if (!confirm("End the session? The film stops on the headset.")) return;
    try { await command("session.end", { reason: "ended_by_facilitator" }); showStep("ended"); } catch (e) { logLine(`could not end: ${e.message}`, "welfare"); }
  });
  $("make-report").addEventListener("click", async () => {
    $("report-msg").className = "msg"; $("report-msg").textContent = "Writing the report…";
    try {
      const r = await command("report");
      const a = $("report-link"); a.href = r.url + location.search; a.classList.remove("hidden");
      $("report-msg").className = "msg ok"; $("report-msg").textContent = `Report written: ${r.path}`;
    } catch (e) { $("report-msg").textContent = `Report failed: ${e.message}`; }
  });
  $("take-over").addEventListener("click", () => send({ kind: "take_over" }));
  $("resume-session").addEventListener("click", resumeSession);
  $("purge").addEventListener("click", purgeSessions);
  $("new-session").addEventListener("click", () => {
    S.filmId = null; S.notes.clear(); S.promptsUsed.clear(); promptChapter = null; $("participant").value = "";
    for (const id of ["c-agree", "c-stop"]) $(id).checked = false;
    for (const id of ["before-reason", "after-reason"]) $(id).value = "";
    $("report-link").classList.add("hidden"); $("report-msg").textContent = "";
    renderSetup(); renderNotes(); showStep("setup");
  });
}

/* ---------- the frame loop ----------
   Ten updates a second, not one per animation frame: the clock shows tenths, and the page's main thread
   stays free, so a press on STOP NOW is handled at once instead of waiting behind a frame's work. Each update
   runs at the start of an animation frame, so its writes are laid out in that frame rather than left pending
   until the next one (a press arriving meanwhile would have to lay them out first, for its hit test). */
const TICK_MS = 100;
function tickSoon() {
  if (S.tickDue) return;
  S.tickDue = true;
  requestAnimationFrame(() => { S.tickDue = false; tick(); });
}

function tick() {
  const t = mediaNow();
  const age = linkAge();
  if (S.step === "live") drawView();
  setText($("clock"), `${fmt(t)}${film() && film().duration ? " / " + fmt(film().duration) : ""}`);
  if (S.step === "live") {
    const head = `translateX(${pct(t)})`;  // moved, not laid out (.tl-head spans the timeline)
    if (S.headAt !== head) { S.headAt = head; $("tl-head").style.transform = head; }
    renderCountdown(t);
    const f = film();
    const cur = f ? (f.chapters.filter((c) => c.start <= t).pop() || {}).id : null;
    if (cur !== S.lastChapter) { S.lastChapter = cur; if (promptChapter === null) renderPrompts(); }
    updateFrame(t);
    if (S.pinnedT === null) setText($("note-at"), `at ${fmt(t)}`);
  }
  flushLog();
  if (S.renderDue) { S.renderDue = false; renderStatus(); renderInterrupted(); }
  else if (!Number.isFinite(age) || age >= STALE_AFTER_S) renderStatus();
  else if (document.body.classList.contains("stale")) renderStatus();
}

bind();
new ResizeObserver(([e]) => {
  S.viewW = Math.round(e.contentRect.width); S.viewH = Math.round(e.contentRect.height);
}).observe($("view"));
showStep("setup");
connect();
setInterval(renderStatus, 500);
setInterval(tickSoon, TICK_MS);
