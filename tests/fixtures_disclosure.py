"""The attacker of the disclosure tests: which hidden cells can be recovered from the totals."""

from __future__ import annotations

import numpy as np


def attack(hidden: np.ndarray, equations: list[tuple[int, list[int]]]) -> set[int]:
    """Hidden cells an attacker who sees every other cell can recover: by subtraction from any total,
    repeated with what was recovered, and by any linear combination of totals. Which cells fall
    depends only on the pattern, not on the values, so the values are not needed here."""
    unknown = hidden.copy()
    recovered: set[int] = set()
    changed = True
    while changed:  # subtraction, iterated
        changed = False
        for t, parts in equations:
            left = [m for m in (t, *parts) if unknown[m]]
            if len(left) == 1:
                unknown[left[0]] = False
                recovered.add(left[0])
                changed = True
    cols = np.flatnonzero(unknown)
    if cols.size:  # linear combinations: x_i is determined iff e_i lies in the row space of the totals
        pos = {int(c): k for k, c in enumerate(cols)}
        a = np.zeros((len(equations), cols.size))
        for r, (t, parts) in enumerate(equations):
            if t in pos:
                a[r, pos[t]] += 1
            for p in parts:
                if p in pos:
                    a[r, pos[p]] -= 1
        projector_diag = np.diag(np.linalg.pinv(a) @ a)  # projection onto the row space
        recovered |= {int(c) for c, d in zip(cols, projector_diag, strict=True) if d > 1 - 1e-6}
    return recovered
