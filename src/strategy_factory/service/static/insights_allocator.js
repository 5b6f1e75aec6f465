// The Allocator tab: the weights held (the newest snapshot with weights), what changed
// against the snapshot before it, the risk card, why the newest rebalance has no weights
// when it has none, and the virtual fund that follows the allocations.
import { accent, api, chartLayout, el, fillFacts, fillTable, moment, number } from "./app.js";
import { percent, points, promotionLink } from "./learning_text.js";

const CONFIG = { displaylogo: false, responsive: true };

export function loadAllocator() {
  return api("/api/learning/allocator");
}

export function rebalance() {
  return api("/api/learning/allocator/rebalance", { method: "POST" });
}

// The newest rebalance in words: held weights, or its state and the reason it has none.
function stateText({ latest, allocated }) {
  if (!latest) return "No allocation yet: a learning cycle, or Rebalance now, makes the first.";
  const held = Object.keys(latest.weights).length;
  if (latest.state === "allocated") {
    return `Snapshot ${latest.id} of ${moment(latest.created_at)}: ${held} ${held === 1 ? "strategy" : "strategies"} held.`;
  }
  const why = latest.reason ? `: ${latest.reason}` : "";
  const still = allocated
    ? ` The weights shown are still those of snapshot ${allocated.id} (${moment(allocated.created_at)}).`
    : " No snapshot has weights yet.";
  return `The newest rebalance (snapshot ${latest.id}, ${moment(latest.created_at)}) is ${latest.state}${why}.${still}`;
}

function diffRows(snapshot) {
  const diff = snapshot.diff || {};
  const rows = [];
  for (const [id, weight] of Object.entries(diff.added || {})) rows.push([id, "added", "–", percent(weight), points(weight)]);
  for (const [id, change] of Object.entries(diff.changed || {})) {
    rows.push([id, "changed", percent(change.from), percent(change.to), points(change.change)]);
  }
  for (const [id, weight] of Object.entries(diff.removed || {})) rows.push([id, "removed", percent(weight), "–", points(-weight)]);
  for (const id of diff.unchanged || []) {
    const weight = snapshot.weights[id];
    rows.push([id, "unchanged", percent(weight), percent(weight), "–"]);
  }
  return rows.map(([id, ...cells]) => [promotionLink(id), ...cells]);
}

function renderRisk(snapshot) {
  const risk = snapshot ? snapshot.risk || {} : {};
  const settings = snapshot ? snapshot.settings || {} : {};
  const cap = risk.max_volatility ?? settings.max_volatility;
  fillFacts(document.getElementById("risk-facts"), [
    ["expected volatility", `${percent(risk.volatility)} a year`],
    ["volatility cap", cap === null || cap === undefined ? "none" : percent(cap)],
    ["expected return", `${percent(risk.expected_return)} a year`],
    ["periods estimated on", number(risk.periods)],
  ]);
  const groups = (risk.clusters || []).filter((cluster) => cluster.length > 1);
  const together = settings.max_cluster_weight;
  document.getElementById("risk-clusters").replaceChildren(
    ...(groups.length
      ? groups.map((cluster) =>
          el("li", { text: `${cluster.join(" + ")}${together === undefined ? "" : ` (together at most ${percent(together)})`}` }),
        )
      : [el("li", { text: snapshot ? "None: no two strategies are correlated above the threshold." : "–" })]),
  );
  const excluded = Object.entries(risk.excluded || {});
  document.getElementById("risk-excluded").replaceChildren(
    ...(excluded.length
      ? excluded.map(([id, why]) => el("li", {}, promotionLink(id), `: ${why}`))
      : [el("li", { text: "None." })]),
  );
}

function renderFund(fund) {
  const series = fund && fund.series;
  const bars = series ? series.bars.length : fund ? fund.bars : 0;
  document.getElementById("fund-empty").hidden = Boolean(fund && bars);
  fillFacts(
    document.getElementById("fund-facts"),
    fund && bars
      ? [
          ["bars", number(fund.bars)],
          ["from", fund.start ? moment(fund.start) : "–"],
          ["to", fund.end ? moment(fund.end) : "–"],
          ["total return", percent(fund.total_return)],
          ["max drawdown", percent(fund.max_drawdown)],
          ["rebalances", number(fund.rebalances)],
          ["total turnover", percent(fund.total_turnover)],
        ]
      : [],
  );
  document.getElementById("fund-figure").hidden = !(series && series.bars.length);
}

export function renderAllocator(answer) {
  const shown = answer.allocated;
  const state = document.getElementById("allocator-state");
  state.textContent = stateText(answer);
  state.dataset.state = answer.latest ? answer.latest.state : "none";
  document.getElementById("allocation-caption").textContent = shown
    ? `snapshot ${shown.id}, ${moment(shown.created_at)}`
    : "no allocation yet";
  document.getElementById("diff-turnover").textContent = shown
    ? `Turnover ${percent(shown.diff.turnover)} of capital (one-way: ½·Σ|Δw|, cash included).`
    : "";
  fillTable(document.querySelector("#diff-table tbody"), shown ? diffRows(shown) : [], "No allocation yet.");
  renderRisk(shown || answer.latest);
  renderFund(answer.fund);
  drawAllocatorCharts(answer);
  document.getElementById("allocator-region").setAttribute("aria-busy", "false");
}

export function drawAllocatorCharts(answer) {
  const chart = document.getElementById("allocation-chart");
  if (!window.Plotly || chart.closest("[hidden]")) return; // drawn when its tab is shown
  const weights = Object.entries(answer.allocated ? answer.allocated.weights : {}).sort((a, b) => b[1] - a[1]);
  window.Plotly.react(
    chart,
    [
      {
        type: "bar",
        orientation: "h",
        y: weights.map(([id]) => id),
        x: weights.map(([, weight]) => weight),
        marker: { color: accent() },
        hovertemplate: "%{y}: %{x:.1%}<extra></extra>",
      },
    ],
    chartLayout({
      margin: { l: 140, r: 16, t: 16, b: 48 },
      xaxis: { title: { text: "weight" }, tickformat: ".0%", rangemode: "tozero" },
      yaxis: { autorange: "reversed", type: "category" },
    }),
    CONFIG,
  );
  const series = answer.fund && answer.fund.series;
  if (series && series.bars.length) {
    window.Plotly.react(
      "fund-chart",
      [{ type: "scatter", mode: "lines", x: series.bars, y: series.equity, line: { color: accent() }, name: "equity" }],
      chartLayout({ yaxis: { title: { text: "equity" } } }),
      CONFIG,
    );
  }
}
