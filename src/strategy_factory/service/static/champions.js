// Champions and challengers: the slots, the challenges (with an Approve button for those
// waiting) and the audit log, from GET /api/champions, refreshed by polling; the challenge
// and restore forms are champions_forms.js.
import { accent, api, chartLayout, el, moment, number, poll, showError } from "./app.js";
import { initForms, renderChoices } from "./champions_forms.js";

const errorNode = document.getElementById("champions-error");
const approver = document.getElementById("approve-by");
const statusNode = document.getElementById("approve-status");
const slotChoice = document.getElementById("forward-slot");
let drawnForward = null;

function promotion(id) {
  return id ? el("a", { href: `/ui/promoted/${encodeURIComponent(id)}`, text: id }) : "—";
}

function slotRow(slot) {
  const config = slot.configuration;
  return el(
    "tr",
    { "data-slot": slot.slot },
    el("th", { scope: "row", text: slot.slot }),
    el("td", {}, promotion(slot.promotion_id)),
    el("td", { text: config.algorithm }),
    el("td", { text: config.features.join(", ") }),
    el("td", { text: moment(slot.updated_at) }),
  );
}

async function approve(challenge, button) {
  const by = approver.value.trim();
  if (!by) {
    showError(errorNode, { message: "Say who approves: fill in “Approve as” first." });
    approver.focus();
    return;
  }
  button.disabled = true;
  try {
    const entry = await api(`/api/champions/challenges/${challenge.id}/approve`, {
      method: "POST",
      body: { by },
    });
    statusNode.textContent = `Approved: ${entry.champion_after} is champion of ${entry.slot}.`;
    showError(errorNode, null);
  } catch (error) {
    showError(errorNode, error);
  } finally {
    button.disabled = false;
    refresh();
  }
}

function stateCell(challenge) {
  if (challenge.state !== "awaiting_approval") {
    const who = challenge.approved_by ? ` by ${challenge.approved_by}` : "";
    return el("td", { text: `${challenge.state}${who}`, title: challenge.reason });
  }
  const button = el("button", { type: "button", "data-approve": challenge.id, text: "Approve" });
  button.setAttribute("aria-label", `Approve challenge ${challenge.id} of ${challenge.slot}`);
  button.addEventListener("click", () => approve(challenge, button));
  return el("td", { title: challenge.reason }, "awaiting approval ", button);
}

function challengeRow(challenge) {
  const test = challenge.evidence.paired_test || {};
  return el(
    "tr",
    { "data-challenge": challenge.id, "data-state": challenge.state },
    el("th", { scope: "row", text: challenge.id }),
    el("td", { text: challenge.slot }),
    el("td", {}, promotion(challenge.challenger_id), " vs ", promotion(challenge.champion_id)),
    el("td", { text: String(test.bars ?? "—") }),
    el("td", { text: test.p_value == null ? "not tested" : number(test.p_value) }),
    el("td", { text: test.power == null ? "—" : `${Math.round(test.power * 100)}%` }),
    stateCell(challenge),
  );
}

function logRow(entry) {
  const change = entry.champion_before === entry.champion_after
    ? promotion(entry.champion_after)
    : el("span", {}, promotion(entry.champion_before), " → ", promotion(entry.champion_after));
  return el(
    "tr",
    { "data-log": entry.id, "data-action": entry.action },
    el("th", { scope: "row", text: String(entry.id) }),
    el("td", { text: moment(entry.created_at) }),
    el("td", { text: entry.slot }),
    el("td", { text: entry.action.replaceAll("_", " ") }),
    el("td", {}, change),
    el("td", { text: entry.actor }),
    el("td", { text: entry.reason }),
  );
}

function fill(selector, rows, empty) {
  const tbody = document.querySelector(`${selector} tbody`);
  if (rows.length) tbody.replaceChildren(...rows);
  else {
    const columns = tbody.closest("table").querySelectorAll("thead th").length;
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: columns, class: "empty", text: empty })));
  }
}

function drawForward(answer) {
  drawnForward = answer;
  if (!window.Plotly || !answer) return;
  const traces = answer.series.map((s) => ({
    type: "scatter",
    mode: "lines",
    x: s.timestamps,
    y: s.equity,
    name: `${s.role} ${s.promotion_id}`,
    line: s.role === "champion" ? { color: accent(), width: 2.5 } : { width: 1.2, dash: "dot" },
  }));
  window.Plotly.react(
    "forward-chart",
    traces,
    chartLayout({ yaxis: { title: { text: "equity" } }, legend: { orientation: "h" } }),
    { displaylogo: false, responsive: true },
  );
}

async function loadForward() {
  if (!slotChoice.value) return;
  try {
    drawForward(await api(`/api/champions/${encodeURIComponent(slotChoice.value)}/forward`));
  } catch (problem) {
    showError(errorNode, problem);
  }
}

function renderSlotChoice(slots) {
  const names = slots.map((slot) => slot.slot);
  const before = slotChoice.value;
  if (names.join() === Array.from(slotChoice.options, (o) => o.value).join()) return;
  slotChoice.replaceChildren(...names.map((name) => el("option", { value: name, text: name })));
  if (names.includes(before)) slotChoice.value = before;
}

let latest = null;
let promotions = null;

function loadPromotions() {
  api("/promoted?limit=200").then(
    (found) => {
      promotions = found;
      if (latest) renderChoices(latest.slots, promotions);
    },
    (problem) => showError(errorNode, problem),
  );
}

function render(answer) {
  latest = answer;
  renderChoices(answer.slots, promotions);
  fill("#slots-table", answer.slots.map(slotRow), "No champion yet: the first challenger of a slot becomes its champion.");
  fill("#challenges-table", answer.challenges.map(challengeRow), "No challenge yet.");
  fill("#log-table", answer.log.map(logRow), "Nothing has changed yet.");
  renderSlotChoice(answer.slots);
  loadForward();
  document.getElementById("champions-region").setAttribute("aria-busy", "false");
}

const refresh = () => api("/api/champions").then(render, (problem) => showError(errorNode, problem));
initForms(() => {
  refresh();
  loadPromotions();
});
loadPromotions();
slotChoice.addEventListener("change", loadForward);
window.addEventListener("themechange", () => drawForward(drawnForward));
window.addEventListener("load", () => drawForward(drawnForward));

poll(() => api("/api/champions"), render, (problem) => showError(errorNode, problem), 5000);
