import { api, el, fillFacts, fillTable, moment, number, poll, progress, showError } from "./app.js";

const root = document.getElementById("workflow-root");
const workflowId = root.dataset.workflowId;
const region = document.getElementById("workflow-progress");
const error = document.getElementById("workflow-error");
const resumeForm = document.getElementById("resume-form");
const resumeFrom = document.getElementById("resume-from");
const resumeButton = document.getElementById("resume-workflow");
const resumeHelp = document.getElementById("resume-help");
const resumeResult = document.getElementById("resume-result");

function stateText(workflow) {
  if (workflow.interrupted) return `${workflow.state} (interrupted: resume it)`;
  if (workflow.live && !["pending", "running"].includes(workflow.state)) return `${workflow.state} (resuming)`;
  return workflow.state;
}

// A phase's bar: full once done, its pieces while it runs, empty before it starts.
function phaseState(phase) {
  if (phase.state === "done") {
    const total = phase.progress ? phase.progress.total : 1;
    return { done: total, max: total, text: "done" };
  }
  if (phase.progress) {
    const { done, total } = phase.progress;
    return { done, max: total, text: `${number(done)} of ${number(total)}` };
  }
  return { done: 0, max: phase.state === "running" ? 0 : 1, text: phase.state === "running" ? "started" : "not started" };
}

function summaryText(summary) {
  if (!summary) return "–";
  return Object.entries(summary)
    .filter(([key]) => !["warning", "misses"].includes(key))
    .map(([key, value]) => `${key.replaceAll("_", " ")} ${typeof value === "number" ? number(value) : String(value)}`)
    .join(", ");
}

function renderPhases(workflow) {
  fillTable(
    document.querySelector("#phases-table tbody"),
    workflow.phases.map((p) => [
      p.name,
      p.type.replaceAll("_", " "),
      el("span", { class: `status status-${p.state}`, "data-phase-state": p.state, "data-phase": p.name, text: p.state }),
      progress(phaseState(p), `Progress of phase ${p.name}`),
      summaryText(p.summary),
      p.error ? el("span", { class: "error", text: p.error }) : p.warnings.length ? p.warnings.join("; ") : "–",
    ]),
  );
}

function renderResult(result) {
  const verdict = document.getElementById("result-verdict");
  const facts = document.getElementById("result-facts");
  const misses = document.getElementById("result-misses");
  if (!result) {
    verdict.textContent = "No validation has finished yet.";
    facts.replaceChildren();
    misses.replaceChildren();
    return;
  }
  verdict.textContent = result.passed
    ? `Passed the promotion criteria on the holdout (${result.phase}).`
    : `Did not pass the promotion criteria on the holdout (${result.phase}).`;
  verdict.dataset.passed = String(result.passed);
  fillFacts(facts, [
    ["Sharpe", number(result.sharpe)],
    ["trades", number(result.trades)],
    ["regime switches", number(result.switch_count)],
  ]);
  misses.replaceChildren(...result.misses.map((miss) => el("li", { text: miss })));
}

function renderResume(workflow) {
  const chosen = resumeFrom.value;
  resumeFrom.replaceChildren(
    el("option", { value: "", text: "where it stopped" }),
    ...workflow.phases.map((p) => el("option", { value: p.name, text: p.name, selected: p.name === chosen })),
  );
  resumeButton.disabled = Boolean(workflow.live);
  resumeHelp.textContent = workflow.live
    ? "It is running (or queued) now; it can be resumed once it has stopped."
    : workflow.state === "done"
      ? "It is done: choose a phase to rerun it and every later one."
      : "Finished phases are kept; the interrupted phase picks up its checkpoints.";
}

function render(workflow) {
  fillFacts(document.getElementById("workflow-facts"), [
    ["name", workflow.name],
    ["symbol", workflow.symbol || "–"],
    ["state", el("span", { class: `status status-${workflow.interrupted ? "interrupted" : workflow.state}`, id: "workflow-state", "data-workflow-state": workflow.state, text: stateText(workflow) })],
    ["created", moment(workflow.created_at)],
    ["updated", moment(workflow.updated_at)],
    ["workspace", el("code", { text: workflow.workspace })],
  ]);
  renderPhases(workflow);
  renderResult(workflow.result);
  const edits = document.getElementById("workflow-edits");
  edits.replaceChildren(
    ...(workflow.edits.length
      ? workflow.edits.map((e) => el("li", {}, el("code", { text: e.path }), ` was edited before ${e.used_by} read it (used as edited)`))
      : [el("li", { text: "None." })]),
  );
  renderResume(workflow);
  region.setAttribute("aria-busy", "false");
}

resumeForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  resumeButton.disabled = true;
  resumeResult.textContent = "";
  const body = resumeFrom.value ? { from_phase: resumeFrom.value } : {};
  try {
    const answer = await api(`/workflows/${workflowId}/resume`, { method: "POST", body });
    resumeResult.textContent = `Workflow ${answer.id} is queued to resume${resumeFrom.value ? ` from ${resumeFrom.value}` : ""}.`;
    showError(error, null);
  } catch (problem) {
    showError(error, problem);
    resumeButton.disabled = false;
  }
});

poll(() => api(`/workflows/${workflowId}`), render, (problem) => showError(error, problem));
