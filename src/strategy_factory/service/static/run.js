import {
  accent, api, chartLayout, el, fillFacts, fillTable, moment, number, poll, regime, setProgress,
  shortId, showError,
} from "./app.js";

const root = document.getElementById("run-root");
const runId = root.dataset.runId;
const region = document.getElementById("run-progress");
const error = document.getElementById("run-error");
const stop = document.getElementById("stop-run");
let latest = null;

function renderProgress(run, verdict) {
  fillFacts(document.getElementById("run-facts"), [
    ["symbol", run.symbol],
    ["algorithm", run.algorithm],
    ["status", el("span", { class: `status status-${run.status}`, id: "run-status", text: run.status })],
    ["generation", `${run.current_generation + 1} of ${run.max_generations}`],
    ["step", run.step_status || "–"],
    ["best SQN-100", number(run.best_sqn_100)],
    ["configurations tried", number(run.configurations_tried)],
    ["started", moment(run.started_at)],
    ["finished", moment(run.finished_at)],
  ]);
  setProgress(document.getElementById("training-progress"), document.getElementById("training-text"), run.models_trained, run.models_total);
  setProgress(document.getElementById("simulation-progress"), document.getElementById("simulation-text"), run.simulations_completed, run.simulations_total);
  document.getElementById("run-verdict").textContent = verdict;
  stop.hidden = !["pending", "running"].includes(run.status);
  region.setAttribute("aria-busy", "false");
}

function renderGenerations(generations) {
  fillTable(
    document.querySelector("#generations-table tbody"),
    generations.map((g) => {
      const best = g.best_selection || {};
      const holdout = g.holdout ? g.holdout.metrics.reason || "judged" : g.note || "not yet";
      return [
        String(g.generation),
        el("code", { title: g.model_id, text: shortId(g.model_id) }),
        String(g.features),
        g.pruned_features.length ? g.pruned_features.join(", ") : "–",
        number(g.simulations),
        number(best.sqn),
        number(best.profit_factor),
        number(best.trades),
        holdout,
      ];
    }),
  );
  const best = generations
    .filter((g) => g.best_selection && g.best_selection.sqn !== null)
    .sort((a, b) => b.best_selection.sqn - a.best_selection.sqn);
  fillTable(
    document.querySelector("#top-table tbody"),
    best.map((g) => {
      const s = g.best_selection;
      return [String(g.generation), s.ticker, number(s.threshold), number(s.z_limit), regime(s.regime_filter), s.mode, number(s.sqn), number(s.sharpe), number(s.total_return)];
    }),
  );
}

function renderCharts(generations) {
  if (!window.Plotly) return;
  const x = generations.map((g) => g.generation);
  const config = { displaylogo: false, responsive: true };
  window.Plotly.react(
    "sqn-chart",
    [{ x, y: generations.map((g) => (g.best_selection ? g.best_selection.sqn : null)), type: "scatter", mode: "lines+markers", name: "best SQN", line: { color: accent() } }],
    chartLayout({ xaxis: { title: { text: "generation" }, dtick: 1 }, yaxis: { title: { text: "SQN" } } }),
    config,
  );
  window.Plotly.react(
    "features-chart",
    [{ x, y: generations.map((g) => g.features), type: "bar", name: "features", marker: { color: accent() } }],
    chartLayout({ xaxis: { title: { text: "generation" }, dtick: 1 }, yaxis: { title: { text: "features" } } }),
    config,
  );
}

function renderPromotions(promoted) {
  document.getElementById("run-promotions").replaceChildren(
    ...promoted.map((p) =>
      el("li", {}, el("a", { href: `/ui/promoted/${p.id}`, text: `Promoted strategy ${p.id}` }), ` (model ${shortId(p.model_id)})`),
    ),
  );
}

function render(summary) {
  latest = summary;
  renderProgress(summary.run, summary.verdict);
  renderGenerations(summary.generations);
  renderCharts(summary.generations);
  renderPromotions(summary.promoted);
}

stop.addEventListener("click", async () => {
  const result = document.getElementById("stop-result");
  try {
    const answer = await api(`/runs/${runId}/stop`, { method: "POST" });
    result.textContent = answer.stopping ? "The run is stopping." : `The run has already ${answer.status}.`;
  } catch (problem) {
    showError(error, problem);
  }
});

window.addEventListener("themechange", () => latest && renderCharts(latest.generations));
window.addEventListener("load", () => latest && renderCharts(latest.generations));
poll(() => api(`/runs/${runId}`), render, (problem) => showError(error, problem));
