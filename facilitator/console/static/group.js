/* Viewpoint console, group view: every headset of the group at a glance, the group's transport and safety. */
"use strict";

const STALE_AFTER_S = 3.0;     // no group state from the console for this long: the page is stale
const LOG_MAX = 200;

const G = {
  ws: null, wsOpen: false, nextId: 1, pending: new Map(), lastStateAt: 0,
  config: { group: "", films: [], players: [], read_only: false },
  state: null, stateAt: performance.now(), codes: new Map(), alertPlayer: null,
};

function num(v, digits = 1) { return typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : null; }

/* ---------- connection ---------- */

function connect() { openSocket(G, "/group/ws", { onMessage, onClose: renderStatus }); }

function command(cmd, args = {}, timeoutMs = 15000) {
  return sendCommand(G, `g-${G.nextId++}`, cmd, args, {
    timeoutMs, notConnected: "not connected to the console", noAnswer: "no answer from the group",
  });
}

function onMessage(msg) {
  switch (msg.kind) {
    case "hello":
      G.config = msg.config;
      $("g-name").textContent = G.config.group;
      document.title = `Viewpoint console · group ${G.config.group}`;
      applyReadOnly(); renderFilms();
      if (msg.state) applyState(msg.state);
      break;
    case "group": applyState(msg.state); break;
    case "gaze": if (G.state) { G.state.gaze = msg.gaze; renderGaze(); } break;
    case "notice": logLine(msg.text, msg.level || ""); break;
    case "alert":  // a viewer's signal from one headset: stays until dismissed
      logLine(msg.text, msg.level === "welfare" ? "welfare" : "soft");
      showAlert(msg.text, msg.player, msg.level === "welfare");
      break;
    case "reply": settleReply(G, msg); break;
    default: break;
  }
}

function applyReadOnly() {
  const ro = !!G.config.read_only;
  document.body.classList.toggle("readonly", ro);
  document.querySelectorAll("button, select, input, textarea").forEach((el) => {
    if (ro && el.id !== "g-report" && el.id !== "alert-ack") el.disabled = true;
  });
}

function applyState(st) {
  G.state = st; G.stateAt = performance.now(); G.lastStateAt = G.stateAt;
  renderStatus(); renderHeadsets(); renderTimeline();
  renderGaze(); renderNotes(); renderFound();
}

function isLive() { return G.wsOpen && (performance.now() - G.lastStateAt) / 1000 < STALE_AFTER_S; }

function film() {
  const id = G.state && G.state.film;
  return G.config.films.find((f) => f.id === id) || null;
}

function groupNow() {
  const st = G.state; if (!st) return null;
  const tl = st.timeline;
  let t = tl.media_t;
  if (tl.playing && isLive()) t += ((performance.now() - G.stateAt) / 1000) * (tl.rate || 1);
  const f = film();
  return f && f.duration ? Math.min(t, f.duration) : t;
}

/* ---------- rendering ---------- */

function renderStatus() {
  const st = G.state;
  const conn = $("conn");
  const players = st ? st.players : [];
  const absent = players.filter((p) => p.present === false).length;
  const lost = players.filter((p) => !p.connected && p.present !== false).length;
  if (!G.wsOpen) { conn.className = "pill bad"; conn.textContent = "Console offline"; }
  else if (!isLive()) { conn.className = "pill bad"; conn.textContent = "No group state"; }
  else if (!players.length) { conn.className = "pill warn"; conn.textContent = "No headsets yet"; }
  else if (lost) { conn.className = "pill bad"; conn.textContent = `${lost} of ${players.length} headsets LOST`; }
  else if (absent) { conn.className = "pill warn"; conn.textContent = `${players.length - absent} of ${players.length} headsets here, ${absent} ABSENT`; }
  else { conn.className = "pill ok"; conn.textContent = `${players.length} headsets live`; }
  document.body.classList.toggle("stale", !isLive());
  const gs = $("gstate");
  const playing = st && st.timeline.playing;
  const pending = st && st.timeline.next_at_in_s !== null && st.timeline.next_at_in_s !== undefined;
  gs.textContent = !st ? "–" : `${playing ? "playing" : "paused"}${pending ? " (scheduled)" : ""}`;
  gs.className = "pill " + (!st ? "muted" : playing ? "ok" : "warn");
  const sp = $("spread");
  const spread = st && st.sync ? st.sync.spread_ms : null;
  sp.textContent = spread === null || spread === undefined ? "spread –" : `spread ${spread.toFixed(1)} ms`;
  sp.className = "pill " + (spread === null || spread === undefined ? "muted" : spread < 5 ? "ok" : spread < 20 ? "warn" : "bad");
  const stopped = players.filter((p) => p.welfare === "stop").length;
  const sb = $("stopped");
  sb.className = stopped ? "pill welfare-stop" : "pill hidden";
  sb.textContent = stopped ? `${stopped} STOPPED` : "";
  const held = players.filter((p) => p.welfare === "stop" || p.welfare_hold === "stop");
  const banner = $("stop-banner");
  banner.classList.toggle("hidden", !held.length);
  const names = held.map((p) => p.name).join(", ");
  const text = !held.length ? "" : held.length === players.length ? `ALL HEADSETS STOPPED: ${names}`
    : `STOPPED: ${names} (${held.length === 1 ? "this headset only" : "these headsets only"}; the others ${playing ? "play on" : "are paused"})`;
  if (banner.textContent !== text) banner.textContent = text;
  $("g-resumeall").disabled = !!G.config.read_only || !(held.length || players.some((p) => p.welfare === "soften") || (st && st.resume_play));
  $("g-play").firstChild.textContent = playing ? "Pause " : "Play ";
  const f = film();
  const needAck = !!(f && f.content_warnings.length && st.acknowledged !== f.id);
  $("g-play").disabled = !!G.config.read_only || (!playing && needAck);
  $("g-play").title = needAck && !playing ? "Read the content warnings to the group and tick the box first" : "Play or pause the group (Space)";
  renderWarnings(f, st);
}

/* Playing along with the group's timeline (not held by welfare, not paused on its own). */
function isWithGroup(p) {
  const transport = p.state && p.state.transport;
  const playing = G.state && G.state.timeline.playing;
  return (p.welfare || "none") !== "stop" && (playing ? transport === "playing" : transport !== "playing");
}

function syncClass(v) {
  if (typeof v !== "number") return "";
  const a = Math.abs(v);
  return a < 2 ? "sync-ok" : a < 10 ? "sync-warn" : "sync-bad";
}

function rowFor(tbody, p) {
  let tr = tbody.querySelector(`tr[data-player="${CSS.escape(p.name)}"]`);
  if (tr) return tr;
  tr = document.createElement("tr");
  tr.dataset.player = p.name;
  tr.innerHTML = `<th scope="row" class="name"><span class="hn"></span><div class="who"></div></th>` +
    `<td class="st" data-label="State"></td><td class="wl" data-label="Welfare"></td>` +
    `<td class="num err" data-label="Sync error"></td><td class="num off" data-label="Clock"></td>` +
    `<td class="hl" data-label="Link"></td><td class="act"><div class="acts" role="group" aria-label="${esc(p.name)}: welfare and rejoin">` +
    `<button class="soft" data-act="soften" title="Dim and lower the volume on this headset only">Soften</button>` +
    `<button class="stop" data-act="stop" title="Fade this headset to the calm scene, mute and pause (only this one)">Stop</button>` +
    `<button class="resume" data-act="resume" title="Back to the film: this headset rejoins the group">Resume</button>` +
    `<button class="rejoin" data-act="rejoin" title="Bring this headset to where the group is">Rejoin</button>` +
    `<button class="rejoin" data-act="note" title="A note for this participant only">Note</button></div></td>`;
  tr.querySelectorAll("button[data-act]").forEach((b) => {
    b.setAttribute("aria-label", `${b.textContent} ${p.name}`);
    b.addEventListener("click", () => rowAction(p.name, b.dataset.act));
  });
  tbody.appendChild(tr);
  if (G.config.read_only) tr.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  return tr;
}

function renderHeadsets() {
  const tbody = $("headsets").querySelector("tbody");
  const players = G.state ? G.state.players : [];
  const names = new Set(players.map((p) => p.name));
  tbody.querySelectorAll("tr").forEach((tr) => { if (!names.has(tr.dataset.player)) tr.remove(); });
  let anyCodeMissing = false;
  for (const p of players) {
    const tr = rowFor(tbody, p);
    const info = G.config.players.find((x) => x.id === p.name);
    const hn = tr.querySelector(".hn");
    hn.textContent = info ? info.name : p.name; hn.title = p.endpoint || "";
    // participant: the running session's code, or a code to start one with
    const who = tr.querySelector(".who");
    const part = p.state && p.state.participant;
    if (part) {
      if (who.dataset.code !== part) { who.dataset.code = part; who.innerHTML = `<span class="num">${esc(part)}</span>`; }
    } else {
      if (!who.querySelector("input")) {
        delete who.dataset.code;
        if (!G.codes.has(p.name)) G.codes.set(p.name, newCode());
        who.innerHTML = `<input class="code" autocomplete="off" spellcheck="false" maxlength="24" aria-label="Participant code for ${esc(p.name)}">`;
        const inp = who.querySelector("input");
        inp.value = G.codes.get(p.name);
        // codes are shown in capitals: type them in lower case (Shift+X is STOP ALL everywhere)
        inp.addEventListener("input", () => {
          const up = inp.value.toUpperCase(); if (up !== inp.value) inp.value = up;
          G.codes.set(p.name, inp.value.trim()); startReady();
        });
      }
      if (!/^[A-Za-z0-9]{1,8}(?:-[A-Za-z0-9]{1,8}){0,4}$/.test(G.codes.get(p.name) || "")) anyCodeMissing = true;
    }
    const transport = (p.state && p.state.transport) || "–";
    const wl = p.welfare || "none";
    const withGroup = isWithGroup(p);
    // A headset playing with the group is where the group is (± its sync error); others show their own time.
    const mt = !withGroup && p.state && typeof p.state.media_t === "number" ? ` ${fmt(p.state.media_t)}` : "";
    tr.classList.toggle("absent", p.present === false);
    if (p.present === false) {
      tr.querySelector(".st").innerHTML = `<span class="pill sm absent">ABSENT</span> <small>${esc(p.absent_reason || "")}</small>`;
    } else tr.querySelector(".st").innerHTML =
      `<span class="pill sm ${{ playing: "ok", paused: "warn", error: "bad" }[transport] || "muted"}">${esc(transport)}</span>` +
      `<span class="num">${esc(mt)}</span>`;
    tr.querySelector(".wl").innerHTML = wl === "none" ? '<span class="pill sm muted">ok</span>'
      : `<span class="pill sm welfare-${esc(wl)}">${wl === "stop" ? "STOPPED" : "softened"}</span>`;
    tr.classList.toggle("stopped", wl === "stop");
    tr.classList.toggle("softened", wl === "soften");
    const s = p.sync || {};
    const err = num(s.error_ms, 2);
    const e = tr.querySelector(".err");
    e.className = `num err ${syncClass(s.error_ms)}`;
    e.title = typeof s.abs_p99_ms === "number" ? `|error| p50 ${s.abs_p50_ms} ms, p99 ${s.abs_p99_ms} ms; ` +
      `resyncs ${s.resyncs ?? 0}` : "";
    if (!withGroup && G.state.timeline.playing) { e.className = "num err sync-warn"; e.innerHTML = "held"; }
    else if (err === null) e.innerHTML = s.following ? "–" : "<small>not following</small>";
    else e.innerHTML = `${s.error_ms > 0 ? "+" : ""}${err} ms`;
    const c = p.clock;
    tr.querySelector(".off").innerHTML = c ? `${c.offset_ms >= 0 ? "+" : ""}${c.offset_ms.toFixed(1)} ` +
      `<small>± ${c.uncertainty_ms.toFixed(2)} ms</small><br><small>rtt</small> ${c.rtt_ms.toFixed(1)} ms` : "–";
    const h = p.health || {};
    const loss = typeof h.loss_pct === "number" ? `<br><small>${h.loss_pct.toFixed(1)} % lost</small>` : "";
    tr.querySelector(".hl").innerHTML = p.present === false ? '<span class="pill sm absent">absent</span>' : p.connected
      ? `<span class="pill sm ${h.loss_pct > 2 ? "warn" : "ok"}">live</span>${loss}`
      : `<span class="pill sm bad">LOST${typeof h.last_heard_s === "number" ? " " + h.last_heard_s.toFixed(0) + " s" : ""}</span>`;
    tr.classList.toggle("lost", !p.connected && p.present !== false);
    if (!G.config.read_only) {
      tr.querySelector('[data-act="resume"]').disabled = wl === "none";
    }
  }
  G.anyCodeMissing = anyCodeMissing;
  startReady();
}

function renderFilms() {
  const sel = $("g-film"); sel.innerHTML = "";
  for (const f of G.config.films) {
    const o = document.createElement("option"); o.value = f.id; o.textContent = `${f.title || f.id} (${fmt(f.duration)})`;
    sel.appendChild(o);
  }
  if (!G.config.films.length) sel.innerHTML = '<option value="">No library</option>';
}

let timelineFilm = null;
function renderTimeline() {
  const f = film();
  const sel = $("g-chapter");
  if (timelineFilm !== (f && f.id)) {
    timelineFilm = f && f.id;
    if (f) $("g-film").value = f.id;
    const ch = $("tl-chapters"); ch.innerHTML = "";
    sel.innerHTML = '<option value="">Jump to chapter…</option>';
    if (f) {
      for (const c of f.chapters) {
        const d = document.createElement("div");
        d.className = "tl-ch"; d.style.left = pct(c.start); d.style.width = `calc(${pct(c.end)} - ${pct(c.start)})`;
        d.textContent = c.title; ch.appendChild(d);
        const o = document.createElement("option"); o.value = c.id; o.textContent = `${fmt(c.start)} ${c.title}`;
        sel.appendChild(o);
      }
    }
  }
  const heads = $("tl-heads"); heads.innerHTML = "";
  // Headsets away from the group's position (held by a stop, paused on their own): where they are.
  for (const p of (G.state ? G.state.players : [])) {
    if (isWithGroup(p) || !p.state || typeof p.state.media_t !== "number") continue;
    const d = document.createElement("div");
    d.className = `tl-hs ${p.welfare === "none" ? "" : p.welfare}`; d.style.left = pct(p.state.media_t);
    d.title = `${p.name} ${fmt(p.state.media_t)}`; heads.appendChild(d);
  }
}

let warningsFor = null;
function renderWarnings(f, st) {
  const ack = $("g-warn-ack");
  ack.disabled = !!G.config.read_only || !f;
  ack.checked = !!(f && st && st.acknowledged === f.id);
  if (warningsFor === (f && f.id)) return;
  warningsFor = f && f.id;
  const g = f && f.audience ? f.audience : {};
  const bits = [];
  if (g.min_age) bits.push(`Suitable from age ${g.min_age}.`);
  if (g.guidance) bits.push(g.guidance);
  $("g-guidance").textContent = !f ? "Load a film for the group first." : bits.join(" ") || "No audience guidance in the film's manifest.";
  const ul = $("g-warn-list"); ul.innerHTML = "";
  for (const w of (f ? f.content_warnings : [])) {
    const li = document.createElement("li");
    li.innerHTML = `<span class="num">${fmt(w.start)}–${fmt(w.end)}</span> ${w.tags.map((t) => `<b>${esc(t)}</b>`).join(", ")} ${esc(w.note || "")}`;
    ul.appendChild(li);
  }
  if (f && !f.content_warnings.length) ul.innerHTML = "<li>This film has no timed content warnings.</li>";
}

function renderCountdown(t) {
  const f = film(); const el = $("g-nextwarn");
  if (!f || t === null) { el.textContent = ""; return; }
  showWarningCountdown(el, f, t);
}

/* ---------- gaze thumbnails, notes, headsets on the network ---------- */

function gazeCard(grid, name) {
  let fig = grid.querySelector(`figure[data-player="${CSS.escape(name)}"]`);
  if (fig) return fig;
  fig = document.createElement("figure");
  fig.className = "gz"; fig.dataset.player = name;
  fig.innerHTML = `<div class="gz-pic"><img alt="" hidden><span class="gz-dot" hidden></span><span class="gz-msg"></span></div>` +
    `<figcaption><b class="gz-name"></b> <span class="num gz-code"></span></figcaption>`;
  fig.querySelector("img").addEventListener("error", (e) => { e.target.hidden = true; });
  grid.appendChild(fig);
  return fig;
}

function renderGaze() {
  const grid = $("g-gaze");
  const players = G.state ? G.state.players : [];
  const gaze = (G.state && G.state.gaze) || {};
  const names = new Set(players.map((p) => p.name));
  grid.querySelectorAll("figure").forEach((f) => { if (!names.has(f.dataset.player)) f.remove(); });
  for (const p of players) {
    const fig = gazeCard(grid, p.name);
    const g = gaze[p.name] || { shared: false, why: "not shared" };
    fig.querySelector(".gz-name").textContent = p.name;
    fig.querySelector(".gz-code").textContent = (p.state && p.state.participant) || "";
    const stopped = p.welfare === "stop";
    fig.classList.toggle("stopped", stopped);
    const img = fig.querySelector("img"), dot = fig.querySelector(".gz-dot"), msg = fig.querySelector(".gz-msg");
    const f = film();
    // what the viewer sees: the calm scene during a stop, the film otherwise (its frame near the viewer's time)
    const msgText = stopped ? "STOPPED: calm scene" : !g.shared ? g.why : g.u === null ? "looking outside the picture" : "";
    if (msg.textContent !== msgText) msg.textContent = msgText;
    fig.dataset.shared = g.shared ? "yes" : "no";
    const showPic = g.shared && !stopped && f;
    if (showPic) {
      const t = typeof g.media_t === "number" ? g.media_t : (p.state && p.state.media_t) || 0;
      const src = `api/frame/${encodeURIComponent(f.id)}?t=${Math.round(t / 2) * 2}${location.search.replace("?", "&")}`;
      if (img.dataset.src !== src) { img.dataset.src = src; img.src = src; img.hidden = false; }
    } else { img.hidden = true; delete img.dataset.src; }
    const showDot = showPic && typeof g.u === "number" && typeof g.v === "number";
    dot.hidden = !showDot;
    if (showDot) {
      dot.style.left = `${(g.u * 100).toFixed(2)}%`; dot.style.top = `${(g.v * 100).toFixed(2)}%`;
      dot.classList.toggle("stale", !!g.stale);
      dot.title = `${p.name}: heading ${g.heading}°, pitch ${g.pitch}°${g.stale ? ` (${g.age_s} s ago)` : ""}`;
    }
  }
}

function renderNotes() {
  const sel = $("g-note-for");
  const players = G.state ? G.state.players : [];
  const want = ["", ...players.map((p) => p.name)];
  const have = Array.from(sel.options, (o) => o.value);
  if (want.join("\n") !== have.join("\n")) {
    const keep = sel.value;
    sel.innerHTML = '<option value="">The whole group (every participant\'s log)</option>';
    for (const p of players) {
      const o = document.createElement("option"); o.value = p.name; o.textContent = `${p.name} only`; sel.appendChild(o);
    }
    sel.value = want.includes(keep) ? keep : "";
  }
  const notes = (G.state && G.state.notes) || [];
  const key = notes.map((n) => `${n.id}|${n.utc}|${n.text}`).join("\n");
  const ol = $("g-notes");
  if (ol.dataset.key === key) return;
  ol.dataset.key = key; ol.innerHTML = "";
  for (const n of notes) {
    const li = document.createElement("li");
    const who = n.player ? `${n.player}${n.participant ? " (" + n.participant + ")" : ""}` : `group ${n.id}`;
    const missed = Object.keys(n.missed || {});
    li.dataset.note = n.id || ""; li.dataset.player = n.player || "";
    li.innerHTML = `<small>${esc(fmt(n.media_t))} · ${esc(who)}</small> ${esc(n.text)}` +
      (missed.length ? ` <small>(not on ${esc(missed.join(", "))})</small>` : "");
    ol.appendChild(li);
  }
}

function addNote() {
  const text = $("g-note").value.trim();
  if (!text) return;
  const player = $("g-note-for").value;
  command("note", player ? { player, text } : { text }).then((r) => {
    $("g-note").value = "";
    const missed = Object.keys(r.missed || {});
    if (missed.length) logLine(`note not written on ${missed.join(", ")}: ${Object.values(r.missed).join("; ")}`, "soft");
  }).catch(fail("note"));
}

function renderFound() {
  const found = G.state && G.state.found;
  const box = $("g-found");
  box.classList.toggle("hidden", !found || (!found.browsing && !found.error));
  if (!found) return;
  $("g-found-msg").textContent = found.error ? `${found.error}: type an address instead.`
    : !found.players.length ? "Looking for headsets that announce themselves (mDNS)…" : "";
  const ul = $("g-found-list");
  const key = JSON.stringify(found.players);
  if (ul.dataset.key === key) return;
  ul.dataset.key = key; ul.innerHTML = "";
  for (const a of found.players) {
    const li = document.createElement("li");
    li.dataset.found = a.name;
    li.innerHTML = `<b>${esc(a.name)}</b> <small>${esc(a.endpoint)}</small> `;
    if (a.in_group) li.insertAdjacentHTML("beforeend", "<small>in the group</small>");
    else if (!a.paired_as) li.insertAdjacentHTML("beforeend", `<small>${esc(a.why || "not paired")}</small>`);
    else {
      const b = document.createElement("button");
      b.className = "btn"; b.textContent = "Add"; b.setAttribute("aria-label", `Add ${a.name} to the group`);
      b.disabled = !!G.config.read_only;
      b.addEventListener("click", () => {
        b.disabled = true;
        command("add", { target: a.paired_as }).then((r) => logLine(`${r.player} added: it joins when it answers`))
          .catch((e) => { b.disabled = false; fail(`add ${a.name}`)(e); });
      });
      li.appendChild(b);
    }
    ul.appendChild(li);
  }
}

function stopAll() {
  logLine("STOP ALL sent", "welfare");
  command("stop_all").catch((e) => {
    fail("STOP ALL")(e);
    showAlert(`STOP ALL did not reach every headset (${e.message}): ask the viewers to take the headsets off`, null, true);
  });
}
function resumeAll() { command("resume_all").catch(fail("RESUME ALL")); }
function safePoint() { command("safe_point").catch(fail("safe point")); }

function pct(t) { const f = film(); const d = (f && f.duration) || 1; return `${Math.max(0, Math.min(1, t / d)) * 100}%`; }

function logLine(text, cls = "") {
  const li = document.createElement("li");
  li.className = cls;
  li.textContent = `${new Date().toTimeString().slice(0, 8)}  ${text}`;
  const ol = $("log"); ol.prepend(li);
  while (ol.children.length > LOG_MAX) ol.lastChild.remove();
}

function showAlert(text, player, urgent = false) {
  G.alertPlayer = player;
  $("alert-text").textContent = text;
  $("alert").classList.toggle("soft", !urgent);
  $("alert").classList.remove("hidden");
}

/* ---------- actions ---------- */

function fail(what) { return (e) => { logLine(`${what} FAILED: ${e.message}`, "welfare"); $("g-msg").textContent = `${what}: ${e.message}`; }; }

function rowAction(name, act) {
  if (act === "note") { $("g-note-for").value = name; $("g-note").focus(); return; }
  if (act === "rejoin") { command("rejoin", { player: name }).catch(fail(`rejoin ${name}`)); return; }
  command("welfare", { player: name, action: act }).then(() => {
    if (act === "stop" && G.state && G.state.timeline.playing) {
      showAlert(`${name} STOPPED (this headset only). The others are still playing.`, name);
    }
    if (act === "resume" && G.alertPlayer === name) $("alert").classList.add("hidden");
  }).catch((e) => {
    fail(`welfare ${act} on ${name}`)(e);
    if (act === "stop") showAlert(`STOP did not reach ${name} (${e.message}): ask the viewer to take the headset off`, name, true);
  });
}

function togglePlay() {
  const playing = G.state && G.state.timeline.playing;
  if (!playing && $("g-play").disabled) { logLine("Play: read the content warnings to the group first", "soft"); return; }
  command(playing ? "pause" : "play").catch(fail(playing ? "pause" : "play"));
}
function pauseGroup() { command("pause").then(() => $("alert").classList.add("hidden")).catch(fail("pause group")); }
function seekTo(t) { command("seek", { t: Math.max(0, t) }).catch(fail("seek")); }
function seekBy(dt) { const t = groupNow(); if (t !== null) seekTo(t + dt); }

function parseTime(text) {
  const m = String(text).trim().match(/^(?:(\d+):)?(\d+(?:\.\d+)?)$/);
  return m ? Number(m[1] || 0) * 60 + Number(m[2]) : null;
}

/* A fresh code like KQM-482, as player.protocol.participant.new_participant_code makes them (the player decides). */
function newCode() {
  const a = "ABCDEFGHJKMNPQRSTVWXYZ";
  const r = crypto.getRandomValues(new Uint16Array(4));
  return Array.from(r.slice(0, 3), (b) => a[b % a.length]).join("") + "-" + String(100 + (r[3] % 900));
}

function startReady() {
  const anyIdle = G.state && G.state.players.some((p) => !(p.state && p.state.participant));
  $("g-start").disabled = !!G.config.read_only || !anyIdle || G.anyCodeMissing || !$("g-agree").checked || !$("g-knows").checked;
}

async function startSessions() {
  const participants = {};
  for (const p of G.state.players) if (!(p.state && p.state.participant)) participants[p.name] = G.codes.get(p.name);
  const who = $("g-facilitator").value.trim();
  const consent = {
    given: $("g-agree").checked, method: "verbal", form_version: "viewpoint-console-group-1",
    pose_capture: $("g-pose").checked,
    note: `Group ${G.config.group}: viewer agreed after the content warnings; told how to stop at any time: ` +
      `${$("g-knows").checked ? "yes" : "no"}.`,
  };
  if (who) consent.recorded_by = who;
  $("g-start").disabled = true; $("g-msg").className = "msg"; $("g-msg").textContent = "Starting sessions…";
  try {
    await command("start_sessions", { participants, consent, facilitator: who || undefined });
    $("g-msg").className = "msg ok"; $("g-msg").textContent = `Sessions started on ${Object.keys(participants).length} headsets.`;
    for (const k of Object.keys(participants)) G.codes.delete(k);
  } catch (e) { fail("start sessions")(e); startReady(); }
}

function bind() {
  $("g-play").addEventListener("click", togglePlay);
  $("g-pause").addEventListener("click", pauseGroup);
  $("alert-pause").addEventListener("click", pauseGroup);
  $("alert-ack").addEventListener("click", () => $("alert").classList.add("hidden"));
  $("g-stopall").addEventListener("click", stopAll);
  $("g-resumeall").addEventListener("click", resumeAll);
  $("g-safe").addEventListener("click", safePoint);
  $("g-warn-ack").addEventListener("change", (e) => {
    const f = film(); if (!f) return;
    if (!e.target.checked) { e.target.checked = G.state && G.state.acknowledged === f.id; return; }
    command("ack_warnings", { film: f.id }).then(() => logLine(`content warnings of ${f.id} read to the group`))
      .catch((er) => { e.target.checked = false; fail("warnings")(er); });
  });
  const add = () => {
    const target = $("g-add").value.trim(); if (!target) return;
    command("add", { target }).then((r) => { $("g-add").value = ""; logLine(`${r.player} added: it joins when it answers`); })
      .catch(fail(`add ${target}`));
  };
  $("g-add-go").addEventListener("click", add);
  $("g-note-go").addEventListener("click", addNote);
  $("g-note").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); addNote(); } });
  $("g-add").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); add(); } });
  $("g-back").addEventListener("click", () => seekBy(-10));
  $("g-fwd").addEventListener("click", () => seekBy(10));
  $("g-load").addEventListener("click", () => {
    const id = $("g-film").value; if (!id) return;
    $("g-msg").className = "msg"; $("g-msg").textContent = `Loading ${id} on every headset…`;
    command("load", { film: id }, 30000).then((r) => {
      const failed = Object.entries(r.failed || {});
      $("g-msg").className = failed.length ? "msg" : "msg ok";
      $("g-msg").textContent = failed.length
        ? `Loaded ${id}, but the pre-flight failed on ${failed.map(([k, v]) => `${k} (${v.join("; ")})`).join(", ")}.`
        : (r.absent || []).length ? `Loaded ${id}: pre-flight passed on every headset here (absent: ${r.absent.join(", ")}; it loads when it answers).`
        : `Loaded ${id}: pre-flight passed on every headset.`;
    }).catch(fail("load"));
  });
  $("g-chapter").addEventListener("change", (e) => {
    if (e.target.value) command("chapter", { id: e.target.value }).catch(fail("chapter"));
    e.target.value = "";
  });
  const go = () => { const t = parseTime($("g-seek").value); if (t === null) { $("g-msg").textContent = "Seek: m:ss or seconds"; return; } seekTo(t); };
  $("g-seek-go").addEventListener("click", go);
  $("g-seek").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); go(); } });
  $("timeline").addEventListener("click", (e) => {
    const f = film(); if (!f || !f.duration) return;
    const r = e.currentTarget.getBoundingClientRect();
    seekTo(((e.clientX - r.left) / r.width) * f.duration);
  });
  for (const id of ["g-agree", "g-knows"]) $(id).addEventListener("change", startReady);
  $("g-start").addEventListener("click", startSessions);
  // no confirm(): a browser dialog would block every key, STOP ALL included; press twice instead
  let endArmed = 0;
  $("g-end").addEventListener("click", () => {
    const b = $("g-end");
    if (performance.now() - endArmed > 5000) {
      endArmed = performance.now(); b.textContent = "Press again to end every session";
      setTimeout(() => { if (performance.now() - endArmed >= 5000) b.textContent = "End sessions"; }, 5100);
      return;
    }
    endArmed = 0; b.textContent = "End sessions";
    command("end_sessions", { reason: "ended_by_facilitator" }).catch(fail("end sessions"));
  });
  $("g-report").addEventListener("click", async () => {
    $("g-msg").className = "msg"; $("g-msg").textContent = "Writing the group report…";
    try {
      const r = await command("report", {}, 60000);
      const a = $("g-report-link"); a.href = r.url + location.search; a.classList.remove("hidden");
      $("g-msg").className = "msg ok"; $("g-msg").textContent = `Group report written: ${r.path}`;
    } catch (e) { fail("report")(e); }
  });
  $("to-single").href = "/" + location.search;
}

function typing(e) {
  const el = e.target;
  return el && (el.tagName === "INPUT" && el.type !== "checkbox" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
}

/* STOP ALL (Esc, Shift+X) works from every state of the page, a focused text field included: it is taken
   in the capture phase, before any field or widget sees the key. The one exception is the free-text note,
   where Shift+X types a capital X (a note is prose); Esc stops from there too. The other keys wait until
   no field has focus. */
function prose(e) { return e.target && e.target.tagName === "TEXTAREA"; }

document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || G.config.read_only) return;
  const k = e.key.toLowerCase();
  if (e.key === "Escape" || (k === "x" && e.shiftKey && !prose(e))) {
    e.preventDefault(); e.stopPropagation();
    if (typing(e)) e.target.blur();
    stopAll(); return;
  }
  if (typing(e)) return;
  if (k === "r" && e.shiftKey) { e.preventDefault(); resumeAll(); }
  else if (k === "p") { e.preventDefault(); pauseGroup(); }
  else if (k === "g") { e.preventDefault(); safePoint(); }
  else if (k === " ") { e.preventDefault(); togglePlay(); }
  else if (k === "j") seekBy(-10);
  else if (k === "l") seekBy(10);
}, true);

function tick() {
  const t = groupNow();
  const f = film();
  $("clock").textContent = `${fmt(t)}${f && f.duration ? " / " + fmt(f.duration) : ""}`;
  if (t !== null) $("tl-head").style.transform = `translateX(${pct(t)})`;  // console.css: .tl-head
  renderCountdown(t);
  requestAnimationFrame(tick);
}

bind();
connect();
setInterval(renderStatus, 500);
requestAnimationFrame(tick);
