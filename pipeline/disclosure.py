"""Disclosure control for exports: primary and secondary suppression of small cells.

This module is the suppression layer and nothing else: it takes a long table shaped like
`marts.indicator_values` and returns the same rows with the values that could reveal a small count
hidden (set to null) and a `suppressed` column saying why (`primary`, `secondary`, or null). Rows
are never dropped and zeros stay zeros. Writing the hidden cells out (as "[x]") is the exporter's job.

Rules (INDICATORS.md, "How values are published"):
- primary: a count of 1..threshold-1, and every row whose numerator or denominator is in that range
  (a non-integer such as expected deaths counts as small when 0 < x < threshold), or whose complement
  (denominator - numerator, for whole counts with numerator <= denominator) is;
- secondary: wherever a hidden cell could be recovered from a total, the next smallest non-zero cell
  of that total is hidden too. The totals of a table are: every breakdown level sums to national,
  nested geography sums to its parent (municipalities to regions, 2027 regions and health councils;
  regions to 2027 regions; health councils to regions where they nest, all derived from
  `ref.geography`), sex splits sum to `all`, age groups sum to `all`.

A table is one (indicator_id, year) with all its measures; a measure's cells are (breakdown_level,
breakdown_key, sex, age_group). Measures of one indicator that share counts or add up (a share and
the count that is its numerator, a total and its parts, a population and its comparison group;
found as equal count columns or listed in LINKED_MEASURES) are suppressed as one group: each cell
is one unknown carrying the counts of every measure in the group (plus DERIVED_COUNTS, differences
that are counts too), so a hidden cell is hidden in all of them and no shown measure restates a
hidden one. A hidden row hides every column that can reveal a count: value, CI bounds, standardised
value, numerator and denominator. The pattern of a table depends only on that table, so two exports
that contain the same table hide the same cells.

Soundness. A greedy pass hides a second cell in every total that has exactly one hidden cell; then
an exact audit treats every total as a linear equation, the visible cells as known, and checks
(null space of the equations restricted to the hidden cells) that no hidden cell is determined by
any combination of totals; if one is, another cell is hidden and the audit repeats. The audit
first eliminates totals with one or two hidden cells (exact and cheap), so the linear algebra only
sees what is left. Totals that do
not add up (regional person counts, where a person counted in two reporting regions makes regions
sum to more than national) are treated as if they held exactly: the attacker then knows at most what
the equations say, so protecting against the equations also protects against the weaker inequality.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

DEFAULT_THRESHOLD = 5
# One table: an indicator in a year. Its measures are suppressed together where they are linked
# (LINKED_MEASURES and equal count columns), each group of linked measures as one pattern.
TABLE_KEYS = ("indicator_id", "year")
CELL_KEYS = ("breakdown_level", "breakdown_key", "sex", "age_group")
# Audit rounds that hide one targeted cell per exposed cell before hiding whole totals.
TARGETED_ROUNDS = 3
# Every column of a hidden row that can reveal a count.
HIDDEN_COLUMNS = ("numerator", "denominator", "value", "ci_low", "ci_high", "std_value")
# breakdown level -> ref.geography column; the order runs from coarse to fine.
GEO_COLUMNS = {
    "region2027": "region2027_code",
    "region": "region_code",
    "sundhedsraad": "sundhedsraad_code",
    "kom": "kom",
}
# Value flags that describe the size of a cell (set by the aggregator): dropped from hidden rows.
SIZE_FLAGS = ("small_denominator",)
# Units whose value is itself a count of persons or events.
COUNT_UNITS = ("count", "persons")
NATIONAL = "national"
ALL = "all"
# Measures of one indicator whose counts add up or overlap, so that a hidden cell of one could be
# recovered from the shown cells of the others (a total and its parts, a population and its
# comparison group, persons with A, with B and with A or B): a cell is hidden in all of them or in
# none. Measures with an equal count column (a share's numerator that is another measure's count,
# the same numerator and denominator in a crude and a standardised share) are linked without being
# listed here: suppress_small_cells finds them in the table.
# Counts of persons that are differences of linked measures (measure -> coefficient, applied to the
# numerators, and to the denominators where every term has one): a cell where one is 1..threshold-1
# is hidden in the whole group, like a small count.
DERIVED_COUNTS: dict[str, tuple[dict[str, int], ...]] = {
    "p3_selvmord": ({"rate_per_1000": 1, "suicides": -1},  # attempt, no suicide
                    {"rate_per_1000": 1, "attempts": -1},  # suicide, no attempt
                    {"suicides": 1, "attempts": 1, "rate_per_1000": -1}),  # both
    "n7_uddannelse": ({"share_comparison": 1, "share": -1},),  # turning 25 without a psychiatric contact
}
LINKED_MEASURES: dict[str, tuple[tuple[str, ...], ...]] = {
    # every coercive measure has one form 1-5: the total is the sum of the forms
    "p2_tvang_personer": (("measures_total", "measures_form_1", "measures_form_2", "measures_form_3",
                           "measures_form_4", "measures_form_5"),),
    # rate numerator = persons with a suicide or an attempt; suicides and attempts overlap
    "p3_selvmord": (("rate_per_1000", "suicides", "attempts"),),
    # the comparison group contains the population: the difference is a count of persons too
    "n7_uddannelse": (("share", "share_comparison"),),
    # the 16-24 share is the 16-24 age group of the share of everyone 16+ (CELL_ALIASES)
    "p1_ung_mental_sundhed": (("share", "share_16plus"),),
}
# Cells of a linked measure that are the same persons as another cell of its group: indicator ->
# measure -> {age group as exported: age group it is counted under}. P1's 16-24 share has every
# respondent in its 16-24 group, so its 'all' cell is the 16+ share's 16-24 cell.
CELL_ALIASES: dict[str, dict[str, dict[str, str]]] = {
    "p1_ung_mental_sundhed": {"share": {"all": "16-24"}},
}
# The disclosure cache (suppress_small_cells(cache_dir=...)): one file per table holding the key of the
# table's inputs and the mark of each of its rows (0 shown, 1 primary, 2 secondary) in canonical order.
# The key covers this module's source, so any change to the code here invalidates every entry.
CACHE_MAGIC = b"disclosure-marks 1\n"
CODE_VERSION = hashlib.sha256(Path(__file__).read_bytes()).digest()
REASON_CODES = {None: 0, "primary": 1, "secondary": 2}
# Everything a table's marks are computed from (besides threshold, nesting and the per-indicator rules).
KEY_TEXT_COLUMNS = ("measure", *CELL_KEYS, "unit")
KEY_NUMBER_COLUMNS = ("numerator", "denominator", "value")


@dataclass
class Equations:
    """Totals of one table: for each, the total cell and the cells that sum to it."""

    totals: list[int] = field(default_factory=list)
    parts: list[list[int]] = field(default_factory=list)

    def add(self, total: int, parts: Sequence[int]) -> None:
        if parts:
            self.totals.append(total)
            self.parts.append(list(parts))

    def coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The signed incidence as (row, cell, coefficient) arrays, duplicates summed, zeros dropped."""
        if not self.totals:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        lens = np.array([len(p) for p in self.parts])
        rows = np.concatenate([np.arange(len(self.totals)), np.repeat(np.arange(len(self.totals)), lens)])
        cells = np.concatenate([np.array(self.totals), np.fromiter((c for p in self.parts for c in p), np.int64, lens.sum())])
        coef = np.concatenate([np.ones(len(self.totals)), -np.ones(int(lens.sum()))])
        return _sum_duplicates(rows, cells, coef)

    def matrix(self, n_cells: int) -> np.ndarray:
        """Signed incidence: +1 for the total, -1 for each part (so every row sums to 0 on the truth)."""
        m = np.zeros((len(self.totals), n_cells), dtype=np.float64)
        for i, (t, ps) in enumerate(zip(self.totals, self.parts, strict=True)):
            m[i, ps] = -1.0
            m[i, t] += 1.0
        return m


def _sum_duplicates(rows: np.ndarray, cells: np.ndarray, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    key = rows.astype(np.int64) * (int(cells.max(initial=0)) + 1) + cells
    uniq, inv = np.unique(key, return_inverse=True)
    total = np.bincount(inv, weights=coef, minlength=uniq.size)
    keep = np.abs(total) > 1e-12
    width = int(cells.max(initial=0)) + 1
    return (uniq // width)[keep], (uniq % width)[keep], total[keep]


def geography_nesting(geography: pl.DataFrame | None) -> dict[tuple[str, str], dict[str, str]]:
    """(parent level, child level) -> {child key: parent key}, for every pair that nests in the data.

    A child level nests in a parent level when each child key lies in exactly one parent key (e.g.
    every municipality in one region). Keys are strings, as in `breakdown_key`.
    """
    if geography is None or geography.is_empty():
        return {}
    out: dict[tuple[str, str], dict[str, str]] = {}
    levels = list(GEO_COLUMNS)
    for i, parent in enumerate(levels):
        for child in levels[i + 1 :]:
            pc, cc = GEO_COLUMNS[parent], GEO_COLUMNS[child]
            if pc not in geography.columns or cc not in geography.columns:
                continue
            pairs = geography.select(pl.col(cc).cast(pl.Utf8), pl.col(pc).cast(pl.Utf8)).drop_nulls().unique()
            if pairs.is_empty() or pairs.get_column(cc).is_duplicated().any():
                continue  # some child lies in two parents: no total of this kind
            out[(parent, child)] = dict(zip(pairs.get_column(cc).to_list(), pairs.get_column(pc).to_list(), strict=True))
    return out


def build_equations(cells: pl.DataFrame, nesting: dict[tuple[str, str], dict[str, str]]) -> Equations:
    """Every total the table has, over its cells (rows of `cells`, in order, with the CELL_KEYS)."""
    eq = Equations()
    keys = list(zip(*(cells.get_column(c).cast(pl.Utf8).to_list() for c in CELL_KEYS), strict=True))
    index = {k: i for i, k in enumerate(keys)}
    by_slice: dict[tuple[str, str], dict[str, dict[str, int]]] = {}  # (sex, age) -> level -> key -> idx
    for i, (level, key, sex, age) in enumerate(keys):
        by_slice.setdefault((sex, age), {}).setdefault(level, {})[key] = i
    # geography: every level sums to national, and nested levels to their parents
    for levels in by_slice.values():
        national = levels.get(NATIONAL)
        if national:
            total = next(iter(national.values()))
            for level, members in levels.items():
                if level != NATIONAL:
                    eq.add(total, list(members.values()))
        for (parent, child), mapping in nesting.items():
            if parent not in levels or child not in levels:
                continue
            groups: dict[str, list[int]] = {}
            for ckey, idx in levels[child].items():
                if ckey in mapping:
                    groups.setdefault(mapping[ckey], []).append(idx)
            for pkey, parts in groups.items():
                if pkey in levels[parent]:
                    eq.add(levels[parent][pkey], parts)
    # sex splits sum to all sexes; age groups sum to all ages
    for pos in (2, 3):
        groups2: dict[tuple, list[int]] = {}
        for i, k in enumerate(keys):
            if k[pos] != ALL:
                groups2.setdefault(k[:pos] + k[pos + 1 :], []).append(i)
        for rest, parts in groups2.items():
            total_key = rest[:pos] + (ALL,) + rest[pos:]
            if total_key in index:
                eq.add(index[total_key], parts)
    return eq


def _count_matrix(table: pl.DataFrame) -> np.ndarray:
    """The columns that are counts, one row per cell (NaN where not a count)."""
    cols = [table.get_column("numerator").cast(pl.Float64), table.get_column("denominator").cast(pl.Float64)]
    unit = table.get_column("unit") if "unit" in table.columns else pl.Series([None] * table.height)
    is_count = unit.is_in(list(COUNT_UNITS)).fill_null(False)
    cols.append(pl.select(pl.when(is_count).then(table.get_column("value").cast(pl.Float64))).to_series())
    # the complement of a share: denominator - numerator persons (e.g. 98 of 100 readmitted reveals 2 who
    # were not) is a count revealed by subtraction, when both are whole counts and the numerator is a part
    num, den = cols[0], cols[1]
    whole = (num == num.floor()) & (den == den.floor()) & (num <= den)
    cols.append(pl.select(pl.when(whole).then(den - num)).to_series())
    return np.column_stack([c.fill_null(np.nan).to_numpy() for c in cols]) if table.height else np.zeros((0, 4))


def primary_cells(counts: np.ndarray, threshold: int) -> np.ndarray:
    """Cells with any count strictly between 0 and the threshold."""
    with np.errstate(invalid="ignore"):
        small = (counts > 0) & (counts < threshold)
    return small.any(axis=1)


def exposed_cells(matrix: np.ndarray, hidden: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Hidden cells whose value follows from the totals, given every visible cell.

    With the visible cells known, the totals are linear equations in the hidden ones; a hidden cell
    is determined exactly when its unit vector lies in the row space of those equations, i.e. when
    the null space of the equations has no component along it.
    """
    return audit(matrix, hidden, tol)[0]


def audit(matrix: np.ndarray, hidden: np.ndarray, tol: float = 1e-9) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """(exposed mask, certificates): the hidden cells determined by the totals, given every visible cell.

    Exact in two steps. First the equations restricted to the hidden cells are reduced by
    elimination: an equation with one hidden cell determines it (its value is then known, and it
    leaves every other equation); an equation with two hidden cells x_a, x_b gives x_b = c + f x_a,
    so x_b is substituted away and is determined exactly when x_a is. Both steps keep the solution
    set, so determinacy is unchanged. After the greedy pass most totals have exactly two hidden cells,
    so this removes most of the system. What is left is decided by linear algebra, per block of
    linked cells: a cell is determined iff its unit vector lies in the row space of the equations.

    `certificates` maps an exposed cell to weights over the totals that recover it, where the
    residual linear algebra found one (cells exposed by the elimination have none; the caller then
    picks from the cell's own totals)."""
    rr, cc = np.nonzero(matrix)
    return audit_sparse((rr, cc, matrix[rr, cc]), hidden, tol)


def audit_sparse(coo: tuple[np.ndarray, np.ndarray, np.ndarray], hidden: np.ndarray,
                 tol: float = 1e-9) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """`audit` on the equations as (row, cell, coefficient) arrays."""
    out = np.zeros(hidden.shape, dtype=bool)
    certificates: dict[int, np.ndarray] = {}
    er, ec, ev = coo
    sel = hidden[ec]
    if not sel.any():
        return out, certificates
    er, ec, ev = er[sel], ec[sel], ev[sel]
    cols, cpos = np.unique(ec, return_inverse=True)
    rowids, rpos = np.unique(er, return_inverse=True)
    k = cols.size
    rows: list[dict[int, float] | None] = [{} for _ in range(rowids.size)]
    col_rows: list[set[int]] = [set() for _ in range(k)]
    for r, c, v in zip(rpos.tolist(), cpos.tolist(), ev.tolist(), strict=True):
        rows[r][c] = v  # type: ignore[index]
        col_rows[c].add(r)
    determined = np.zeros(k, dtype=bool)
    alive = np.ones(k, dtype=bool)
    substituted: list[tuple[int, int]] = []  # (b, a): x_b follows from x_a
    queue = [r for r, row in enumerate(rows) if row is not None and len(row) <= 2]
    while queue:
        r = queue.pop()
        row = rows[r]
        if row is None or len(row) > 2:
            continue
        rows[r] = None
        for c in row:
            col_rows[c].discard(r)
        if len(row) == 1:  # the cell is known: drop it from every other equation
            (c,) = row
            determined[c] = True
            alive[c] = False
            for q in col_rows[c]:
                other = rows[q]
                other.pop(c, None)  # type: ignore[union-attr]
                if len(other) <= 2:  # type: ignore[arg-type]
                    queue.append(q)
            col_rows[c] = set()
        elif len(row) == 2:
            (ca, va), (cb, vb) = row.items()
            if len(col_rows[ca]) < len(col_rows[cb]):
                (ca, va), (cb, vb) = (cb, vb), (ca, va)
            f = -va / vb  # x_b = const + f * x_a
            for q in col_rows[cb]:
                other = rows[q]
                coef = other.pop(cb)  # type: ignore[union-attr]
                new = other.get(ca, 0.0) + coef * f  # type: ignore[union-attr]
                if abs(new) < 1e-12:
                    other.pop(ca, None)  # type: ignore[union-attr]
                    col_rows[ca].discard(q)
                else:
                    other[ca] = new  # type: ignore[index]
                    col_rows[ca].add(q)
                if len(other) <= 2:  # type: ignore[arg-type]
                    queue.append(q)
            col_rows[cb] = set()
            alive[cb] = False
            substituted.append((cb, ca))
    left = np.flatnonzero(alive)
    live_rows = [r for r, row in enumerate(rows) if row]
    if left.size and live_rows:
        pos = {int(c): i for i, c in enumerate(left)}
        red = np.zeros((len(live_rows), left.size))
        for i, r in enumerate(live_rows):
            for c, v in rows[r].items():  # type: ignore[union-attr]
                red[i, pos[c]] = v
        for comp in _components(red):  # the residual is small: dense is fine
            crow = np.flatnonzero(np.abs(red[:, comp]).sum(axis=1) > 0)
            blk = red[np.ix_(crow, comp)]
            # the eigenvectors of BᵀB with non-zero eigenvalues span the row space of B; e_i lies in
            # it iff its projection onto them has length 1
            w, v = np.linalg.eigh(blk.T @ blk)
            keep = w > tol * max(float(w.max()), 1.0)
            span = v[:, keep]
            determined[left[comp[(span**2).sum(axis=1) > 1 - 1e-6]]] = True
    for b, a_ in reversed(substituted):  # x_b follows x_a (resolved after a)
        determined[b] = determined[a_]
    out[cols[determined]] = True
    return out, certificates


def _components(a: np.ndarray) -> list[np.ndarray]:
    """Groups of columns linked through shared rows (independent blocks of the equation system)."""
    parent = list(range(a.shape[1]))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for row in a:
        nz = np.flatnonzero(row)
        for j in nz[1:]:
            ri, rj = find(int(nz[0])), find(int(j))
            if ri != rj:
                parent[rj] = ri
    roots = np.array([find(i) for i in range(a.shape[1])])
    return [np.flatnonzero(roots == r) for r in np.unique(roots)]


def _pick_secondary(eq: Equations, eq_ids: Sequence[int], hidden: np.ndarray, usable: np.ndarray, size: np.ndarray) -> int | None:
    """The smallest usable visible part of these totals; the total itself only if no part is left."""
    parts = {p for e in eq_ids for p in eq.parts[e] if usable[p] and not hidden[p]}
    if not parts:
        parts = {eq.totals[e] for e in eq_ids if usable[eq.totals[e]] and not hidden[eq.totals[e]]}
    if not parts:
        return None
    return min(parts, key=lambda i: (size[i], i))


def suppression_pattern(counts: np.ndarray, eq: Equations, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """(primary, hidden) masks over the cells of one table."""
    n = counts.shape[0]
    primary = primary_cells(counts, threshold)
    hidden = primary.copy()
    # a zero cell (every count 0) is never hidden: showing 0 reveals no one
    is_zero = (np.nan_to_num(counts, nan=0.0) == 0).all(axis=1) & ~np.isnan(counts).all(axis=1)
    usable = ~is_zero
    size = np.where(np.isnan(counts).all(axis=1), np.inf, np.nanmax(np.where(np.isnan(counts), -np.inf, counts), axis=1))
    if not eq.totals or not hidden.any():
        return primary, hidden
    coo = eq.coo()
    er, ec = coo[0], coo[1]
    n_eq = len(eq.totals)
    cell_eqs: list[list[int]] = [[] for _ in range(n)]
    for e, c in zip(er.tolist(), ec.tolist(), strict=True):
        cell_eqs[c].append(e)

    def hidden_per_eq() -> np.ndarray:
        return np.bincount(er, weights=hidden[ec], minlength=n_eq)

    rounds = 0
    while True:
        # greedy pass: no total may have exactly one hidden cell
        while True:
            lonely = np.flatnonzero(hidden_per_eq() == 1)
            # smallest totals first: a cell hidden in a small total usually settles the larger ones too
            lonely = sorted(lonely.tolist(), key=lambda e: (len(eq.parts[e]), e))
            added = False
            for e in lonely:
                members = (eq.totals[e], *eq.parts[e])
                if sum(bool(hidden[m]) for m in members) != 1:  # an earlier pick in this pass fixed it
                    continue
                pick = _pick_secondary(eq, [e], hidden, usable, size)
                if pick is not None:
                    hidden[pick] = True
                    added = True
            if not added:
                break
        mask, certificates = audit_sparse(coo, hidden)
        exposed = np.flatnonzero(mask)
        if exposed.size == 0:
            return primary, hidden
        rounds += 1
        if rounds > TARGETED_ROUNDS:
            # exposures keep cascading: hide every usable cell of the exposed cells' totals at once
            # (costs detail, but each audit is expensive and this converges in a few rounds)
            before = int(hidden.sum())
            reach = set(int(c) for c in exposed)
            for _ in range(3):  # the totals of the exposed cells, then their neighbours' totals
                reach |= {i for c in list(reach) for e in cell_eqs[c] for i in (eq.totals[e], *eq.parts[e])}
                grow = [i for i in reach if usable[i] and not hidden[i]]
                if grow:
                    hidden[grow] = True
                    break
            if int(hidden.sum()) == before:  # nothing left nearby: every non-zero cell (then none is exposed)
                hidden |= usable
            if int(hidden.sum()) == before:
                return primary, hidden  # every non-zero cell is hidden: nothing more can be inferred
            continue
        # one more cell for each exposed cell whose totals got none yet this round (one audit per
        # round, not per cell: the audit is the expensive step)
        touched: set[int] = set()
        picks = 0
        for c in exposed:
            if touched.intersection(cell_eqs[c]):
                continue  # a neighbour's pick this round may already protect it: see the next audit
            # a visible cell that the recovering combination of totals uses (targeted), else any
            # cell of the cell's own totals
            pick = None
            if int(c) in certificates:
                weight = np.abs(certificates[int(c)] @ eq.matrix(n))
                useful = np.flatnonzero((weight > 1e-6) & usable & ~hidden)
                pick = int(min(useful, key=lambda i: (size[i], i))) if useful.size else None
            if pick is None:
                pick = _pick_secondary(eq, cell_eqs[c], hidden, usable, size)
            if pick is not None:
                hidden[pick] = True
                touched.update(cell_eqs[pick])
                touched.update(cell_eqs[c])
                picks += 1
        if picks == 0:  # every usable cell of those totals is hidden already; widen to all totals
            pick = _pick_secondary(eq, range(len(eq.totals)), hidden, usable, size)
            if pick is None:
                return primary, hidden  # all non-zero cells hidden: nothing more can be inferred
            hidden[pick] = True


def measure_groups(table: pl.DataFrame, counts: np.ndarray, declared: Sequence[Sequence[str]] = ()) -> list[list[str]]:
    """The measures of one table (one indicator, one year) in groups that must be hidden alike.

    Linked: the measures of a declared group, and two measures with a count column (numerator,
    denominator, or a value that is a count) equal in every cell both have, non-zero somewhere."""
    measures = table.get_column("measure").unique(maintain_order=True).to_list()
    parent = {m: m for m in measures}

    def find(m: str) -> str:
        while parent[m] != m:
            m = parent[m]
        return m

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra

    for group in declared:
        present = [m for m in group if m in parent]
        for m in present[1:]:
            union(present[0], m)
    if len(measures) > 1:
        keys = table.select(pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("") for c in CELL_KEYS],
                                          separator="\x1f")).to_series()
        cell_index = {k: i for i, k in enumerate(keys.unique(maintain_order=True).to_list())}
        idx = np.array([cell_index[k] for k in keys.to_list()])
        mcol = table.get_column("measure").to_list()
        wide = np.full((len(cell_index), 3 * len(measures)), np.nan)
        mpos = {m: i for i, m in enumerate(measures)}
        col_of = np.array([mpos[m] for m in mcol]) * 3
        for j in range(3):  # numerator, denominator, count value (not the complement)
            wide[idx, col_of + j] = counts[:, j]
        for i in range(wide.shape[1]):
            x = wide[:, i : i + 1]
            both = ~np.isnan(x) & ~np.isnan(wide)
            same = np.where(both, x == wide, True).all(axis=0) & (both & (x != 0)).any(axis=0)
            for j in np.flatnonzero(same):
                if j // 3 != i // 3:
                    union(measures[i // 3], measures[j // 3])
    groups: dict[str, list[str]] = {}
    for m in measures:
        groups.setdefault(find(m), []).append(m)
    return list(groups.values())


def _group_marks(table: pl.DataFrame, counts: np.ndarray, group: Sequence[str],
                 nesting: dict[tuple[str, str], dict[str, str]], threshold: int,
                 derived: Sequence[dict[str, int]] = (),
                 aliases: dict[str, dict[str, str]] | None = None) -> pl.DataFrame:
    """`_row` -> reason for the rows of one group of linked measures of one table."""
    if aliases:  # rows that are the same persons as another cell of the group share its unknown
        alias_age = pl.col("age_group")
        for measure, ages in aliases.items():
            if measure in group:
                alias_age = pl.when(pl.col("measure") == measure).then(
                    pl.col("age_group").replace(ages)).otherwise(alias_age)
        moved = table.with_columns(alias_age.alias("age_group"))
        # only where the measure really is counted that way: both rows of an alias carry equal counts
        per = moved.with_columns(pl.Series("_c", [tuple(r) for r in np.nan_to_num(counts, nan=-1.0).tolist()]))
        if per.group_by("measure", *CELL_KEYS).agg(pl.col("_c").n_unique().alias("n")).get_column("n").max() == 1:
            table = moved
    keys = table.select(pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("") for c in CELL_KEYS], separator="\x1f"))
    cells = table.select(CELL_KEYS).with_columns(keys.to_series().alias("_k")).unique("_k", maintain_order=True)
    cells = cells.sort(list(CELL_KEYS), nulls_last=True)
    index = {k: i for i, k in enumerate(cells.get_column("_k").to_list())}
    idx = np.array([index[k] for k in keys.to_series().to_list()], dtype=np.int64)
    mpos = {m: i for i, m in enumerate(group)}
    col0 = np.array([mpos[m] for m in table.get_column("measure").to_list()], dtype=np.int64) * counts.shape[1]
    merged = np.full((len(index), counts.shape[1] * len(group)), np.nan)
    for j in range(counts.shape[1]):
        merged[idx, col0 + j] = counts[:, j]
    extra = []
    for combo in derived:
        if not set(combo) <= set(group):
            continue
        for j in (0, 1):  # numerator, denominator
            terms = [coef * merged[:, mpos[m] * counts.shape[1] + j] for m, coef in combo.items()]
            col = np.sum(terms, axis=0)  # NaN where a term has no such column: not a count
            extra.append(col)
    if extra:
        merged = np.column_stack([merged, *extra])
    eq = build_equations(cells.select(CELL_KEYS).fill_null(""), nesting)
    _, hidden = suppression_pattern(merged, eq, threshold)
    own_primary = primary_cells(counts, threshold)
    zero_row = (np.nan_to_num(counts, nan=0.0) == 0).all(axis=1) & ~np.isnan(counts).all(axis=1)
    row_hidden = (hidden[idx] & ~zero_row) | own_primary
    reason = np.where(own_primary, "primary", np.where(row_hidden, "secondary", None))
    return pl.DataFrame({"_row": table.get_column("_row"), "suppressed": pl.Series(reason.tolist(), dtype=pl.Utf8)})


def suppress_small_cells(
    values: pl.DataFrame,
    threshold: int = DEFAULT_THRESHOLD,
    geography: pl.DataFrame | None = None,
    table_keys: Sequence[str] = TABLE_KEYS,
    linked: dict[str, tuple[tuple[str, ...], ...]] | None = None,
    derived: dict[str, tuple[dict[str, int], ...]] | None = None,
    cache_dir: Path | None = None,
) -> pl.DataFrame:
    """The rows of `values` with small and recoverable cells hidden; never drops a row.

    `values` has the columns of `marts.indicator_values` (at least the table keys, CELL_KEYS,
    numerator, denominator, value and unit). `geography` is `ref.geography` (for the nested totals).
    `linked`: indicator -> groups of measures hidden alike (default LINKED_MEASURES); measures with
    an equal count column are linked too. `derived`: indicator -> differences of linked measures that
    are counts too (default DERIVED_COUNTS). Returns the same rows in the same order, HIDDEN_COLUMNS set
    to null where hidden, and a column `suppressed`: 'primary' (the row's own counts are small),
    'secondary' (hidden so that no small count can be recovered) or null.

    Within a group of linked measures a cell (breakdown, sex, age group) is one unknown with the
    counts of all those measures: hidden in one measure means hidden in all, except rows whose
    counts are all zero (zeros stay zeros).

    `cache_dir`: where to keep each table's marks between runs (None: no cache). A table's pattern is
    a function of its rows, the threshold, the geography nesting, its indicator's linked/derived/alias
    rules and this module's code, so an entry whose key (a hash of all of these) matches is reused
    exactly; an entry that is missing, stale, unreadable or corrupt is recomputed and rewritten. The
    entries hold row marks and hashes of mart rows, nothing else; they are as confidential as the
    (unsuppressed) marts they come from and must not be published.
    """
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    linked = LINKED_MEASURES if linked is None else linked
    derived = DERIVED_COUNTS if derived is None else derived
    nesting = geography_nesting(geography)
    df = values.with_row_index("_row")
    for c in HIDDEN_COLUMNS:
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.Float64).alias(c))
    marks: list[pl.DataFrame] = []
    rules = _nesting_text(nesting).encode() + repr((threshold, tuple(table_keys))).encode()
    for _, table in df.group_by(list(table_keys), maintain_order=True):
        if cache_dir is None:
            marks.extend(_table_marks(table, table_keys, nesting, threshold, linked, derived))
            continue
        # cached: the table in a canonical order (the marts' row order is not stable between reads),
        # so its key and its marks do not depend on how the rows arrived
        table = table.sort([*KEY_TEXT_COLUMNS[: len(KEY_TEXT_COLUMNS) - ("unit" not in table.columns)],
                            *KEY_NUMBER_COLUMNS], nulls_last=True)
        ind = str(table.get_column("indicator_id")[0]) if "indicator_id" in table.columns else ""
        key = _table_key(table, table_keys, rules + repr((linked.get(ind, ()), derived.get(ind, ()),
                                                          CELL_ALIASES.get(ind))).encode())
        path = Path(cache_dir) / _entry_name(table, table_keys)
        codes = _read_entry(path, key, table.height)
        if codes is None:
            computed = pl.concat(_table_marks(table, table_keys, nesting, threshold, linked, derived))
            codes = _codes_in_order(table.get_column("_row").to_numpy(), computed)
            _write_entry(path, key, codes)
        reasons = np.array([None, "primary", "secondary"], dtype=object)[codes]
        marks.append(pl.DataFrame({"_row": table.get_column("_row"),
                                   "suppressed": pl.Series(reasons.tolist(), dtype=pl.Utf8)}))
    mark = pl.concat(marks) if marks else pl.DataFrame(schema={"_row": pl.UInt32, "suppressed": pl.Utf8})
    out = df.join(mark, on="_row", how="left").sort("_row")
    hide = pl.col("suppressed").is_not_null()
    out = out.with_columns(
        [pl.when(hide).then(None).otherwise(pl.col(c)).alias(c) for c in HIDDEN_COLUMNS if c in values.columns]
    )
    if "flags" in values.columns:  # a size flag on a hidden row would bound the hidden count
        kept = pl.col("flags").str.split(",").list.eval(pl.element().filter(~pl.element().str.strip_chars().is_in(SIZE_FLAGS)))
        out = out.with_columns(
            pl.when(hide & pl.col("flags").is_not_null())
            .then(pl.when(kept.list.len() > 0).then(kept.list.join(",")))
            .otherwise(pl.col("flags"))
            .alias("flags")
        )
    return out.select([*values.columns, "suppressed"])


def _table_marks(table: pl.DataFrame, table_keys: Sequence[str], nesting: dict[tuple[str, str], dict[str, str]],
                 threshold: int, linked: dict[str, tuple[tuple[str, ...], ...]],
                 derived: dict[str, tuple[dict[str, int], ...]]) -> list[pl.DataFrame]:
    """`_row` -> reason for every row of one table, one frame per group of linked measures."""
    counts = _count_matrix(table)
    ind = str(table.get_column("indicator_id")[0]) if "indicator_id" in table.columns else ""
    if "measure" in table_keys or table.get_column("measure").n_unique() == 1:
        groups = [table.get_column("measure").unique().to_list()]
    else:
        groups = measure_groups(table, counts, linked.get(ind, ()))
    out = []
    for group in groups:
        sel = table.get_column("measure").is_in(group).to_numpy() if len(groups) > 1 else np.ones(table.height, bool)
        out.append(_group_marks(table.filter(pl.Series(sel)), counts[sel], group, nesting, threshold,
                                derived.get(ind, ()), CELL_ALIASES.get(ind)))
    return out


# --- the disclosure cache -----------------------------------------------------------------------------


def _nesting_text(nesting: dict[tuple[str, str], dict[str, str]]) -> str:
    return repr(sorted((pair, sorted(mapping.items())) for pair, mapping in nesting.items()))


def _table_key(table: pl.DataFrame, table_keys: Sequence[str], rules: bytes) -> bytes:
    """SHA-256 of a table's inputs (rows in their canonical order), its rules and this module's code."""
    h = hashlib.sha256(CACHE_MAGIC + CODE_VERSION + rules)
    text_cols = [c for c in (*table_keys, *KEY_TEXT_COLUMNS) if c in table.columns]
    h.update(repr(text_cols).encode())
    text = table.select(pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("\x00") for c in text_cols],
                                      separator="\x1f")).to_series().to_list()
    h.update("\x1e".join(text).encode())
    for c in KEY_NUMBER_COLUMNS:
        col = table.get_column(c).cast(pl.Float64) if c in table.columns else pl.Series([None] * table.height,
                                                                                          dtype=pl.Float64)
        h.update(c.encode() + col.is_null().to_numpy().tobytes())
        x = col.fill_null(0.0).to_numpy().astype(np.float64)
        x[np.isnan(x)] = np.nan  # one NaN bit pattern
        h.update(x.tobytes())
    return h.digest()


def _entry_name(table: pl.DataFrame, table_keys: Sequence[str]) -> str:
    """One file per table (its key values), so a changed table replaces its entry instead of adding one."""
    ident = repr([(c, str(table.get_column(c)[0])) for c in table_keys if c in table.columns])
    return hashlib.sha256(ident.encode()).hexdigest()[:32] + ".bin"


def _codes_in_order(rows: np.ndarray, computed: pl.DataFrame) -> np.ndarray:
    """The marks of `computed` (`_row`, `suppressed`) as codes in the order of `rows`."""
    crow = computed.get_column("_row").to_numpy()
    code = computed.select(pl.col("suppressed").replace_strict({"primary": 1, "secondary": 2}, default=0,
                                                               return_dtype=pl.UInt8)).to_series().to_numpy()
    order = np.argsort(crow)
    pos = np.searchsorted(crow[order], rows)
    if not np.array_equal(crow[order][pos], rows):
        raise AssertionError("disclosure marks do not cover the table's rows")
    return code[order][pos].astype(np.uint8)


def _read_entry(path: Path, key: bytes, n: int) -> np.ndarray | None:
    """The codes stored for `key`, or None when the entry is missing, stale or corrupt."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(CACHE_MAGIC) + 32 + 8
    if len(data) != head + n + 32 or not data.startswith(CACHE_MAGIC):
        return None
    if data[len(CACHE_MAGIC):len(CACHE_MAGIC) + 32] != key or int.from_bytes(data[head - 8:head], "little") != n:
        return None
    if hashlib.sha256(data[:-32]).digest() != data[-32:]:
        return None
    codes = np.frombuffer(data[head:head + n], dtype=np.uint8)
    return codes if bool((codes <= 2).all()) else None


def _write_entry(path: Path, key: bytes, codes: np.ndarray) -> None:
    """Write an entry atomically (a temporary file renamed into place); a failed write only costs a recompute."""
    body = CACHE_MAGIC + key + int(codes.size).to_bytes(8, "little") + codes.astype(np.uint8).tobytes()
    data = body + hashlib.sha256(body).digest()
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".bin")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
