// The Knowledge tab: a period's summary, rendered by the server from its Markdown with
// raw HTML shown as text (the API's ``html``), and a picker of the periods.
import { api } from "./app.js";

const picker = document.getElementById("knowledge-period");
const summary = document.getElementById("knowledge-summary");
const empty = document.getElementById("knowledge-empty");
let chosen = null; // a period the reader picked; null follows the newest

export function loadKnowledge() {
  return api(chosen ? `/api/knowledge/${chosen}` : "/api/knowledge/latest");
}

export function renderKnowledge(entry) {
  empty.hidden = Boolean(entry);
  picker.disabled = !entry;
  if (!entry) {
    picker.replaceChildren();
    summary.replaceChildren();
  } else {
    picker.replaceChildren(
      ...entry.periods.map((period) => {
        const option = document.createElement("option");
        option.value = period;
        option.textContent = period;
        option.selected = period === entry.period;
        return option;
      }),
    );
    // Safe by construction: the server escaped every tag written in the Markdown.
    summary.innerHTML = entry.html;
    summary.dataset.period = entry.period;
  }
  summary.setAttribute("aria-busy", "false");
}

export function initKnowledge(onError) {
  picker.addEventListener("change", async () => {
    chosen = picker.value;
    summary.setAttribute("aria-busy", "true");
    try {
      renderKnowledge(await loadKnowledge());
      onError(null);
    } catch (problem) {
      onError(problem);
    }
  });
}
