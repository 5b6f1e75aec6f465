import { api, el, explain, fillTable, number, showError } from "./app.js";

function percent(value, digits = 3) {
  return value === null || value === undefined ? "n/a" : `${(value * 100).toFixed(digits)}%`;
}

function list(node, items, empty) {
  node.replaceChildren(...(items.length ? items : [empty]).map((text) => el("li", { text })));
}

function renderDiagnosis(result) {
  const { subject, period } = result;
  document.getElementById("diagnose-summary").textContent =
    `${subject.kind} ${subject.id}, ${period.name} ${period.first.slice(0, 16)} → ${period.last.slice(0, 16)}: ` +
    `${result.trades} closed trades, ${result.tests} tests.`;
  list(document.getElementById("diagnose-verdict"), result.verdict, "No verdict.");
  list(document.getElementById("diagnose-notes"), result.notes, "None.");
  const tested = result.splits
    .filter((s) => s.p_value !== null)
    .sort((a, b) => Number(b.significant) - Number(a.significant) || a.adjusted_p - b.adjusted_p);
  fillTable(
    document.querySelector("#splits-table tbody"),
    tested.map((s) => [
      s.split, s.group, String(s.trades), percent(s.mean_return), percent(s.rest_mean_return),
      percent(s.win_rate, 0), number(s.adjusted_p), s.significant ? "yes" : "no",
    ]),
    "No group had enough trades to test.",
  );
  fillTable(
    document.querySelector("#features-table tbody"),
    result.features.map((f) => [
      f.feature, number(f.losers_median), number(f.winners_median), number(f.adjusted_p),
      f.significant ? "yes" : "no",
    ]),
    "Too few winners or losers to compare.",
  );
  document.getElementById("attribution-note").textContent = result.attribution_note;
  fillTable(
    document.querySelector("#attribution-table tbody"),
    (result.attribution || []).map((a) => [a.feature, number(a.winners), number(a.losers), number(a.mean_abs)]),
    "No exact attribution for this model.",
  );
}

function renderAudit(report) {
  document.getElementById("audit-summary").textContent = report.clean
    ? `${report.target}: clean, none of the ${report.checked.length} checks found a problem.`
    : `${report.target}: ${report.errors} error(s), ${report.warnings} warning(s).`;
  fillTable(
    document.querySelector("#audit-table tbody"),
    report.findings.map((f) => [f.severity, f.kind, f.subject, f.consequence, f.fix]),
    "No finding.",
  );
}

async function submit(event, { region, error, load, render, refused = showError }) {
  event.preventDefault();
  showError(error, null);
  region.setAttribute("aria-busy", "true");
  try {
    render(await load());
    region.hidden = false;
  } catch (problem) {
    region.hidden = true;
    refused(error, problem);
  } finally {
    region.setAttribute("aria-busy", "false");
  }
}

document.getElementById("diagnose-form").addEventListener("submit", (event) => {
  const id = document.getElementById("diagnose-id").value.trim();
  const period = document.getElementById("diagnose-period").value;
  submit(event, {
    region: document.getElementById("diagnose-region"),
    error: document.getElementById("diagnose-error"),
    load: () => api(`/api/diagnose/${encodeURIComponent(id)}?period=${period}`),
    render: renderDiagnosis,
  });
});

document.getElementById("audit-form").addEventListener("submit", (event) => {
  const runId = document.getElementById("audit-id").value.trim();
  submit(event, {
    region: document.getElementById("audit-region"),
    error: document.getElementById("audit-error"),
    load: () => api("/api/audit", { method: "POST", body: { run_id: runId } }),
    render: renderAudit,
  });
});

document.getElementById("audit-config-form").addEventListener("submit", (event) => {
  const text = document.getElementById("audit-config").value;
  submit(event, {
    region: document.getElementById("audit-region"),
    error: document.getElementById("audit-error"),
    load: () => {
      let config;
      try {
        config = JSON.parse(text);
      } catch (problem) {
        throw new Error(`The configuration is not valid JSON: ${problem.message}`);
      }
      return api("/api/audit", { method: "POST", body: { config } });
    },
    render: renderAudit,
    refused: (node, problem) => explain(node, problem, "The configuration was not audited"),
  });
});
