"""Small vectorised sampling helpers shared by the generator modules (no register knowledge here)."""

from __future__ import annotations

import numpy as np


def weighted_sample(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Positions of `k` items drawn without replacement with probability proportional to `weights`.

    Efraimidis-Spirakis keys (-log u / w, smallest k win); items of weight 0 are never drawn, and at
    most the number of positive weights is returned.
    """
    w = np.asarray(weights, float)
    k = int(min(k, int((w > 0).sum())))
    if k <= 0:
        return np.zeros(0, np.int64)
    with np.errstate(divide="ignore"):
        keys = np.where(w > 0, -np.log(rng.random(len(w))) / np.where(w > 0, w, 1), np.inf)
    return np.argpartition(keys, k - 1)[:k] if k < len(w) else np.flatnonzero(w > 0)


def bernoulli_for_total(rng: np.random.Generator, weights: np.ndarray, expected: float) -> np.ndarray:
    """Boolean draw with P_i = min(1, c * w_i), c chosen so that the expected number drawn is `expected`."""
    w = np.asarray(weights, float)
    if expected <= 0 or w.sum() <= 0:
        return np.zeros(len(w), bool)
    c = expected / w.sum()
    for _ in range(20):  # the cap at 1 removes mass; raise c until the expectation is met
        p = np.minimum(1.0, c * w)
        got = p.sum()
        if got >= expected * 0.999 or (p >= 1).all():
            break
        c *= expected / got
    return rng.random(len(w)) < p


def choose_codes(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    """`n` codes drawn from {code: weight}."""
    codes = np.array(list(table))
    w = np.asarray(list(table.values()), float)
    return codes[rng.choice(len(codes), size=n, p=w / w.sum())]


def pick_by_uniform(u: np.ndarray, table: dict[str, float]) -> np.ndarray:
    """Codes chosen by given uniforms in [0, 1) (a person's fixed trait -> the same code each time)."""
    codes = np.array(list(table))
    cum = np.cumsum(np.asarray(list(table.values()), float))
    return codes[np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), len(codes) - 1)]
