// The champions page's forms: challenge a slot's champion (POST /api/champions/challenge)
// and restore a slot's backup (POST /api/champions/{slot}/restore), with the request models
// the CLI's `factory champion challenge|restore` validate with; refusals field by field.
import { api, el, explain, showError } from "./app.js";

function value(id) {
  return document.getElementById(id).value.trim();
}

// A number field as the body's number; empty stays empty (the server's default applies).
function numberOf(id) {
  const text = value(id);
  return text === "" ? undefined : Number(text);
}

function wire(formId, { errors, result, request, said }, changed) {
  const errorNode = document.getElementById(errors);
  const resultNode = document.getElementById(result);
  const form = document.getElementById(formId);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(errorNode, null);
    resultNode.textContent = "";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      resultNode.textContent = said(await api(...request()));
      changed();
    } catch (problem) {
      explain(errorNode, problem, "Nothing was changed");
    } finally {
      button.disabled = false;
    }
  });
}

// Fill the choices: the slots (to restore, and to challenge) and the active promotions.
export function renderChoices(slots, promotions) {
  const names = slots.map((slot) => slot.slot);
  document.getElementById("slot-choices").replaceChildren(...names.map((name) => el("option", { value: name })));
  const restoreSlot = document.getElementById("restore-slot");
  const before = restoreSlot.value;
  restoreSlot.replaceChildren(...names.map((name) => el("option", { value: name, text: name })));
  if (names.includes(before)) restoreSlot.value = before;
  if (promotions) {
    document.getElementById("challenger-choices").replaceChildren(
      ...promotions.filter((p) => p.status === "active").map((p) => el("option", { value: p.id, text: `${p.symbol}, run ${p.run_id}` })),
    );
  }
}

// Wire both forms; ``changed()`` is called after each change the server accepted.
export function initForms(changed) {
  wire("challenge-form", {
    errors: "challenge-errors",
    result: "challenge-result",
    request: () => ["/api/champions/challenge", {
      method: "POST",
      body: {
        slot: value("challenge-slot"),
        challenger: value("challenge-challenger"),
        by: value("challenge-by"),
        alpha: numberOf("challenge-alpha"),
        min_effect: numberOf("challenge-min-effect"),
        min_bars: numberOf("challenge-min-bars"),
      },
    }],
    said: (outcome) => `${outcome.outcome.replaceAll("_", " ")}: ${outcome.message}`,
  }, changed);
  wire("restore-form", {
    errors: "restore-errors",
    result: "restore-result",
    request: () => {
      const slot = value("restore-slot");
      if (!slot) throw new Error("No slot has a champion yet: there is nothing to restore.");
      return [`/api/champions/${encodeURIComponent(slot)}/restore`, {
      method: "POST",
        body: { by: value("restore-by"), backup: numberOf("restore-backup"), reason: value("restore-reason") },
      }];
    },
    said: (entry) => `Restored: ${entry.champion_after} is champion of ${entry.slot} again (log entry ${entry.id}).`,
  }, changed);
}
