// The Overfitting tab: every alert with its evidence, and the acknowledge dialog (who and
// why, POST /api/learning/overfit/ack); the acknowledged row is updated in place.
import { api, el, moment, showError } from "./app.js";
import { promotionLink, statisticText } from "./learning_text.js";

const WHO_KEY = "factory-ack-by";
const dialog = document.getElementById("ack-dialog");
const form = document.getElementById("ack-form");
const who = document.getElementById("ack-by");
const note = document.getElementById("ack-note");
const dialogError = document.getElementById("ack-error");
const tbody = document.querySelector("#alerts-table tbody");
let pending = null; // the alert the dialog is about, and the button that opened it

// The last name used, so the next acknowledgement need not type it again (storage may be
// disabled: then it is not remembered).
function rememberedName() {
  try {
    return window.localStorage.getItem(WHO_KEY) || "";
  } catch (error) {
    return "";
  }
}

function rememberName(name) {
  try {
    window.localStorage.setItem(WHO_KEY, name);
  } catch (error) {
    // Not remembered; the acknowledgement itself is stored.
  }
}

export function loadAlerts() {
  return api("/api/learning/overfit");
}

function acknowledgedCell(alert) {
  if (!alert.acknowledged_at) {
    const button = el("button", { type: "button", "data-ack": alert.id, text: "Acknowledge" });
    button.setAttribute("aria-label", `Acknowledge alert ${alert.id} on ${alert.promotion_id}`);
    button.addEventListener("click", () => open(alert, button));
    return button;
  }
  const text = `by ${alert.acknowledged_by}, ${moment(alert.acknowledged_at)}`;
  return el(
    "span",
    { class: "acknowledged", tabindex: "-1", id: `ack-${alert.id}` },
    text,
    alert.note ? el("span", { class: "help", text: ` — ${alert.note}` }) : null,
  );
}

function row(alert) {
  return el(
    "tr",
    { "data-alert": alert.id, "data-open": alert.acknowledged_at ? "false" : "true" },
    el("th", { scope: "row" }, promotionLink(alert.promotion_id)),
    el("td", { text: alert.test }),
    el("td", { text: statisticText(alert) }),
    el("td", { text: moment(alert.created_at) }),
    el("td", { text: alert.demoted ? "yes: left the allocator" : "no" }),
    el("td", {}, acknowledgedCell(alert)),
  );
}

export function renderAlerts(alerts) {
  if (!alerts.length) {
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "empty", text: "No alert: no promoted strategy is decaying." })));
  } else tbody.replaceChildren(...alerts.map(row));
  document.getElementById("alerts-region").setAttribute("aria-busy", "false");
}

function open(alert, button) {
  pending = { alert, button };
  document.getElementById("ack-alert-id").textContent = String(alert.id);
  document.getElementById("ack-what").textContent =
    `${alert.promotion_id}: ${alert.test} statistic ${statisticText(alert)}, raised ${moment(alert.created_at)}.`;
  who.value = rememberedName();
  note.value = "";
  showError(dialogError, null);
  dialog.showModal();
  who.focus();
}

// Closed without acknowledging: focus goes back to the alert's button (redrawn, if a
// refresh replaced the table while the dialog was open).
dialog.addEventListener("close", () => {
  if (pending) {
    const button = pending.button.isConnected ? pending.button : tbody.querySelector(`[data-ack="${pending.alert.id}"]`);
    if (button) button.focus();
  }
  pending = null;
});
document.getElementById("ack-cancel").addEventListener("click", () => dialog.close());

export function initAcknowledge(onAcknowledged) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!pending) return;
    const by = who.value.trim();
    if (!by) {
      showError(dialogError, new Error("Say who acknowledges the alert."));
      who.focus();
      return;
    }
    const confirm = document.getElementById("ack-confirm");
    confirm.disabled = true;
    try {
      const body = { alert_id: pending.alert.id, by, note: note.value.trim() || null };
      const alert = await api("/api/learning/overfit/ack", { method: "POST", body });
      rememberName(by);
      const old = tbody.querySelector(`tr[data-alert="${alert.id}"]`);
      if (old) old.replaceWith(row(alert));
      pending = null;
      dialog.close();
      document.getElementById(`ack-${alert.id}`)?.focus();
      onAcknowledged(alert);
    } catch (problem) {
      showError(dialogError, problem);
    } finally {
      confirm.disabled = false;
    }
  });
}
