// Hypotheses and indicators: test hypotheses (POST /api/hypotheses) or queue them
// (hypotheses_queue.js), start an indicator search (POST /api/indicators/discover), and
// list both; every text goes in as text.
import { api, el, explain, fillTable, number, poll, showError } from "./app.js";
import { queue } from "./hypotheses_queue.js";

const hypothesisForm = document.getElementById("hypothesis-form");
const hypothesisBody = document.getElementById("hypothesis-body");
const hypothesisErrors = document.getElementById("hypothesis-errors");
const hypothesisResult = document.getElementById("hypothesis-result");
const discoverForm = document.getElementById("discover-form");
const discoverErrors = document.getElementById("discover-errors");
const discoverResult = document.getElementById("discover-result");

function percent(value) {
  return value === null || value === undefined ? "–" : `${(100 * value).toFixed(3)}%`;
}

function verdict(h) {
  if (h.state !== "tested") return el("span", { class: "status status-failed", text: "too few events" });
  const confirmed = h.confirmed_now;
  return el("span", {
    class: `status status-${confirmed ? "done" : "pending"}`,
    "data-confirmed": String(confirmed),
    text: confirmed ? "confirmed" : "not confirmed",
  });
}

function renderHypotheses(answer) {
  document.getElementById("family").textContent =
    `${number(answer.family_size)} ${answer.family_size === 1 ? "hypothesis" : "hypotheses"} in the family the correction covers.`;
  fillTable(
    document.querySelector("#hypotheses-table tbody"),
    answer.hypotheses.map((h) => [
      h.name, number(h.events), percent(h.effect), number(h.adjusted_p_now), verdict(h), h.principle,
    ]),
    "No hypothesis tested yet: test one above.",
  );
  document.getElementById("hypotheses-region").setAttribute("aria-busy", "false");
}

function renderIndicators(indicators) {
  fillTable(
    document.querySelector("#indicators-table tbody"),
    indicators.map((i) => [
      el("code", { text: i.formula }), i.symbol, number(i.train_ic), number(i.deflated),
      number(i.holdout_ic), number(i.holdout_p_sidak), i.passed ? "yes" : "no",
    ]),
    "No indicator discovered yet: search above.",
  );
  document.getElementById("indicators-region").setAttribute("aria-busy", "false");
}

const loadHypotheses = () => api("/api/hypotheses?limit=200");
const loadIndicators = () => api("/api/indicators?limit=200");
const refresh = () => {
  loadHypotheses().then(renderHypotheses, (p) => showError(document.getElementById("hypotheses-error"), p));
  loadIndicators().then(renderIndicators, (p) => showError(document.getElementById("indicators-error"), p));
};

// The form's hypotheses, or undefined when they are not JSON (said next to the form).
function readForm() {
  hypothesisResult.replaceChildren();
  showError(hypothesisErrors, null);
  try {
    return JSON.parse(hypothesisBody.value);
  } catch (problem) {
    showError(hypothesisErrors, new Error(`The hypotheses are not valid JSON: ${problem.message}`));
    return undefined;
  }
}

hypothesisForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const parsed = readForm();
  if (parsed === undefined) return;
  const button = document.getElementById("test-hypotheses");
  button.disabled = true;
  hypothesisResult.textContent = "Testing…";
  try {
    const answer = await api("/api/hypotheses", { method: "POST", body: parsed });
    hypothesisResult.replaceChildren(...answer.hypotheses.map((h) => el("p", { class: "principle", text: h.principle })));
    refresh();
  } catch (problem) {
    hypothesisResult.replaceChildren();
    explain(hypothesisErrors, problem, "The hypotheses were not tested");
  } finally {
    button.disabled = false;
  }
});

const queueButton = document.getElementById("queue-hypotheses");
queueButton.addEventListener("click", async () => {
  const parsed = readForm();
  if (parsed === undefined) return;
  queueButton.disabled = true;
  hypothesisResult.textContent = "Queueing…";
  hypothesisResult.textContent = await queue(parsed, document.getElementById("queued-by").value.trim(), hypothesisErrors);
  queueButton.disabled = false;
});

discoverForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  showError(discoverErrors, null);
  const body = {
    symbol: document.getElementById("discover-symbol").value.trim(),
    generations: Number(document.getElementById("discover-generations").value),
    seed: Number(document.getElementById("discover-seed").value),
  };
  const button = document.getElementById("discover");
  button.disabled = true;
  discoverResult.textContent = "Searching…";
  try {
    const answer = await api("/api/indicators/discover", { method: "POST", body });
    const passed = answer.indicators.filter((i) => i.passed).length;
    discoverResult.textContent =
      `${number(answer.trials)} formulas tried; ${passed} of ${answer.indicators.length} judged pass on unseen bars.`;
    refresh();
  } catch (problem) {
    discoverResult.replaceChildren();
    explain(discoverErrors, problem, "The search did not run");
  } finally {
    button.disabled = false;
  }
});

poll(loadHypotheses, renderHypotheses, (p) => showError(document.getElementById("hypotheses-error"), p), 5000);
poll(loadIndicators, renderIndicators, (p) => showError(document.getElementById("indicators-error"), p), 5000);
