import { api, el, fillFacts, fillTable, moment, number, poll, showError } from "./app.js";

const region = document.getElementById("jobs-region");
const error = document.getElementById("jobs-error");

function render({ stats, pending, workers }) {
  fillFacts(
    document.getElementById("job-counts"),
    Object.entries(stats.jobs).map(([status, count]) => [status, number(count)]),
  );
  fillTable(
    document.querySelector("#pending-table tbody"),
    pending.map((job) => [
      String(job.id),
      job.kind,
      job.run_id ? el("a", { href: `/ui/runs/${job.run_id}`, text: job.run_id }) : "–",
      number(job.parent_sqn),
      `${job.attempts} of ${job.max_attempts}`,
      moment(job.created_at),
    ]),
    "No job is waiting.",
  );
  fillTable(
    document.querySelector("#workers-table tbody"),
    workers.map((worker) => [
      worker.id,
      worker.hostname,
      String(worker.pid),
      worker.current_job_id === null ? "idle" : String(worker.current_job_id),
      moment(worker.last_heartbeat),
    ]),
    "No worker has sent a heartbeat lately: start one with factory worker.",
  );
  region.setAttribute("aria-busy", "false");
}

poll(
  async () => ({
    stats: await api("/api/stats"),
    pending: await api("/jobs/pending?limit=100"),
    workers: await api("/workers"),
  }),
  render,
  (problem) => showError(error, problem),
);
