"""The knowledge base: what each learning cycle learned, as Markdown a person reads.

A cycle gathers plain facts (each step's summary) and :func:`render_knowledge` writes
them out: what the meta-model learned (its top genome traits and the direction each
pushes predicted out-of-sample fitness), how the allocation changed, which strategies
were flagged, what the search proposed and launched, and what forward tracking added;
and the principles the understanding layer stated that day (hypotheses tested,
indicators discovered), each with its numbers.
A step that did not run or failed says so rather than leaving a gap.
"""

from __future__ import annotations

from typing import Any

TOP_TRAITS = 8
# Facts the understanding layer adds to a period's summary (key: section title); each is a
# list of {"principle": sentence, ...}. A cycle rewriting the period keeps them.
UNDERSTANDING_FACTS = {
    "hypotheses": "Hypotheses tested",
    "indicators": "Indicators discovered",
}


def render_knowledge(period: str, facts: dict[str, Any]) -> str:
    """The Markdown summary of ``period`` from the cycle's ``facts``."""
    lines = [f"# Learning summary — {period}", ""]
    lines += _section("Forward tracking", facts.get("forward"), _forward)
    lines += _section("What the meta-model learned", facts.get("meta_model"), _meta_model)
    lines += _section("Genome search", facts.get("search"), _search)
    allocation = (facts.get("monitor") or {}).get("rebalanced") or facts.get("allocator")
    lines += _section("Capital allocation", allocation, _allocator)
    lines += _section("Overfitting monitor", facts.get("monitor"), _monitor)
    # Steps a higher layer added to the cycle: each says its title and its principles.
    for fact in facts.values():
        if isinstance(fact, dict) and "principles" in fact and fact.get("title"):
            lines += [f"## {fact['title']}", ""]
            lines += [f"- {text}" for text in fact["principles"]] or ["Nothing new."]
            lines.append("")
    # Written by the understanding layer whenever it tests or discovers, not by a cycle step.
    for key, title in UNDERSTANDING_FACTS.items():
        if facts.get(key):
            lines += [f"## {title}", "", *(f"- {row['principle']}" for row in facts[key]), ""]
    return "\n".join(lines).rstrip() + "\n"


def _section(title: str, fact: dict[str, Any] | None, body: Any) -> list[str]:
    lines = [f"## {title}", ""]
    if fact is None:
        lines.append("Not run in this cycle.")
    elif fact.get("error"):
        lines.append(f"**Failed:** {fact['error']}")
    else:
        lines += body(fact)
    return [*lines, ""]


def _number(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _percent(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _forward(fact: dict[str, Any]) -> list[str]:
    rows = fact.get("promotions", [])
    if not rows:
        return ["No active promotion to track."]
    added = sum(row.get("bars_added", 0) for row in rows)
    lines = [f"{added} new bars over {len(rows)} promoted strategies.", ""]
    lines += ["| promotion | bars added | tracked to | status |", "| --- | ---: | --- | --- |"]
    lines += [
        f"| {row['promotion_id']} | {row.get('bars_added', 0)} | {row.get('last_bar') or '—'}"
        f" | {row.get('status') or ''} |"
        for row in rows
    ]
    return lines


def _meta_model(fact: dict[str, Any]) -> list[str]:
    if fact.get("state") != "trained":
        return [f"No meta-model this cycle: {fact.get('reason', 'not enough history')}."]
    scores = fact.get("scores", {})
    lines = [
        f"Version {fact['version']} ({fact.get('algorithm')}), trained on {fact.get('rows')}"
        f" configurations from {fact.get('runs')} runs. Cross-validated rank correlation"
        f" with realised out-of-sample fitness (folds grouped by run):"
        f" **{_number(scores.get('model'))}**, against {_number(scores.get('selection_only'))}"
        f" for the selection-period metric alone and {_number(scores.get('random'))}"
        " for the 95th percentile of random rankings.",
        "",
    ]
    traits = fact.get("traits", [])[:TOP_TRAITS]
    if traits:
        lines += ["| genome trait | importance | direction |", "| --- | ---: | --- |"]
        lines += [
            f"| {trait['trait']} | {_number(trait.get('importance'))}"
            f" | {_direction(trait.get('direction'))} |"
            for trait in traits
        ]
    return lines


def _direction(value: Any) -> str:
    if value is None:
        return "mixed"
    if value > 0:
        return f"higher → fitter (ρ {value:+.2f})"
    if value < 0:
        return f"higher → less fit (ρ {value:+.2f})"
    return "none"


def _search(fact: dict[str, Any]) -> list[str]:
    if fact.get("state") == "skipped":
        return [f"Skipped: {fact.get('reason')}."]
    kept = fact.get("kept", [])
    lines = [
        f"{fact.get('proposed', 0)} genomes proposed and pre-scored by the meta-model;"
        f" the best {len(kept)} kept."
    ]
    launched = fact.get("launched", [])
    if launched:
        lines += ["", "| run | predicted fitness | prior trials | genome |"]
        lines += ["| --- | ---: | ---: | --- |"]
        lines += [
            f"| {row['run_id']} | {_number(row.get('score'))} | {row.get('prior_trials', '')}"
            f" | {row.get('genome', '')} |"
            for row in launched
        ]
    else:
        lines.append("No run launched.")
    lines += [
        f"- trial {row['trial']} not launched: {row['reason']}"
        for row in fact.get("not_launched", [])
    ]
    return lines


def _allocator(fact: dict[str, Any]) -> list[str]:
    if fact.get("state") != "allocated":
        return [f"No allocation: {fact.get('reason')}."]
    risk = fact.get("risk", {})
    change = fact.get("diff", {})
    lines = [
        f"Expected volatility {_percent(risk.get('volatility'))} a year"
        f" (cap {_percent(risk.get('max_volatility'))}), expected return"
        f" {_percent(risk.get('expected_return'))} a year; turnover against the previous"
        f" allocation {_percent(change.get('turnover'))}.",
        "",
        "| promotion | weight | change |",
        "| --- | ---: | ---: |",
    ]
    changed = change.get("changed", {})
    added = change.get("added", {})
    for promotion, weight in sorted(fact.get("weights", {}).items(), key=lambda kv: -kv[1]):
        if promotion in added:
            shown = "new"
        elif promotion in changed:
            shown = f"{100 * changed[promotion]['change']:+.1f} pts"
        else:
            shown = "—"
        lines.append(f"| {promotion} | {_percent(weight)} | {shown} |")
    removed = change.get("removed", {})
    if removed:
        lines += ["", "Left the allocation: " + ", ".join(sorted(removed)) + "."]
    excluded = risk.get("excluded", {})
    if excluded:
        lines += ["", "Not allocated:"]
        lines += [f"- {key}: {why}" for key, why in sorted(excluded.items())]
    return lines


def _monitor(fact: dict[str, Any]) -> list[str]:
    alerts = fact.get("alerts", [])
    judged = fact.get("judged", 0)
    lines = [f"{judged} strategies judged; {len(alerts)} flagged."]
    if fact.get("rebalanced"):
        lines.append("Demoted strategies left the allocation at once (it was rebalanced).")
    if alerts:
        lines += ["", "| promotion | statistic | threshold | new | demoted |"]
        lines += ["| --- | ---: | ---: | --- | --- |"]
        lines += [
            f"| {row['promotion_id']} | {_number(row.get('statistic'), 2)}"
            f" | {_number(row.get('threshold'), 2)} | {'yes' if row.get('new') else 'no'}"
            f" | {'yes' if row.get('demoted') else 'no'} |"
            for row in alerts
        ]
    return lines
