/* Viewpoint console: the programme's questionnaire steps in the session flow (docs/evaluation.md).
   "Before the film" comes after consent (the answers are events of the consented session) and before the
   live step: the film waits until every question is answered or the questions are skipped with a reason.
   "After the film" comes when the film ends, or when the facilitator ends the session early; after a
   welfare stop it is only offered. Progress is counted from the session's questionnaire.answered events;
   a skip is a note (annotation.added, tagged "questionnaire skipped" and the phase), so both survive a
   reload. The steps appear only when a programme.yaml with questions for this film is present.
   Loaded after common.js and before console.js; uses console.js's S, command, showStep, logLine at run time. */
"use strict";

const SKIP_TAG = "questionnaire skipped";
const PHASE_WORDS = { pre: "before the film", post: "after the film" };
const Q = {
  flow: null, flowFilm: undefined, loading: null,
  answered: { pre: new Set(), post: new Set() }, skipped: { pre: null, post: null },
  welfareStop: false, filmEnded: false,
};

/* The programme's questions for the film (api/session-flow), fetched once per film. */
function loadFlow(filmId) {
  if (Q.flowFilm === filmId && Q.loading) return Q.loading;
  Q.flowFilm = filmId;
  Q.loading = fetch(`api/session-flow?film=${encodeURIComponent(filmId || "")}`, { credentials: "same-origin" })
    .then((r) => r.json())
    .then((flow) => { if (Q.flowFilm === filmId) { Q.flow = flow; renderQuestionSteps(); } return flow; })
    .catch(() => { Q.flow = null; return null; });
  return Q.loading;
}

function phaseItems(phase) { return (Q.flow && Q.flow.phases && Q.flow.phases[phase]) || []; }
function hasQuestions(phase) { return phaseItems(phase).length > 0; }
function answeredCount(phase) { return phaseItems(phase).filter((k) => Q.answered[phase].has(k)).length; }
/* Done: every question answered, or skipped with a reason. */
function phaseDone(phase) {
  return !hasQuestions(phase) || answeredCount(phase) >= phaseItems(phase).length || !!Q.skipped[phase];
}

/* A new session (or another one followed): nothing answered yet. */
function questionnaireReset() {
  Q.answered = { pre: new Set(), post: new Set() };
  Q.skipped = { pre: null, post: null };
  Q.welfareStop = false; Q.filmEnded = false;
  renderQuestionSteps();
}

/* Every event of the session passes here first (replayed ones too, to rebuild the progress). */
function questionnaireEvent(ev, replay) {
  const type = ev.type || "", d = ev.data || {};
  if (type === "session.started" && d.participant) { questionnaireReset(); return; }
  if (type === "questionnaire.answered" && Q.answered[d.phase]) {
    Q.answered[d.phase].add(`${d.instrument}.${d.item}`);
  } else if (type === "annotation.added" && (d.tags || []).includes(SKIP_TAG)) {
    for (const phase of ["pre", "post"]) if ((d.tags || []).includes(phase)) Q.skipped[phase] = d.text || "skipped";
  } else if (type === "questionnaire.closed") {
    $("after-headset-off").hidden = true;
  } else if (type === "welfare.changed" && d.level === "stop") {
    Q.welfareStop = true;
  } else if (type === "transport.ended") {
    Q.filmEnded = true;
    if (!replay && S.step === "live" && hasQuestions("post") && !phaseDone("post")) {
      if (Q.welfareStop) logLine("The film ended. Questions after the film are offered, not asked: there was a welfare stop.", "soft");
      else showStep("after");
    }
  } else {
    return;
  }
  renderQuestionSteps();
}

/* The step after consent: the questions before the film when there are any, else the live view. */
function afterConsentStep() { return hasQuestions("pre") && !phaseDone("pre") ? "before" : "live"; }

/* "End session" on the live step: true when the questions after the film come first (the film pauses). */
function endGoesToQuestions() {
  if (!hasQuestions("post") || phaseDone("post") || Q.welfareStop) return false;
  if (!confirm("End the film? The questions after the film come next; the session ends after them.")) return true;
  if (S.state.transport === "playing") command("pause").catch((e) => logLine(e.message, "welfare"));
  showStep("after");
  return true;
}

function renderQuestionSteps() {
  const pre = hasQuestions("pre"), post = hasQuestions("post");
  document.querySelector('#steps li[data-step="before"]').hidden = !pre;
  document.querySelector('#steps li[data-step="after"]').hidden = !post;
  let n = 0;
  document.querySelectorAll("#steps li").forEach((li) => { if (!li.hidden) li.querySelector(".n").textContent = ++n; });
  $("to-after").hidden = !post;
  $("to-after").classList.toggle("due", post && Q.filmEnded && !phaseDone("post"));
  $("record-consent").textContent = pre ? "Record consent and continue" : "Record consent and start";
  for (const phase of ["pre", "post"]) renderPhase(phase);
}

function renderPhase(phase) {
  const p = phase === "pre" ? "before" : "after";
  const total = phaseItems(phase).length, k = answeredCount(phase);
  const skipped = Q.skipped[phase];
  $(`${p}-progress`).textContent = skipped ? `Skipped (${k} of ${total} answered): ${skipped}`
    : `Answered ${k} of ${total}` + (k >= total && total ? ": all done." : ".");
  $(`${p}-progress`).className = "progress" + (phaseDone(phase) ? " ok" : "");
  $(`${p}-open`).href = `participant?phase=${phase}`;
  $(`${p}-skip`).disabled = S.readOnly || !!skipped || k >= total || !$(`${p}-reason`).value.trim();
  if (phase === "pre") $("to-live").disabled = !phaseDone("pre");
  else {
    $("after-welfare").hidden = !Q.welfareStop;
    $("after-headset").disabled = S.readOnly;
    $("after-end").disabled = S.readOnly || !(phaseDone("post") || Q.welfareStop);
  }
}

/* Skip a phase's questions: the reason is logged as a note of the session. */
async function skipPhase(phase) {
  const p = phase === "pre" ? "before" : "after";
  const reason = $(`${p}-reason`).value.trim();
  if (!reason) return;
  $(`${p}-skip`).disabled = true;
  try {
    const text = `Questions ${PHASE_WORDS[phase]} skipped: ${reason}`;
    await command("annotate", { text, tags: [SKIP_TAG, phase] });
    Q.skipped[phase] = text; $(`${p}-msg`).textContent = "";
  } catch (e) { $(`${p}-msg`).textContent = `Not skipped: ${e.message}`; }
  renderQuestionSteps();
}

async function endAfterQuestions() {
  try {
    if (!phaseDone("post") && Q.welfareStop) {
      await command("annotate", { text: "Questions after the film not asked: welfare stop in this session",
        tags: [SKIP_TAG, "post"] });
    }
    await command("session.end", { reason: "ended_by_facilitator" });
    showStep("ended");
  } catch (e) { $("after-msg").textContent = `Could not end: ${e.message}`; }
}

/* The questions after the film on the headset's panel (pointed at with a controller, answered with its
   trigger; docs/evaluation.md): the participant view's items, free-text ones excepted (they stay on the
   tablet). The answers are the same questionnaire.answered events, so the progress counts them. */
async function askInHeadset() {
  $("after-msg").textContent = "";
  try {
    const r = await fetch("api/questionnaire?phase=post", { credentials: "same-origin" });
    const all = (await r.json()).items || [];
    const items = all.filter((q) => q.kind !== "text");
    if (!items.length) { $("after-msg").textContent = "No question here is answered with a controller: use the participant view."; return; }
    const res = await command("questionnaire.show", { phase: "post", items });
    const rest = all.length - items.length;
    $("after-msg").textContent = `In the headset: ${res.items} question(s)` +
      (rest ? `; ${rest} free-text question(s) stay on the tablet.` : ".");
    $("after-headset-off").hidden = false;
  } catch (e) { $("after-msg").textContent = `Not shown in the headset: ${e.message}`; }
}

async function headsetOff() {
  try { await command("questionnaire.cancel"); $("after-headset-off").hidden = true; }
  catch (e) { $("after-msg").textContent = `Still in the headset: ${e.message}`; }
}

/* Site and cohort: the console's setting (--site, --cohort) if it has one, else what this laptop last used. */
function fillProgrammeLabels() {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem("vp-programme") || "{}") || {}; } catch (e) { saved = {}; }
  for (const key of ["site", "cohort"]) {
    const el = $(`programme-${key}`);
    if (el.value) continue;
    el.value = (Q.flow && Q.flow[key]) || saved[key] || "";
  }
}
function programmeLabels() {
  const out = {};
  for (const key of ["site", "cohort"]) { const v = $(`programme-${key}`).value.trim(); if (v) out[key] = v; }
  return out;
}
function rememberProgrammeLabels() {
  try { localStorage.setItem("vp-programme", JSON.stringify(programmeLabels())); } catch (e) { /* private mode */ }
}

(function bindQuestionSteps() {
  for (const [phase, p] of [["pre", "before"], ["post", "after"]]) {
    // opened by script, so that its hand-back (a long press) can close it and leave this tab in front
    $(`${p}-open`).addEventListener("click", (e) => {
      if (window.open($(`${p}-open`).href, "vp-participant")) e.preventDefault();
    });
    $(`${p}-reason`).addEventListener("input", () => renderPhase(phase));
    $(`${p}-skip`).addEventListener("click", () => skipPhase(phase));
  }
  $("to-live").addEventListener("click", () => { if (phaseDone("pre")) { showStep("live"); $("t-play").focus(); } });
  $("to-after").addEventListener("click", () => {
    if (S.state.transport === "playing") command("pause").catch((e) => logLine(e.message, "welfare"));
    showStep("after");
  });
  $("after-back").addEventListener("click", () => showStep("live"));
  $("after-headset").addEventListener("click", askInHeadset);
  $("after-headset-off").addEventListener("click", headsetOff);
  $("after-end").addEventListener("click", endAfterQuestions);
  // the programme page for the labels this session was sent with (the page filters by them)
  $("ended-programme").addEventListener("click", () => {
    $("ended-programme").href = `programme?${new URLSearchParams(programmeLabels())}`;
  });
})();
