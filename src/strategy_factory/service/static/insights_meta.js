// The Meta-model tab: the newest version's scores, a heatmap of trait importance across
// recent versions, and the newest version's traits with their direction.
import { api, chartLayout, fillFacts, fillTable, moment, number } from "./app.js";

const MOST_TRAITS = 20; // rows of the heatmap: the newest version's most important traits

export async function loadMeta() {
  const [newest, history] = await Promise.all([
    api("/api/learning/meta-model"),
    api("/api/learning/meta-model/history"),
  ]);
  return { newest, history };
}

// Spearman's ρ of the trait with the prediction, in words; a category names its best level.
function direction(trait) {
  const rho = trait.direction;
  if (typeof rho === "number") {
    if (rho > 0) return `higher → fitter (ρ ${rho.toFixed(2)})`;
    if (rho < 0) return `higher → less fit (ρ ${rho.toFixed(2)})`;
    return "none";
  }
  if (trait.best) return `best: ${trait.best}`;
  return typeof rho === "string" ? rho : "mixed";
}

function metricFacts(metrics) {
  return Object.entries(metrics || {})
    .filter(([, value]) => value === null || typeof value !== "object")
    .map(([key, value]) => [`ρ ${key.replaceAll("_", " ")}`, number(value)]);
}

function trainingFacts(training) {
  return Object.entries(training || {})
    .filter(([, value]) => typeof value === "number" || typeof value === "string")
    .map(([key, value]) => [key.replaceAll("_", " "), number(value)]);
}

export function renderMeta({ newest, history }) {
  const reason = document.getElementById("meta-reason");
  const model = newest.meta_model;
  reason.hidden = Boolean(model);
  reason.textContent = model ? "" : `${newest.reason}.`;
  fillFacts(
    document.getElementById("meta-facts"),
    model
      ? [
          ["version", String(model.version)],
          ["algorithm", model.algorithm],
          ["trained", moment(model.created_at)],
          ...metricFacts(model.metrics),
          ...trainingFacts(model.training),
        ]
      : [],
  );
  const traits = history.versions.length ? history.versions[0].traits : [];
  fillTable(
    document.querySelector("#traits-table tbody"),
    traits.map((trait) => [trait.trait, number(trait.importance), direction(trait)]),
    "No meta-model yet.",
  );
  drawHeatmap(history.versions);
  document.getElementById("meta-region").setAttribute("aria-busy", "false");
}

// Traits (rows, the newest version's order) × versions (columns, oldest to newest).
export function drawHeatmap(versions) {
  if (!window.Plotly) return;
  const chart = document.getElementById("importance-heatmap");
  if (chart.closest("[hidden]")) return; // drawn when its tab is shown (it needs a size)
  const ordered = [...versions].reverse();
  const rows = versions.length ? versions[0].traits.slice(0, MOST_TRAITS).map((t) => t.trait) : [];
  const z = rows.map((name) =>
    ordered.map((version) => {
      const found = version.traits.find((t) => t.trait === name);
      return found ? found.importance : null;
    }),
  );
  const style = getComputedStyle(document.documentElement);
  const low = style.getPropertyValue("--surface").trim();
  const high = style.getPropertyValue("--accent").trim();
  window.Plotly.react(
    chart,
    [
      {
        type: "heatmap",
        x: ordered.map((v) => `v${v.version}`),
        y: rows,
        z,
        colorscale: [
          [0, low],
          [1, high],
        ],
        hoverongaps: false,
        colorbar: { title: { text: "importance" } },
      },
    ],
    chartLayout({
      margin: { l: 160, r: 16, t: 16, b: 48 },
      xaxis: { title: { text: "meta-model version" }, type: "category" },
      yaxis: { autorange: "reversed", type: "category" },
    }),
    { displaylogo: false, responsive: true },
  );
}
