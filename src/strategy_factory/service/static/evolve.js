import { api, el, explain, number, showError } from "./app.js";

const form = document.getElementById("evolve-form");
const symbol = document.getElementById("symbol");
const references = document.getElementById("references");
const seedFeatures = document.getElementById("seed-features");
const result = document.getElementById("evolve-result");
const errors = document.getElementById("evolve-errors");
const start = document.getElementById("start");

function chosenReferences() {
  return [...references.querySelectorAll("input:checked")].map((box) => box.value);
}

function renderReferences(symbols) {
  const kept = new Set(chosenReferences());
  references.replaceChildren(
    ...symbols
      .filter((meta) => meta.symbol !== symbol.value)
      .map((meta) => {
        const id = `reference-${meta.symbol}`;
        const box = el("input", { type: "checkbox", id, value: meta.symbol, checked: kept.has(meta.symbol) });
        box.addEventListener("change", loadFeatures);
        return el("div", { class: "checkbox" }, box, el("label", { for: id, text: meta.symbol }));
      }),
  );
}

// Each change of symbol or references asks again; only the latest answer may fill the
// list (an earlier, slower answer for another symbol must not overwrite it).
let featureRequests = 0;

async function loadFeatures() {
  const request = ++featureRequests;
  const query = new URLSearchParams({ symbol: symbol.value });
  for (const reference of chosenReferences()) query.append("reference", reference);
  try {
    const columns = await api(`/api/features/columns?${query}`);
    if (request !== featureRequests) return;
    seedFeatures.replaceChildren(
      ...columns.features.map((feature) =>
        el("option", { value: feature.name, title: feature.description, text: feature.name }),
      ),
    );
    showError(errors, null);
  } catch (problem) {
    if (request === featureRequests) showError(errors, problem);
  }
}

async function loadSymbols() {
  const symbols = await api("/api/features/symbols");
  symbol.replaceChildren(
    ...symbols.map((meta) =>
      el("option", {
        value: meta.symbol,
        text: `${meta.symbol} (${meta.frequency}, ${number(meta.rows)} bars)`,
      }),
    ),
  );
  renderReferences(symbols);
  symbol.addEventListener("change", () => {
    renderReferences(symbols);
    loadFeatures();
  });
  await loadFeatures();
}

function numberOrNull(input) {
  return input.value.trim() === "" ? null : Number(input.value);
}

function criteria() {
  const ranges = {};
  for (const input of form.querySelectorAll("[data-criterion]")) {
    const name = input.dataset.criterion;
    ranges[name] = ranges[name] || {};
    const value = numberOrNull(input);
    if (value !== null) ranges[name][input.dataset.side] = value;
  }
  return Object.fromEntries(
    Object.entries(ranges).map(([name, range]) => [name, Object.keys(range).length ? range : null]),
  );
}

function body() {
  const request = {
    symbol: symbol.value,
    algorithm: form.algorithm.value,
    max_generations: Number(form.max_generations.value),
    target_transform: form.target_transform.value,
    reference_symbols: chosenReferences(),
    criteria: criteria(),
    early_stop: form.early_stop.checked,
  };
  const timeframe = form.timeframe.value.trim();
  if (timeframe) request.timeframe = timeframe;
  const seeds = [...seedFeatures.selectedOptions].map((option) => option.value);
  if (seeds.length) request.seed_features = seeds;
  const thresholds = form.thresholds.value.split(",").map((t) => t.trim()).filter(Boolean);
  if (thresholds.length) request.thresholds = thresholds.map(Number);
  const minDsr = numberOrNull(form.min_dsr);
  request.min_dsr = minDsr === null ? 0 : minDsr;
  return request;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  start.disabled = true;
  result.replaceChildren();
  showError(errors, null);
  try {
    const accepted = await api("/evolve", { method: "POST", body: body() });
    result.replaceChildren(
      el("p", {}, `Run ${accepted.run_id} on ${accepted.symbol} is ${accepted.status}. `,
        el("a", { href: `/ui/runs/${accepted.run_id}`, text: "Follow this run" }), " or see ",
        el("a", { href: "/ui/runs", text: "all runs" }), "."),
    );
  } catch (problem) {
    explain(errors, problem, "The run was not started");
  } finally {
    start.disabled = false;
  }
});

loadSymbols().catch((problem) => showError(errors, problem));
