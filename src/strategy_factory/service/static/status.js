import { api, fillFacts, number, poll, showError } from "./app.js";

const overview = document.getElementById("overview");
const error = document.getElementById("status-error");

function counts(list, values) {
  fillFacts(list, Object.entries(values).map(([status, count]) => [status, number(count)]));
}

function render({ stats, health }) {
  counts(document.getElementById("stats-runs"), stats.runs);
  counts(document.getElementById("stats-jobs"), stats.jobs);
  document.getElementById("stats-promoted").textContent = number(stats.promoted);
  document.getElementById("stats-workers").textContent = number(stats.live_workers);
  fillFacts(document.getElementById("health"), [
    ["status", health.status],
    ["version", health.version],
    ["store", `${health.backend} · ${health.store}`],
    ["runs driven now", stats.active_runs.length ? stats.active_runs.join(", ") : "none"],
  ]);
  overview.setAttribute("aria-busy", "false");
}

poll(
  async () => ({ stats: await api("/api/stats"), health: await api("/health") }),
  render,
  (problem) => showError(error, problem),
);
