/* Viewpoint participant view: the questionnaire for the phase in the address (?phase=pre|post|follow_up), one
   question at a time. Each answer goes to the console (/api/answer), which sends it to the headset as a session
   event. Nothing else is reachable: no links, Back stays here, and only a two-second press on the corner hands
   the tablet back to the facilitator's console. */
"use strict";

const HOLD_MS = 2000;
const params = new URLSearchParams(location.search);
const phase = params.get("phase") || "pre";
const state = { items: [], index: 0 };
const el = (id) => document.getElementById(id);

function button(label, onClick, cls) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (cls) b.className = cls;
  b.addEventListener("click", onClick);
  return b;
}

async function post(path, body) {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body), credentials: "same-origin" });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || `the console answered ${r.status}`);
  return data;
}

async function answer(value) {
  const q = state.items[state.index];
  el("note").textContent = "";
  for (const b of el("answers").querySelectorAll("button")) b.disabled = true;
  try {
    await post("api/answer", { instrument: q.instrument, item: q.item, phase, value });
    state.index += 1;
    show();
  } catch (err) {
    el("note").textContent = `Not saved: ${err.message}. Please try again.`;
    for (const b of el("answers").querySelectorAll("button")) b.disabled = false;
  }
}

function show() {
  const box = el("answers");
  box.className = "answers";
  box.replaceChildren();
  if (state.index >= state.items.length) {
    el("progress").textContent = "";
    el("question").textContent = state.items.length ? "Thank you. Please hand the tablet back."
      : "There are no questions now. Please hand the tablet back.";
    document.body.dataset.done = "1";
    return;
  }
  const q = state.items[state.index];
  el("progress").textContent = `Question ${state.index + 1} of ${state.items.length}`;
  el("question").textContent = q.text;
  if (q.kind === "likert" || q.kind === "choice" || q.kind === "ssq") {
    q.labels.forEach((label, i) => {
      const value = q.kind === "choice" ? label : q.kind === "ssq" ? i : i + 1;
      box.append(button(q.kind === "choice" ? label : `${value} · ${label}`, () => answer(value)));
    });
  } else if (q.kind === "yes_no") {
    box.append(button("Yes", () => answer("yes")), button("No", () => answer("no")));
  } else if (q.kind === "scale_0_10") {
    box.classList.add("scale");
    for (let v = 0; v <= 10; v++) box.append(button(String(v), () => answer(v)));
  } else {
    const t = document.createElement("textarea");
    t.maxLength = 2000;
    t.setAttribute("aria-label", q.text);
    box.append(t, button("Send", () => answer(t.value.trim()), "send"),
      button("Skip", () => { state.index += 1; show(); }, "skip"));
  }
  const first = box.querySelector("button, textarea");
  if (first) first.focus();
}

/* Back (and swipe-back) stays on this page. */
history.pushState(null, "", location.href);
window.addEventListener("popstate", () => history.pushState(null, "", location.href));
/* Keys only move between the answers: Tab wraps inside them. */
document.addEventListener("keydown", (e) => {
  if (e.key !== "Tab") return;
  const targets = [...el("answers").querySelectorAll("button:not([disabled]), textarea")];
  if (!targets.length) { e.preventDefault(); return; }
  const i = targets.indexOf(document.activeElement);
  const next = e.shiftKey ? (i <= 0 ? targets.length - 1 : i - 1) : (i + 1) % targets.length;
  e.preventDefault();
  targets[next].focus();
});
document.addEventListener("contextmenu", (e) => e.preventDefault());

/* Back to the facilitator: opened by the console's questionnaire step on this screen, the window closes (the
   console's tab is still there); on a tablet, the console's page. */
function handBack() {
  if (window.opener && !window.opener.closed) { window.close(); if (window.closed) return; }
  location.replace("./");
}

/* The hand-back corner: press and hold for two seconds. */
(function handback() {
  const corner = el("handback");
  let timer = null;
  const start = (e) => {
    e.preventDefault();
    corner.classList.add("holding");
    timer = setTimeout(handBack, HOLD_MS);
  };
  const stop = () => { corner.classList.remove("holding"); clearTimeout(timer); timer = null; };
  corner.addEventListener("pointerdown", start);
  for (const ev of ["pointerup", "pointerleave", "pointercancel"]) corner.addEventListener(ev, stop);
})();

fetch(`api/questionnaire?phase=${encodeURIComponent(phase)}`, { credentials: "same-origin" })
  .then((r) => r.json())
  .then((data) => { state.items = data.items || []; show(); })
  .catch(() => { el("question").textContent = "The questions could not be loaded. Please hand the tablet back."; });
