import {
  accent, api, chartLayout, drawProgress, el, fillFacts, fillTable, finished, moment, number,
  phaseProgress, poll, regime, shortId, showError,
} from "./app.js";
import { showRunPromotions } from "./run_insights.js";

const root = document.getElementById("run-root");
const runId = root.dataset.runId;
const region = document.getElementById("run-progress");
const error = document.getElementById("run-error");
const stop = document.getElementById("stop-run");
let latest = null;
let topFor = null;
let top = null;

// What became of a generation that was not judged, in words.
const NOT_JUDGED = {
  same_as_parent: "not simulated: same model as parent",
  not_simulated: "not run: the run stopped",
  pending: "not simulated yet",
};

function lastSimulated(generations) {
  const judged = generations.filter((g) => g.state === "judged").map((g) => g.generation);
  return judged.length ? Math.max(...judged) : null;
}

// A run still going has no verdict: what it judged so far may be overtaken.
function verdictOf(summary) {
  if (finished(summary.run)) return summary.verdict;
  return "In progress: no verdict until the run ends.";
}

function renderProgress(run, verdict, generations) {
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
  drawProgress(document.getElementById("training-progress"), document.getElementById("training-text"), phaseProgress(run, "training"));
  drawProgress(
    document.getElementById("simulation-progress"),
    document.getElementById("simulation-text"),
    phaseProgress(run, "simulation", lastSimulated(generations)),
  );
  document.getElementById("run-verdict").textContent = verdict;
  stop.hidden = !["pending", "running"].includes(run.status);
  region.setAttribute("aria-busy", "false");
}

function holdoutText(g) {
  if (g.state === "judged") return g.holdout.metrics.reason || "judged";
  return NOT_JUDGED[g.state] || g.note;
}

function renderGenerations(generations) {
  fillTable(
    document.querySelector("#generations-table tbody"),
    generations.map((g) => {
      const best = g.best_selection || {};
      return [
        String(g.generation),
        el("code", { title: g.model_id, text: shortId(g.model_id) }),
        String(g.features),
        g.pruned_features.length ? g.pruned_features.join(", ") : "–",
        number(g.simulations),
        number(best.sqn_100),
        number(best.profit_factor),
        number(best.trades),
        el("span", { title: g.note || null, text: holdoutText(g) }),
      ];
    }),
  );
}

function renderTop(results) {
  document.getElementById("top-min-trades").textContent = number(results.min_trades);
  fillTable(
    document.querySelector("#top-table tbody"),
    results.results.map((r) => [
      String(r.generation),
      r.ticker,
      number(r.threshold),
      number(r.z_limit),
      regime(r.regime_filter),
      r.mode,
      number(r.trades),
      number(r.sqn_100),
      number(r.sharpe),
      number(r.total_return),
      number(r.alike),
    ]),
    `No configuration with at least ${results.min_trades} trades yet.`,
  );
}

function renderCharts(generations, results) {
  if (!window.Plotly) return;
  const x = generations.map((g) => g.generation);
  const config = { displaylogo: false, responsive: true };
  const best = results ? results.per_generation : [];
  window.Plotly.react(
    "sqn-chart",
    [{ x: best.map((r) => r.generation), y: best.map((r) => r.sqn_100), type: "scatter", mode: "lines+markers", name: "best SQN-100", line: { color: accent() } }],
    chartLayout({ xaxis: { title: { text: "generation" }, dtick: 1 }, yaxis: { title: { text: "SQN-100" } } }),
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

function render({ summary, results }) {
  latest = { generations: summary.generations, results };
  renderProgress(summary.run, verdictOf(summary), summary.generations);
  renderGenerations(summary.generations);
  renderTop(results);
  renderCharts(summary.generations, results);
  renderPromotions(summary.promoted);
  showRunPromotions(summary.promoted);
}

// The best results change only when simulations were recorded: fetched again only then.
async function load() {
  const summary = await api(`/runs/${runId}`);
  const key = `${summary.run.status} ${summary.run.simulations_completed}`;
  if (key !== topFor) {
    top = await api(`/runs/${runId}/top`);
    topFor = key;
  }
  return { summary, results: top };
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

const redraw = () => latest && renderCharts(latest.generations, latest.results);
window.addEventListener("themechange", redraw);
window.addEventListener("load", redraw);
poll(load, render, (problem) => showError(error, problem));
