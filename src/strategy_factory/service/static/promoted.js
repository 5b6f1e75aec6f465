import { api, el, fillTable, number, poll, regime, showError } from "./app.js";

const region = document.getElementById("promoted-region");
const error = document.getElementById("promoted-error");

function strategy(s) {
  return `${s.ticker} · threshold ${number(s.threshold)} · z limit ${number(s.z_limit)} · ${regime(s.regime_filter)} · ${s.mode}`;
}

function render(promoted) {
  fillTable(
    document.querySelector("#promoted-table tbody"),
    promoted.map((p) => [
      el("a", { href: `/ui/promoted/${p.id}`, text: p.id }),
      p.symbol,
      strategy(p.strategy),
      number(p.holdout_metrics.sqn_100),
      number(p.holdout_metrics.profit_factor),
      number(p.holdout_metrics.trades),
      number(p.dsr),
      number(p.configurations_tried),
      el("a", { href: `/ui/runs/${p.run_id}`, text: p.run_id }),
    ]),
    "Nothing has been promoted yet.",
  );
  region.setAttribute("aria-busy", "false");
}

poll(() => api("/promoted?limit=100"), render, (problem) => showError(error, problem), 5000);
