"""What a challenger changes against a champion, and whether the change is major.

A *major* change brings a new algorithm or a new feature family (a feature whose name
without its numeric parameters, e.g. ``rsi`` of ``rsi_14``, the champion does not use):
it waits for a person's approval even when it wins its paired test. New parameters, new
windows of known indicators, or a new trading configuration are minor.
"""

from __future__ import annotations

import re
from typing import Any

from strategy_factory.store import Store

_PARAMETERS = re.compile(r"(_-?\d+(\.\d+)?)+$")


def feature_family(name: str) -> str:
    """A feature's family: its name without trailing numeric parameters.

    Example: ``feature_family("ema_ratio_200") == "ema_ratio"``.
    """
    return _PARAMETERS.sub("", name) or name


def configuration(store: Store, promotion_id: str) -> dict[str, Any]:
    """What trades a promotion: its run, model, algorithm, features and strategy (what a
    backup keeps, so a restore brings back exactly this)."""
    promotion = store.promoted.get(promotion_id)
    model = store.models.get(promotion.model_id)
    return {
        "promotion_id": promotion.id,
        "run_id": promotion.run_id,
        "model_id": model.id,
        "algorithm": model.algorithm,
        "symbol": model.symbol,
        "features": list(model.features),
        "strategy": dict(promotion.strategy),
        "status": promotion.status,
    }


def describe_change(champion: dict[str, Any], challenger: dict[str, Any]) -> dict[str, Any]:
    """The difference between two :func:`configuration` documents, with ``major`` and the
    reasons it is major (empty when minor)."""
    old, new = set(champion["features"]), set(challenger["features"])
    old_families = {feature_family(name) for name in old}
    new_families = sorted({feature_family(name) for name in new} - old_families)
    strategy = {
        key: [champion["strategy"].get(key), challenger["strategy"].get(key)]
        for key in sorted(set(champion["strategy"]) | set(challenger["strategy"]))
        if champion["strategy"].get(key) != challenger["strategy"].get(key)
    }
    reasons = []
    if champion["algorithm"] != challenger["algorithm"]:
        reasons.append(f"a new algorithm ({champion['algorithm']} → {challenger['algorithm']})")
    if new_families:
        reasons.append(f"new feature families ({', '.join(new_families)})")
    return {
        "major": bool(reasons),
        "major_because": reasons,
        "algorithm": [champion["algorithm"], challenger["algorithm"]],
        "features_added": sorted(new - old),
        "features_removed": sorted(old - new),
        "new_feature_families": new_families,
        "strategy": strategy,
    }


def change_sentence(change: dict[str, Any]) -> str:
    """The change in words."""
    parts = list(change["major_because"])
    if change["features_added"] and not change["new_feature_families"]:
        parts.append(f"features added: {', '.join(change['features_added'])}")
    if change["features_removed"]:
        parts.append(f"features removed: {', '.join(change['features_removed'])}")
    if change["strategy"]:
        parts.append(f"strategy settings changed: {', '.join(change['strategy'])}")
    return "; ".join(parts) or "same model inputs and settings (another promotion)"
