// Chart validation: validate a run's report in the server's headless Chromium (POST
// /api/report-validations, the body `factory report RUN --validate` checks its run id
// with), follow the validations (GET /api/report-validations) and show the chosen one's
// checks, anomalies and screenshots; every text goes in as text.
import { api, apiBlob, el, explain, fillTable, hasToken, moment, poll, showError } from "./app.js";

const form = document.getElementById("validate-form");
const runInput = document.getElementById("validate-run");
const errors = document.getElementById("validate-errors");
const result = document.getElementById("validate-result");
const listError = document.getElementById("validations-error");
let chosen = new URLSearchParams(window.location.search).get("validation");
let latest = [];

function state(validation) {
  const css = validation.state === "done" ? (validation.passed ? "done" : "failed") : validation.state;
  return el("span", { class: `status status-${css}`, "data-state": validation.state, text: validation.state });
}

function summary(validation) {
  if (validation.state === "failed") return validation.error;
  if (validation.state !== "done") return "–";
  return validation.verdict;
}

function show(id) {
  return el("button", { type: "button", "data-show": id, "aria-label": `Show validation ${id}`, text: id });
}

function renderList(validations) {
  latest = validations;
  if (chosen === null && validations.length) chosen = validations[0].id;
  fillTable(
    document.querySelector("#validations-table tbody"),
    validations.map((v) => [
      show(v.id),
      el("a", { href: `/ui/runs/${encodeURIComponent(v.run_id)}`, text: v.run_id }),
      state(v),
      moment(v.started_at),
      summary(v),
    ]),
    "No validation yet: validate a run above.",
  );
  document.getElementById("validations-region").setAttribute("aria-busy", "false");
  renderDetail();
}

function renderDetail() {
  const section = document.getElementById("validation-detail");
  const validation = latest.find((v) => v.id === chosen);
  section.hidden = !validation;
  if (!validation) return;
  document.getElementById("detail-id").textContent = validation.id;
  document.getElementById("detail-run").textContent = validation.run_id;
  const verdict = document.getElementById("detail-verdict");
  verdict.textContent = validation.state === "done" ? validation.verdict : `${validation.state}${validation.error ? `: ${validation.error}` : ""}`;
  verdict.dataset.passed = String(validation.passed);
  document.getElementById("detail-report").replaceChildren(validation.report_url ? reportLink(validation) : "");
  const pending = validation.state === "done" ? "None." : `Not yet: the validation is ${validation.state}.`;
  fillTable(
    document.querySelector("#checks-table tbody"),
    validation.checks.map((c) => [
      c.what,
      c.chart,
      el("span", { class: `status status-${c.passed ? "done" : "failed"}`, "data-passed": String(c.passed), text: c.passed ? "pass" : "FAIL" }),
      String(c.expected),
      String(c.drawn),
      c.detail,
    ]),
    pending,
  );
  fillTable(
    document.querySelector("#anomalies-table tbody"),
    validation.anomalies.map((a) => [a.period, a.kind, a.start, a.end, a.detail]),
    validation.state === "done" ? "None flagged: no flat stretch, jump or gap beyond the bounds." : pending,
  );
  document.getElementById("detail-screenshots").replaceChildren(
    ...validation.screenshots.map((s) =>
      el("figure", { class: "screenshot" }, screenshot(s, validation), el("figcaption", { text: s.name }))),
  );
}

// Fetched with the token (when one is set), drawn from a blob: URL.
function screenshot(shot, validation) {
  const image = el("img", { alt: `${shot.name} of run ${validation.run_id} as Chromium drew it`, "data-url": shot.url });
  image.addEventListener("load", () => URL.revokeObjectURL(image.src), { once: true });
  apiBlob(shot.url).then(
    (blob) => { image.src = URL.createObjectURL(blob); },
    (problem) => showError(listError, problem),
  );
  return image;
}

// Without a token the report opens in a tab of its own; with one (a link cannot send it) it
// is fetched with the token and saved as a file, which opens offline.
function reportLink(validation) {
  const link = el("a", { href: validation.report_url, target: "_blank", rel: "noopener", text: "Open the validated report" });
  link.addEventListener("click", async (event) => {
    if (!hasToken()) return;
    event.preventDefault();
    try {
      const href = URL.createObjectURL(await apiBlob(validation.report_url));
      el("a", { href, download: `run-${validation.run_id}-validated.html` }).click();
      window.setTimeout(() => URL.revokeObjectURL(href), 60_000);
    } catch (problem) {
      showError(listError, problem);
    }
  });
  return link;
}

const loadValidations = () => api("/api/report-validations?limit=50");
const refresh = () => loadValidations().then(renderList, (problem) => showError(listError, problem));

document.querySelector("#validations-table tbody").addEventListener("click", (event) => {
  const button = event.target.closest("[data-show]");
  if (!button) return;
  chosen = button.dataset.show;
  renderDetail();
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  result.textContent = "";
  showError(errors, null);
  const button = document.getElementById("start-validation");
  button.disabled = true;
  try {
    const started = await api("/api/report-validations", { method: "POST", body: { run_id: runInput.value.trim() } });
    chosen = started.id;
    result.textContent = `Validation ${started.id} of run ${started.run_id} started; it is shown below.`;
    refresh();
  } catch (problem) {
    explain(errors, problem, "The validation was not started");
  } finally {
    button.disabled = false;
  }
});

runInput.value = new URLSearchParams(window.location.search).get("run") || "";
api("/runs?limit=100").then(
  (runs) => document.getElementById("run-choices").replaceChildren(
    ...runs.map((run) => el("option", { value: run.id, text: `${run.symbol}, ${run.status}` }))),
  (problem) => showError(errors, problem),
);
poll(loadValidations, renderList, (problem) => showError(listError, problem), 3000);
