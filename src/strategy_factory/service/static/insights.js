// The Learning Insights hub: four tabs that fill themselves from the learning API and
// refresh by themselves, the "Rebalance now" and "Run learning cycle" buttons, and a
// polite live region that announces a new allocation snapshot or a new alert.
import { ApiError, api, el, poll, showError } from "./app.js";
import { drawAllocatorCharts, loadAllocator, rebalance, renderAllocator } from "./insights_allocator.js";
import { initAcknowledge, loadAlerts, renderAlerts } from "./insights_alerts.js";
import { initKnowledge, loadKnowledge, renderKnowledge } from "./insights_knowledge.js";
import { drawHeatmap, loadMeta, renderMeta } from "./insights_meta.js";
import { percent, statisticText } from "./learning_text.js";
import { initTabs } from "./tabs.js";

const EVERY = 5000;
const KEPT_ANNOUNCEMENTS = 3;
const errorNode = document.getElementById("insights-error");
const announcer = document.getElementById("insights-announcer");
const latest = { meta: null, allocator: null };
const problems = new Map();

// Several sources refresh on their own: the message shown is the first one still failing.
function reporter(source) {
  return (problem) => {
    if (problem) problems.set(source, problem);
    else problems.delete(source);
    showError(errorNode, problems.values().next().value || null);
  };
}

function announce(message) {
  announcer.append(el("p", { text: message }));
  while (announcer.childElementCount > KEPT_ANNOUNCEMENTS) announcer.firstElementChild.remove();
}

// --- allocator: a snapshot id not seen before is a rebalance -------------------------
let snapshotSeen;

function rebalanceText(snapshot) {
  if (snapshot.state === "allocated") {
    return `Rebalanced: snapshot ${snapshot.id} holds ${Object.keys(snapshot.weights).length} strategies, turnover ${percent(snapshot.diff.turnover)}.`;
  }
  return `Rebalanced: snapshot ${snapshot.id} is ${snapshot.state}${snapshot.reason ? `: ${snapshot.reason}` : ""}.`;
}

function showAllocator(answer, { announced = true } = {}) {
  latest.allocator = answer;
  const id = answer.latest ? answer.latest.id : null;
  if (announced && snapshotSeen !== undefined && id !== null && id !== snapshotSeen) {
    announce(rebalanceText(answer.latest));
  }
  snapshotSeen = id;
  renderAllocator(answer);
}

const rebalanceButton = document.getElementById("rebalance");
const rebalanceStatus = document.getElementById("rebalance-status");
rebalanceButton.addEventListener("click", async () => {
  rebalanceButton.disabled = true;
  rebalanceStatus.textContent = "Rebalancing…";
  try {
    const answer = await rebalance();
    showAllocator(answer, { announced: false });
    rebalanceStatus.textContent = answer.latest ? rebalanceText(answer.latest) : "Nothing to allocate.";
    reporter("rebalance")(null);
  } catch (problem) {
    rebalanceStatus.textContent = "";
    reporter("rebalance")(problem);
  } finally {
    rebalanceButton.disabled = false;
  }
});

// --- alerts: an id not seen before is a new alert -----------------------------------
let alertsSeen = null;

function showAlerts(alerts) {
  if (alertsSeen !== null) {
    const fresh = alerts.filter((alert) => !alertsSeen.has(alert.id) && !alert.acknowledged_at);
    if (fresh.length === 1) {
      const [alert] = fresh;
      announce(`New overfitting alert on ${alert.promotion_id}: ${alert.test} ${statisticText(alert)}.`);
    } else if (fresh.length > 1) announce(`${fresh.length} new overfitting alerts.`);
  }
  alertsSeen = new Set([...(alertsSeen || []), ...alerts.map((alert) => alert.id)]);
  renderAlerts(alerts);
}

initAcknowledge((alert) => announce(`Alert ${alert.id} on ${alert.promotion_id} acknowledged by ${alert.acknowledged_by}.`));

// --- learning cycles: until the server offers them, the button says it cannot ----------
const cycleButton = document.getElementById("run-cycle");
const cycleStatus = document.getElementById("cycle-status");
let cyclesOffered = true;

function cycleText(cycle) {
  const steps = cycle.steps.map((step) => `${step.name} ${step.state}`).join(", ");
  const error = cycle.error ? ` (${cycle.error})` : "";
  return `Learning cycle ${cycle.id} (${cycle.trigger}): ${cycle.state}${steps ? `; ${steps}` : ""}${error}.`;
}

async function loadCycles() {
  if (!cyclesOffered) return null;
  try {
    return await api("/api/learning/cycles");
  } catch (problem) {
    if (!(problem instanceof ApiError) || problem.status !== 404) throw problem;
    cyclesOffered = false;
    return null;
  }
}

function showCycles(cycles) {
  if (!cycles || !cycles.length) return;
  cycleStatus.textContent = cycleText(cycles[0]);
  cycleButton.disabled = cycles[0].state === "running";
}

cycleButton.addEventListener("click", async () => {
  cycleButton.disabled = true;
  try {
    const cycle = await api("/api/learning/cycle/run", { method: "POST" });
    cyclesOffered = true;
    cycleStatus.textContent = cycleText(cycle);
    reporter("cycle")(null);
  } catch (problem) {
    cycleButton.disabled = false;
    reporter("cycle")(problem);
  }
});

// --- tabs, charts and refreshing ------------------------------------------------------
function drawCharts(tab) {
  if (tab === "meta-model" && latest.meta) drawHeatmap(latest.meta.history.versions);
  if (tab === "allocator" && latest.allocator) drawAllocatorCharts(latest.allocator);
}

function selectedTab() {
  return document.querySelector('#insights-tabs [aria-selected="true"]').dataset.tab;
}

initTabs(document.getElementById("insights-tabs"), drawCharts);
initKnowledge(reporter("knowledge"));
window.addEventListener("themechange", () => drawCharts(selectedTab()));
window.addEventListener("load", () => drawCharts(selectedTab()));

poll(
  loadMeta,
  (data) => {
    latest.meta = data;
    renderMeta(data);
  },
  reporter("meta"),
  EVERY,
);
poll(loadAllocator, showAllocator, reporter("allocator"), EVERY);
poll(loadAlerts, showAlerts, reporter("alerts"), EVERY);
poll(loadKnowledge, renderKnowledge, reporter("knowledge"), EVERY);
poll(loadCycles, showCycles, reporter("cycles"), EVERY);
