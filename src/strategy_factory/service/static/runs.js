import { api, el, fillTable, moment, number, phaseProgress, poll, progress, showError } from "./app.js";

const region = document.getElementById("runs-region");
const body = document.querySelector("#runs-table tbody");
const filter = document.getElementById("status-filter");
const error = document.getElementById("runs-error");

function statusText(run) {
  return run.stop_reason ? `${run.status} (${run.stop_reason.replaceAll("_", " ")})` : run.status;
}

function render(runs) {
  fillTable(
    body,
    runs.map((run) => [
      el("a", { href: `/ui/runs/${run.id}`, text: run.id }),
      run.symbol,
      el("span", { class: `status status-${run.status}`, "data-run-status": run.status, text: statusText(run) }),
      progress(phaseProgress(run, "training"), `Training progress of run ${run.id}`),
      progress(phaseProgress(run, "simulation"), `Simulation progress of run ${run.id}`),
      number(run.best_sqn_100),
      run.promoted ? "yes" : "no",
      moment(run.created_at),
    ]),
    "No runs: start one on the Start evolution page.",
  );
  region.setAttribute("aria-busy", "false");
}

function load() {
  const status = filter.value;
  return api(`/runs?limit=100${status ? `&status=${encodeURIComponent(status)}` : ""}`);
}

filter.addEventListener("change", () => load().then(render, (problem) => showError(error, problem)));
poll(load, render, (problem) => showError(error, problem));
