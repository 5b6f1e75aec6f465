// The learning settings form: filled from GET /api/settings/learning, saved whole with PUT.
// The server is the only judge: what was typed is sent as typed, and each problem of its
// 422 answer is shown next to its field (the stored settings stay as they were).
import { ApiError, api, showError } from "./app.js";

const PATH = "/api/settings/learning";
const form = document.getElementById("settings-form");
const save = document.getElementById("save-settings");
const error = document.getElementById("settings-error");
const result = document.getElementById("settings-result");
const controls = [...form.querySelectorAll("[data-kind]")];

function valueAt(tree, path) {
  return path.split(".").reduce((node, key) => (node === null || node === undefined ? undefined : node[key]), tree);
}

function setAt(tree, path, value) {
  const keys = path.split(".");
  const leaf = keys.pop();
  let node = tree;
  for (const key of keys) node = node[key] ??= {};
  node[leaf] = value;
}

function fill(settings) {
  for (const control of controls) {
    const value = valueAt(settings, control.name);
    if (control.dataset.kind === "boolean") control.checked = Boolean(value);
    else control.value = value === null || value === undefined ? "" : String(value);
  }
}

// What was typed, as JSON values: numbers stay text when they are not numbers, so the
// server names the field instead of the page guessing.
function read() {
  const settings = {};
  for (const control of controls) {
    const kind = control.dataset.kind;
    let value = control.value;
    if (kind === "boolean") value = control.checked;
    else if (kind === "integer" || kind === "number") {
      const text = control.value.trim();
      if (text === "") value = null;
      else value = Number.isFinite(Number(text)) ? Number(text) : text;
    }
    setAt(settings, control.name, value);
  }
  return settings;
}

function clearProblems() {
  for (const node of form.querySelectorAll("[data-error-for]")) {
    node.hidden = true;
    node.textContent = "";
  }
  for (const control of controls) control.removeAttribute("aria-invalid");
}

// A 422 entry's place: ["body", "allocator", "max_weight"] is the field allocator.max_weight;
// a problem with no field of its own goes to the message at the top.
function showProblems(problems) {
  const unplaced = [];
  let first = null;
  for (const problem of problems) {
    const path = problem.loc.filter((part) => part !== "body").join(".");
    const control = controls.find((c) => c.name === path);
    if (!control) {
      unplaced.push(`${path || "settings"}: ${problem.msg}`);
      continue;
    }
    const node = document.getElementById(`${control.id}-error`);
    node.textContent = problem.msg;
    node.hidden = false;
    control.setAttribute("aria-invalid", "true");
    first ??= control;
  }
  const count = problems.length;
  error.hidden = false;
  error.textContent =
    `Nothing was saved: the server refused ${count} ${count === 1 ? "value" : "values"}` +
    (unplaced.length ? ` (${unplaced.join("; ")})` : "") +
    ". The stored settings are unchanged.";
  if (first) first.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearProblems();
  showError(error, null);
  result.textContent = "";
  save.disabled = true;
  try {
    fill(await api(PATH, { method: "PUT", body: read() }));
    result.textContent = "Saved: the learning cycle uses these settings from its next run.";
  } catch (problem) {
    if (problem instanceof ApiError && problem.status === 422 && Array.isArray(problem.body?.detail)) {
      showProblems(problem.body.detail);
    } else showError(error, problem);
  } finally {
    save.disabled = false;
  }
});

async function load() {
  try {
    fill(await api(PATH));
    form.setAttribute("aria-busy", "false");
  } catch (problem) {
    showError(error, problem);
  }
}

load();
