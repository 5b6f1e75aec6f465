// What every page shares: API calls (with the token when one is set), small DOM
// builders, number formatting, polling, progress bars, the theme switch and chart colours.

const TOKEN_KEY = "factory-token";
const THEME_KEY = "factory-theme";

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }
}

function describe(status, body) {
  if (body && typeof body.message === "string") return body.message;
  if (body && typeof body.detail === "string") return body.detail;
  return `the server answered ${status}`;
}

function withToken(headers) {
  const token = window.sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

export function hasToken() {
  return Boolean(window.sessionStorage.getItem(TOKEN_KEY));
}

// A file the API serves (a screenshot, a report) as a Blob, fetched with the token when
// one is set: an <img src> or a plain link cannot send it.
export async function apiBlob(path) {
  const response = await fetch(path, { headers: withToken({}) });
  if (!response.ok) {
    const text = await response.text();
    let parsed = null;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      parsed = null; // not JSON: the status says what happened
    }
    throw new ApiError(response.status, parsed);
  }
  return response.blob();
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = withToken({ Accept: "application/json" });
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function number(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return value.toLocaleString("en-US", { maximumSignificantDigits: digits });
}

export function moment(text) {
  if (!text) return "–";
  const date = new Date(text);
  return date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

export function shortId(id) {
  return id ? id.slice(0, 12) : "–";
}

export function regime(filter) {
  if (!filter) return "any regime";
  return Object.entries(filter)
    .map(([column, labels]) => `${column} ∈ {${labels.join(", ")}}`)
    .join("; ");
}

const FINISHED = ["completed", "failed", "stopped"];

export function finished(run) {
  return FINISHED.includes(run.status);
}

// A phase's progress as shown: "done of total" while the run goes on. Once it has ended,
// what was done (a total it never reached was a plan, not progress), and whether the run
// stopped before its plan, after which generation and why.
export function phaseProgress(run, phase, lastGeneration = null) {
  const training = phase === "training";
  const done = training ? run.models_trained : run.simulations_completed;
  const total = training ? run.models_total : run.simulations_total;
  if (!finished(run)) {
    const max = total > 0 ? Math.max(total, done) : 0;
    return { done, max, text: `${number(done)} of ${max ? number(max) : "?"}` };
  }
  const text = `${number(done)} ${training ? "models" : "cells"}`;
  return { done, max: Math.max(done, 1), text: training ? text : text + endedEarly(run, lastGeneration) };
}

function endedEarly(run, lastGeneration) {
  const asPlanned = ["max_generations", "cannot_prune"].includes(run.stop_reason);
  if (!run.stop_reason || (asPlanned && run.simulations_completed >= run.simulations_total)) return "";
  const after = lastGeneration === null ? "" : ` after generation ${lastGeneration}`;
  return `; stopped early${after}: ${run.stop_reason.replaceAll("_", " ")}`;
}

export function drawProgress(bar, textNode, state) {
  bar.max = state.max || 1;
  if (state.max) bar.value = state.done;
  else bar.removeAttribute("value");
  textNode.textContent = state.text;
}

export function progress(state, label) {
  const bar = el("progress", { "aria-label": label });
  const text = el("span", { class: "progress-text" });
  drawProgress(bar, text, state);
  return el("span", { class: "progress-cell" }, bar, text);
}

export function fillTable(tbody, rows, empty = "None.") {
  if (!rows.length) {
    const columns = tbody.closest("table").querySelectorAll("thead th").length;
    tbody.replaceChildren(el("tr", {}, el("td", { colspan: columns, class: "empty", text: empty })));
    return;
  }
  tbody.replaceChildren(
    ...rows.map((cells) =>
      el("tr", {}, ...cells.map((cell, index) => el(index === 0 ? "th" : "td", index === 0 ? { scope: "row" } : {}, cell))),
    ),
  );
}

export function fillFacts(list, facts) {
  list.replaceChildren(
    ...facts.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", {}, value)]),
  );
}

export function showError(node, error) {
  if (!error) {
    node.hidden = true;
    node.textContent = "";
    return;
  }
  node.hidden = false;
  node.textContent =
    error.status === 401 ? "This server needs the API token: enter it at the top of the page." : error.message;
}

// A refused form: "what" did not happen, then each field the server named (a 422's
// details, the same words the API and the CLI give) or its one message.
export function explain(node, problem, what) {
  const details = problem.body && Array.isArray(problem.body.detail) ? problem.body.detail : null;
  if (!details) return showError(node, problem);
  node.hidden = false;
  node.replaceChildren(
    el("p", { text: `${what}:` }),
    el("ul", {}, ...details.map((d) => el("li", { text: `${d.loc.filter((p) => p !== "body").join(".") || "body"}: ${d.msg}` }))),
  );
}

// Poll while the page is visible; render only when the answer changed, so the live
// regions announce changes, not every refresh.
export function poll(load, render, onError, every = 2000) {
  let last = null;
  let timer = null;
  async function tick() {
    try {
      const data = await load();
      const key = JSON.stringify(data);
      if (key !== last) {
        last = key;
        render(data);
      }
      onError(null);
    } catch (error) {
      onError(error);
    }
    timer = window.setTimeout(tick, every);
  }
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) window.clearTimeout(timer);
    else {
      window.clearTimeout(timer);
      tick();
    }
  });
  tick();
}

export function chartLayout(extra = {}) {
  const style = getComputedStyle(document.documentElement);
  const ink = style.getPropertyValue("--ink").trim();
  const grid = style.getPropertyValue("--rule").trim();
  const axis = { gridcolor: grid, zerolinecolor: grid, color: ink };
  return {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { color: ink },
    margin: { l: 56, r: 16, t: 16, b: 48 },
    ...extra,
    xaxis: { ...axis, ...(extra.xaxis || {}) },
    yaxis: { ...axis, ...(extra.yaxis || {}) },
  };
}

export function accent() {
  return getComputedStyle(document.documentElement).getPropertyValue("--accent").trim();
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  const toggle = document.getElementById("theme-toggle");
  toggle.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
  window.dispatchEvent(new Event("themechange"));
}

function initTheme() {
  const toggle = document.getElementById("theme-toggle");
  toggle.setAttribute("aria-pressed", document.documentElement.dataset.theme === "dark" ? "true" : "false");
  toggle.addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    try {
      window.localStorage.setItem(THEME_KEY, next);
    } catch (error) {
      // Storage can be disabled; the theme still switches for this page.
    }
    applyTheme(next);
  });
}

function initToken() {
  const form = document.getElementById("token-form");
  if (!form) return;
  const input = document.getElementById("api-token");
  input.value = window.sessionStorage.getItem(TOKEN_KEY) || "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    window.sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    window.location.reload();
  });
}

initTheme();
initToken();
