// The hypothesis queue: the form's hypotheses queued for the next learning cycle
// (POST /api/hypotheses/queue, the body `factory hypothesis test --queue` validates with),
// and each queued one's state: waiting (GET /api/hypotheses/queue), or what a recent
// learning cycle's queued_hypotheses step did with it (GET /api/learning/cycles).
import { api, el, explain, fillTable, moment, poll, showError } from "./app.js";

const CYCLES_READ = 10;
const errorNode = document.getElementById("queue-error");

function state(kind, text) {
  const look = { waiting: "pending", tested: "done", refused: "failed" }[kind];
  return el("span", { class: `status status-${look}`, "data-queue-state": kind, text });
}

// What the recent cycles did with the queue, newest queued first.
function settled(cycles) {
  const rows = [];
  for (const cycle of cycles) {
    const step = cycle.steps.find((s) => s.name === "queued_hypotheses");
    if (!step || !step.summary) continue;
    for (const done of step.summary.tested) {
      rows.push({ ...done, state: state("tested", `tested by learning cycle ${cycle.id} as #${done.hypothesis} (in the table below)`) });
    }
    for (const refused of step.summary.refused) {
      rows.push({ ...refused, state: state("refused", `not tested by learning cycle ${cycle.id}: ${refused.reason}`) });
    }
  }
  return rows.sort((a, b) => b.queued - a.queued);
}

function render([waiting, cycles]) {
  const rows = [
    ...waiting.map((q) => ({ ...q, state: state("waiting", `waiting for the next learning cycle (queued ${moment(q.queued_at)})`) })),
    ...settled(cycles),
  ];
  fillTable(
    document.querySelector("#queue-table tbody"),
    rows.map((row) => [String(row.queued), row.name, row.queued_by || "–", row.state]),
    "Nothing queued: queue hypotheses with the form above.",
  );
  document.getElementById("queue-region").setAttribute("aria-busy", "false");
}

const load = () => Promise.all([api("/api/hypotheses/queue"), api(`/api/learning/cycles?limit=${CYCLES_READ}`)]);
const refresh = () => load().then(render, (problem) => showError(errorNode, problem));

// Queue ``hypotheses`` (the parsed form) as ``by``; what to say in the form's result, or
// the refusal shown in ``errors``.
export async function queue(hypotheses, by, errors) {
  try {
    const queued = await api("/api/hypotheses/queue", { method: "POST", body: { ...hypotheses, by } });
    refresh();
    const names = queued.map((q) => q.name).join(", ");
    return `Queued for the next learning cycle: ${names}.`;
  } catch (problem) {
    explain(errors, problem, "The hypotheses were not queued");
    return "";
  }
}

poll(load, render, (problem) => showError(errorNode, problem), 5000);
