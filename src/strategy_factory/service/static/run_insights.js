// The run page's insights sidebar: what the learning layer thinks of this run's
// promotions — the allocator's weight for each, and the open overfitting alerts on them.
import { api, el, moment, poll, shortId, showError } from "./app.js";
import { percent, promotionLink, statisticText } from "./learning_text.js";

const EVERY = 5000;
const region = document.getElementById("run-insights-region");
let promotions = null; // this run's promotion ids, once the run page has loaded the run
let learning = null;

export function showRunPromotions(promoted) {
  const ids = promoted.map((p) => p.id);
  if (promotions && ids.join() === promotions.join()) return;
  promotions = ids;
  render();
}

function allocationItem(id, allocator) {
  const shown = allocator.allocated;
  const label = promotionLink(id, `promotion ${shortId(id)}`);
  if (!shown) return el("li", {}, label, ": no allocation yet");
  if (id in shown.weights) {
    return el("li", {}, label, `: ${percent(shown.weights[id])} of capital (snapshot ${shown.id})`);
  }
  const excluded = (shown.risk.excluded || {})[id];
  return el("li", {}, label, excluded ? `: left out (${excluded})` : `: not held in snapshot ${shown.id}`);
}

function allocationItems(allocator) {
  if (!promotions.length) return [el("li", { text: "This run promoted nothing: the allocator has nothing of it." })];
  const items = promotions.map((id) => allocationItem(id, allocator));
  const newest = allocator.latest;
  if (newest && newest.state !== "allocated") {
    items.push(el("li", { text: `The newest rebalance (snapshot ${newest.id}) is ${newest.state}${newest.reason ? `: ${newest.reason}` : ""}.` }));
  }
  return items;
}

function alertItems(alerts) {
  const ours = alerts.filter((alert) => promotions.includes(alert.promotion_id));
  if (!ours.length) return [el("li", { text: "None." })];
  return ours.map((alert) =>
    el(
      "li",
      { "data-alert": alert.id },
      el("a", { href: "/ui/insights#overfitting", text: `${alert.test} ${statisticText(alert)}` }),
      ` on promotion ${shortId(alert.promotion_id)}, since ${moment(alert.created_at)}${alert.demoted ? "; demoted" : ""}`,
    ),
  );
}

function render() {
  if (promotions === null || learning === null) return;
  document.getElementById("run-allocation").replaceChildren(...allocationItems(learning.allocator));
  document.getElementById("run-alerts").replaceChildren(...alertItems(learning.alerts));
  region.setAttribute("aria-busy", "false");
}

async function load() {
  const [allocator, alerts] = await Promise.all([
    api("/api/learning/allocator?limit=1"),
    api("/api/learning/overfit?open=true"),
  ]);
  return { allocator, alerts };
}

poll(
  load,
  (data) => {
    learning = data;
    render();
  },
  (problem) => showError(document.getElementById("run-insights-error"), problem),
  EVERY,
);
