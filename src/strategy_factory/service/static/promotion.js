import { accent, api, chartLayout, el, fillFacts, fillTable, moment, number, regime, shortId, showError } from "./app.js";

const root = document.getElementById("promotion-root");
const promotedId = root.dataset.promotedId;
const error = document.getElementById("promotion-error");
let latest = null;

function renderStrategy(p) {
  const s = p.strategy;
  fillFacts(document.getElementById("strategy-facts"), [
    ["symbol", p.symbol],
    ["ticker", s.ticker],
    ["threshold", number(s.threshold)],
    ["z-score limit", number(s.z_limit)],
    ["regime filter", regime(s.regime_filter)],
    ["mode", s.mode],
    ["fill", s.fill || "–"],
    ["costs", `fee ${number(s.fee_bps)} bps, slippage ${number(s.slippage_bps)} bps`],
    ["configurations tried", number(p.configurations_tried)],
    ["Deflated Sharpe Ratio", number(p.dsr)],
    ["PBO", number(p.pbo)],
    ["holdout from", moment(p.simulation.periods.holdout_start)],
    ["run", el("a", { href: `/ui/runs/${p.run_id}`, text: p.run_id })],
    ["promoted", moment(p.created_at)],
  ]);
}

function range(r) {
  if (!r) return "–";
  if (r.min !== undefined && r.max !== undefined) return `${number(r.min)}–${number(r.max)}`;
  return r.min !== undefined ? `≥ ${number(r.min)}` : `≤ ${number(r.max)}`;
}

function renderEvidence(p) {
  fillTable(
    document.querySelector("#verdict-table tbody"),
    (p.verdict.results || []).map((r) => [r.metric, number(r.value), range(r.range), r.met ? "yes" : "no", r.reason]),
  );
  const names = [...new Set([...Object.keys(p.selection_metrics), ...Object.keys(p.holdout_metrics)])]
    .filter((name) => typeof (p.holdout_metrics[name] ?? p.selection_metrics[name]) === "number");
  fillTable(
    document.querySelector("#metrics-table tbody"),
    names.map((name) => [name, number(p.selection_metrics[name]), number(p.holdout_metrics[name])]),
  );
  fillTable(
    document.querySelector("#lineage-table tbody"),
    p.lineage.map((edge) => [
      String(edge.generation),
      el("code", { title: edge.child_model_id, text: shortId(edge.child_model_id) }),
      String(edge.remaining_features.length),
      edge.pruned_features.length ? edge.pruned_features.join(", ") : "–",
      number(edge.parent_sqn),
      edge.reason || "–",
    ]),
  );
  const m = p.model;
  fillFacts(document.getElementById("model-facts"), [
    ["model", el("code", { text: m.id })],
    ["algorithm", m.algorithm],
    ["fingerprint", el("code", { text: m.fingerprint })],
    ["generation", String(m.generation)],
    ["features", m.features.join(", ")],
    ["chosen configuration", JSON.stringify(m.chosen_config)],
  ]);
}

// The run's whole lineage: every generation's model (features kept against generation),
// an edge from each parent to its child, and the promoted model's ancestry highlighted.
function renderLineage(p, generations) {
  if (!window.Plotly || !generations.length) return;
  const ancestry = new Set(p.lineage.map((e) => e.child_model_id));
  const byModel = new Map(generations.map((g) => [g.model_id, g]));
  const edgeX = [];
  const edgeY = [];
  for (const g of generations) {
    const parent = byModel.get(g.parent_model_id);
    if (parent) edgeX.push(parent.generation, g.generation, null);
    if (parent) edgeY.push(parent.features, g.features, null);
  }
  const colour = accent();
  const nodes = {
    x: generations.map((g) => g.generation),
    y: generations.map((g) => g.features),
    text: generations.map((g) => `model ${shortId(g.model_id)}<br>${g.features} features<br>pruned: ${g.pruned_features.join(", ") || "none"}<br>SQN-100 ${number(g.best_selection ? g.best_selection.sqn_100 : null)}`),
    texttemplate: generations.map((g) => (g.model_id === p.model_id ? "promoted" : shortId(g.model_id).slice(0, 6))),
    hoverinfo: "text",
    type: "scatter",
    mode: "markers+text",
    textposition: "top center",
    cliponaxis: false,
    marker: {
      size: generations.map((g) => (g.model_id === p.model_id ? 22 : 14)),
      color: generations.map((g) => (ancestry.has(g.model_id) ? colour : "#8a939c")),
      line: { width: 2, color: colour },
    },
    name: "models",
  };
  // Room above the top node for its label and below the lowest node, at any scale.
  const low = Math.min(...nodes.y);
  const high = Math.max(...nodes.y);
  const span = Math.max(high - low, 1);
  const edges = { x: edgeX, y: edgeY, type: "scatter", mode: "lines", hoverinfo: "skip", line: { color: "#8a939c", width: 2 }, name: "pruned into" };
  window.Plotly.react(
    "lineage-chart",
    [edges, nodes],
    chartLayout({
      showlegend: false,
      xaxis: { title: { text: "generation" }, dtick: 1, range: [-0.6, Math.max(...nodes.x) + 0.6] },
      yaxis: { title: { text: "features kept" }, range: [low - 0.15 * span - 1, high + 0.3 * span + 1] },
    }),
    { displaylogo: false, responsive: true },
  );
}

async function load() {
  try {
    const promotion = await api(`/promoted/${promotedId}`);
    latest = { promotion, generations: await api(`/runs/${promotion.run_id}/generations`) };
    renderStrategy(promotion);
    renderEvidence(promotion);
    renderLineage(promotion, latest.generations);
    root.setAttribute("aria-busy", "false");
  } catch (problem) {
    showError(error, problem);
  }
}

const redraw = () => latest && renderLineage(latest.promotion, latest.generations);
window.addEventListener("themechange", redraw);
window.addEventListener("load", redraw);
load();
