// How the learning pages say their figures: weights as percentages, a statistic against
// its threshold, a promotion as a link to its page.
import { el, number } from "./app.js";

export function percent(value) {
  return typeof value === "number" ? `${(100 * value).toFixed(1)}%` : "–";
}

export function points(value) {
  return typeof value === "number" ? `${value >= 0 ? "+" : ""}${(100 * value).toFixed(1)} pts` : "–";
}

export function statisticText(alert) {
  if (alert.statistic === null || alert.threshold === null) return number(alert.statistic);
  const side = alert.statistic > alert.threshold ? ">" : "≤";
  return `${number(alert.statistic)} ${side} ${number(alert.threshold)}`;
}

export function promotionLink(id, text = id) {
  return el("a", { href: `/ui/promoted/${encodeURIComponent(id)}`, text });
}
