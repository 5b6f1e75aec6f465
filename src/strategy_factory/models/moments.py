"""Sufficient statistics of a training grid: every fold's standardized Gram from one pass.

Every fold's training rows of every regime config are a union of *blocks*: the rows
between two consecutive fold boundaries (a segment) that share one membership pattern
across the regime configs (which configs select the row). One pass computes each block's
row count, means and centred co-moments of ``[X, y]``; a fold × regime config is then the
combination of its blocks, with no row copied, standardized or multiplied again.

Blocks are combined by the exact many-way form of Chan et al.'s pairwise update,
``M = Σ M_k + Σ n_k (m_k − m)(m_k − m)'``, on centred moments only: raw sums of squares
would lose the digits of a feature whose mean dwarfs its spread.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class Moments:
    """Row count, means and centred co-moments ``Σ (z − m)(z − m)'`` of rows ``z = [x, y]``."""

    count: int
    mean: np.ndarray
    comoment: np.ndarray

    def standardized(self) -> Standardized:
        """Gram ``X'X`` and ``X'y`` of these rows standardized as ``StandardScaler`` does.

        Population standard deviations; a constant feature keeps scale 1 (the test of
        ``StandardScaler``), a constant target scale 1.
        """
        n = self.count
        mean, variance = self.mean[:-1], np.diag(self.comoment)[:-1] / n
        constant = variance <= n * _EPS * variance + (n * mean * _EPS) ** 2
        scale = np.where(constant, 1.0, np.sqrt(variance))
        y_variance = self.comoment[-1, -1] / n
        y_scale = float(np.sqrt(y_variance)) if y_variance > 0 else 1.0
        gram = self.comoment[:-1, :-1] / np.outer(scale, scale)
        xy = self.comoment[:-1, -1] / (scale * y_scale)
        y_norm2 = float(self.comoment[-1, -1]) / y_scale**2
        return Standardized(n, gram, xy, y_norm2, mean, scale, float(self.mean[-1]), y_scale)


@dataclass(frozen=True)
class Standardized:
    """One fold's standardized training rows, reduced to what a linear fit needs."""

    count: int
    gram: np.ndarray
    xy: np.ndarray
    y_norm2: float
    mean: np.ndarray
    scale: np.ndarray
    y_mean: float
    y_scale: float


def combine(parts: list[Moments]) -> Moments:
    """The moments of the union of disjoint row sets (empty parts are ignored)."""
    parts = [part for part in parts if part.count]
    if len(parts) == 1:
        return parts[0]
    counts = np.array([part.count for part in parts], dtype=np.float64)
    means = np.stack([part.mean for part in parts])
    total = int(counts.sum())
    mean = counts @ means / total
    deviations = means - mean
    comoment = np.sum([part.comoment for part in parts], axis=0)
    comoment += (deviations * counts[:, None]).T @ deviations
    return Moments(total, mean, comoment)


def _block(rows: np.ndarray) -> Moments:
    mean = rows.mean(axis=0)
    centred = rows - mean
    return Moments(rows.shape[0], mean, centred.T @ centred)


def range_moments(
    X: np.ndarray,
    y: np.ndarray,
    masks: tuple[np.ndarray, ...],
    ranges: list[tuple[int, int]],
) -> dict[tuple[int, int], Moments]:
    """Moments of the rows ``start <= t < stop`` of every range selected by every mask.

    Keyed by (mask position, range position); a pair with no rows is left out.
    """
    edges = np.unique([edge for pair in ranges for edge in pair])
    patterns, members = _patterns(masks)
    # Per segment between consecutive edges: the moments of each membership pattern.
    segments: list[dict[int, Moments]] = []
    for start, stop in pairwise(edges):
        order = np.argsort(patterns[start:stop], kind="stable")
        keys = patterns[start:stop][order]
        rows = np.column_stack([X[start:stop], y[start:stop]])[order]
        bounds = np.flatnonzero(np.diff(keys)) + 1
        firsts = keys[np.concatenate([[0], bounds])]
        blocks = np.split(rows, bounds)
        segments.append({int(k): _block(b) for k, b in zip(firsts, blocks, strict=True)})
    found: dict[tuple[int, int], Moments] = {}
    for position in range(len(masks)):
        per_segment = [
            [m for key, m in blocks.items() if members[key, position]] for blocks in segments
        ]
        for number, (start, stop) in enumerate(ranges):
            first, last = np.searchsorted(edges, [start, stop])
            parts = [m for blocks in per_segment[first:last] for m in blocks]
            if parts:
                found[(position, number)] = combine(parts)
    return found


def _patterns(masks: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's membership pattern across the masks (an id), and each id's memberships."""
    stacked = np.stack(masks, axis=1)
    packed = np.packbits(stacked, axis=1)
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, firsts, ids = np.unique(keys, return_index=True, return_inverse=True)
    return ids.ravel(), stacked[firsts]


def moments_of(X: np.ndarray, y: np.ndarray) -> Moments:
    """The moments of the rows of ``X`` with target ``y``, computed directly."""
    return _block(np.column_stack([X, y]))
