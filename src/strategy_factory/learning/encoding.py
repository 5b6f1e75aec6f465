"""How genome-table rows become the meta-model's matrix, and back to traits.

Numeric traits and flags are columns as they are (NaN stays NaN: LightGBM learns where
missing values go). A category trait becomes one column per level seen in training
(``regime_filter={"regime_gmm": [0]}``); a level never seen gives zeros in all of them, a
feature never seen is left out (no model learned anything about it). Every matrix column
belongs to one trait, so importances add up per trait (:attr:`Encoding.column_traits`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from strategy_factory.learning.genome import is_trait, trait_of

MAX_LEVELS = 10_000


class _Category(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    levels: list[str] = Field(max_length=MAX_LEVELS)


class _EncodingDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    numeric: list[str] = Field(max_length=MAX_LEVELS)
    # A list, not a mapping: the order of the categories is the order of the columns.
    categories: list[_Category] = Field(max_length=1_000)


@dataclass(frozen=True)
class Encoding:
    """The matrix columns of a trained meta-model: ``numeric`` raw columns as they are,
    then one column per level of each category in ``categories``."""

    numeric: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]

    @classmethod
    def fit(cls, rows: pd.DataFrame, groups: Collection[str]) -> Encoding:
        """The encoding of the trait columns of ``rows`` whose group is in ``groups``."""
        traits = [trait_of(c) for c in rows.columns if is_trait(c)]
        chosen = [t for t in traits if t.group in groups]
        numeric = tuple(t.name for t in chosen if t.kind != "category")
        categories = {
            t.name: tuple(sorted(rows[t.name].astype(str).unique()))
            for t in chosen
            if t.kind == "category"
        }
        return cls(numeric=numeric, categories=categories)

    @property
    def columns(self) -> list[str]:
        """The matrix's column names."""
        levels = [f"{name}={level}" for name, values in self.categories.items() for level in values]
        return [*self.numeric, *levels]

    @property
    def column_traits(self) -> list[str]:
        """The trait of each matrix column."""
        levels = [name for name, values in self.categories.items() for _ in values]
        return [*self.numeric, *levels]

    def transform(self, rows: pd.DataFrame) -> np.ndarray:
        """The matrix of ``rows`` (a genome table's rows, or proposed genomes)."""
        blocks = [np.empty((len(rows), 0))]
        if self.numeric:
            blocks.append(self._numeric(rows))
        for name, levels in self.categories.items():
            if name in rows:
                values = rows[name].astype(str).to_numpy()
                blocks.append((values[:, None] == np.asarray(levels)[None, :]).astype(np.float64))
            else:
                blocks.append(np.zeros((len(rows), len(levels))))
        return np.hstack(blocks)

    def _numeric(self, rows: pd.DataFrame) -> np.ndarray:
        present = rows.reindex(columns=list(self.numeric))
        flags = [name for name in self.numeric if trait_of(name).kind == "flag"]
        present[flags] = present[flags].fillna(0)
        return present.to_numpy(dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        """Plain values for the artifact."""
        return {
            "numeric": list(self.numeric),
            "categories": [
                {"name": name, "levels": list(levels)} for name, levels in self.categories.items()
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> Encoding:
        """An encoding read back from an artifact (checked field by field)."""
        document = _EncodingDocument.model_validate(data)
        categories = {category.name: tuple(category.levels) for category in document.categories}
        for name in [*document.numeric, *categories]:
            trait_of(name)  # a column that is not a trait is refused
        return cls(numeric=tuple(document.numeric), categories=categories)
