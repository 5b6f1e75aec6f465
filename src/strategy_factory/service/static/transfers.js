// Transfers: try a promotion's genome on other symbols (POST /api/transfer, the body the
// CLI's `factory transfer` validates with) and follow each transfer run (GET /api/transfer)
// to its outcome; every text goes in as text.
import { api, el, explain, fillTable, phaseProgress, poll, progress, showError } from "./app.js";

const form = document.getElementById("transfer-form");
const promotion = document.getElementById("transfer-promotion");
const symbols = document.getElementById("transfer-symbols");
const generations = document.getElementById("transfer-generations");
const errors = document.getElementById("transfer-errors");
const result = document.getElementById("transfer-result");
const listError = document.getElementById("transfers-error");

function link(href, text) {
  return el("a", { href, text });
}

function renderSymbols(stored) {
  symbols.replaceChildren(
    ...stored.map((meta) => {
      const id = `transfer-symbol-${meta.symbol}`;
      return el("div", { class: "checkbox" },
        el("input", { type: "checkbox", id, value: meta.symbol }),
        el("label", { for: id, text: meta.symbol }));
    }),
  );
}

function renderPromotions(promotions) {
  document.getElementById("promotion-choices").replaceChildren(
    ...promotions.filter((p) => p.status === "active").map((p) => el("option", { value: p.id, text: `${p.symbol}, run ${p.run_id}` })),
  );
}

function outcome(run) {
  if (!run.outcome) return "–";
  const { worked } = run.outcome;
  const word = worked === null ? "not judged" : worked ? "worked" : "failed";
  const state = worked === null ? "failed" : worked ? "done" : "pending";
  return el("span", {},
    el("span", { class: `status status-${state}`, "data-worked": String(worked), text: word }),
    " ", run.outcome.principle);
}

function renderTransfers(runs) {
  fillTable(
    document.querySelector("#transfers-table tbody"),
    runs.map((run) => [
      link(`/ui/runs/${encodeURIComponent(run.id)}`, run.id),
      link(`/ui/promoted/${encodeURIComponent(run.promotion)}`, run.promotion),
      `${run.promoted_on} → ${run.symbol}`,
      el("span", { class: `status status-${run.status}`, "data-run-status": run.status, text: run.status }),
      progress(phaseProgress(run, "training"), `Training progress of transfer run ${run.id}`),
      progress(phaseProgress(run, "simulation"), `Simulation progress of transfer run ${run.id}`),
      outcome(run),
    ]),
    "No transfer yet: start one above.",
  );
  document.getElementById("transfers-region").setAttribute("aria-busy", "false");
}

function body() {
  const request = {
    promotion_id: promotion.value.trim(),
    symbols: [...symbols.querySelectorAll("input:checked")].map((box) => box.value),
  };
  if (generations.value.trim() !== "") request.generations = Number(generations.value);
  return request;
}

function launched(row) {
  if (row.run_id === null) return el("li", { text: `${row.symbol}: not started: ${row.not_launched}` });
  return el("li", {}, `${row.symbol}: run `, link(`/ui/runs/${encodeURIComponent(row.run_id)}`, row.run_id), " started.");
}

const loadTransfers = () => api("/api/transfer?limit=100");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  result.replaceChildren();
  showError(errors, null);
  const button = document.getElementById("start-transfer");
  button.disabled = true;
  try {
    const rows = await api("/api/transfer", { method: "POST", body: body() });
    result.replaceChildren(el("ul", { class: "links" }, ...rows.map(launched)));
    loadTransfers().then(renderTransfers, (problem) => showError(listError, problem));
  } catch (problem) {
    explain(errors, problem, "The transfer was not started");
  } finally {
    button.disabled = false;
  }
});

promotion.value = new URLSearchParams(window.location.search).get("promotion") || "";
api("/api/features/symbols").then(renderSymbols, (problem) => showError(errors, problem));
api("/promoted?limit=200").then(renderPromotions, (problem) => showError(errors, problem));
poll(loadTransfers, renderTransfers, (problem) => showError(listError, problem), 3000);
