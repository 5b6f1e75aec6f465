import { api, el, explain, fillTable, moment, number, poll, progress, showError } from "./app.js";

const form = document.getElementById("workflow-form");
const config = document.getElementById("workflow-config");
const start = document.getElementById("start-workflow");
const errors = document.getElementById("workflow-errors");
const result = document.getElementById("workflow-result");
const region = document.getElementById("workflows-region");
const body = document.querySelector("#workflows-table tbody");
const filter = document.getElementById("state-filter");
const listError = document.getElementById("workflows-error");

// A workflow that says pending or running while nothing runs it was interrupted.
function stateText(workflow) {
  if (workflow.interrupted) return `${workflow.state} (interrupted: resume it)`;
  return workflow.state;
}

function stateBadge(workflow, id = null) {
  const shown = workflow.interrupted ? "interrupted" : workflow.state;
  return el("span", {
    id,
    class: `status status-${shown}`,
    "data-workflow-state": workflow.state,
    text: stateText(workflow),
  });
}

// The phase in progress (or the first not done) and how far it is: pieces while it
// counts them, moving while it runs without a count, empty before it starts.
function currentPhase(workflow) {
  const phase = workflow.phases.find((p) => p.state !== "done");
  if (!phase) return "all done";
  const counted = phase.progress;
  const state = counted
    ? { done: counted.done, max: counted.total, text: `${phase.name}: ${number(counted.done)} of ${number(counted.total)}` }
    : { done: 0, max: phase.state === "running" ? 0 : 1, text: `${phase.name}: ${phase.state}` };
  return progress(state, `Progress of ${phase.name} in workflow ${workflow.id}`);
}

function render(workflows) {
  fillTable(
    body,
    workflows.map((w) => [
      el("a", { href: `/ui/workflows/${w.id}`, text: w.id }),
      w.name,
      w.symbol || "–",
      stateBadge(w),
      `${w.phases.filter((p) => p.state === "done").length} of ${w.phases.length}`,
      currentPhase(w),
      moment(w.created_at),
    ]),
    "No workflows: start one above.",
  );
  region.setAttribute("aria-busy", "false");
}

function load() {
  const state = filter.value;
  return api(`/workflows?limit=100${state ? `&state=${encodeURIComponent(state)}` : ""}`);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  result.replaceChildren();
  showError(errors, null);
  let parsed;
  try {
    parsed = JSON.parse(config.value);
  } catch (problem) {
    showError(errors, new Error(`The workflow is not valid JSON: ${problem.message}`));
    return;
  }
  start.disabled = true;
  try {
    const accepted = await api("/workflows", { method: "POST", body: parsed });
    result.replaceChildren(
      el("p", {}, `Workflow ${accepted.id} (${accepted.name}) is ${accepted.state}. `,
        el("a", { href: `/ui/workflows/${accepted.id}`, text: "Follow this workflow" }), "."),
    );
    load().then(render, (problem) => showError(listError, problem));
  } catch (problem) {
    explain(errors, problem, "The workflow was not started");
  } finally {
    start.disabled = false;
  }
});

filter.addEventListener("change", () => load().then(render, (problem) => showError(listError, problem)));
poll(load, render, (problem) => showError(listError, problem));
