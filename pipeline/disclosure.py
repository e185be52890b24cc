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

A table is one (indicator_id, measure, year); its cells are (breakdown_level, breakdown_key, sex,
age_group). A hidden row hides every column that can reveal a count: value, CI bounds, standardised
value, numerator and denominator. The pattern of a table depends only on that table, so two exports
that contain the same table hide the same cells.

Soundness. A greedy pass hides a second cell in every total that has exactly one hidden cell; then
an exact audit treats every total as a linear equation, the visible cells as known, and checks
(null space of the equations restricted to the hidden cells) that no hidden cell is determined by
any combination of totals; if one is, another cell is hidden and the audit repeats. Totals that do
not add up (regional person counts, where a person counted in two reporting regions makes regions
sum to more than national) are treated as if they held exactly: the attacker then knows at most what
the equations say, so protecting against the equations also protects against the weaker inequality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

DEFAULT_THRESHOLD = 5
TABLE_KEYS = ("indicator_id", "measure", "year")
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


@dataclass
class Equations:
    """Totals of one table: for each, the total cell and the cells that sum to it."""

    totals: list[int] = field(default_factory=list)
    parts: list[list[int]] = field(default_factory=list)

    def add(self, total: int, parts: Sequence[int]) -> None:
        if parts:
            self.totals.append(total)
            self.parts.append(list(parts))

    def matrix(self, n_cells: int) -> np.ndarray:
        """Signed incidence: +1 for the total, -1 for each part (so every row sums to 0 on the truth)."""
        m = np.zeros((len(self.totals), n_cells), dtype=np.float64)
        for i, (t, ps) in enumerate(zip(self.totals, self.parts, strict=True)):
            m[i, ps] = -1.0
            m[i, t] += 1.0
        return m


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
    """(exposed mask, for each exposed cell a certificate): the certificate y (one weight per total)
    combines the totals so that yᵀ·matrix is 1 at the cell, 0 at every other hidden cell; hiding a
    visible cell where yᵀ·matrix is non-zero breaks that way of recovering it."""
    out = np.zeros(hidden.shape, dtype=bool)
    certificates: dict[int, np.ndarray] = {}
    cols = np.flatnonzero(hidden)
    if cols.size == 0 or matrix.shape[0] == 0:
        return out, certificates
    rowsel = np.flatnonzero(np.abs(matrix[:, cols]).sum(axis=1) > 0)
    a = matrix[np.ix_(rowsel, cols)]
    for comp in _components(a) if a.shape[0] else []:
        rows = np.flatnonzero(np.abs(a[:, comp]).sum(axis=1) > 0)
        sub = a[np.ix_(rows, comp)]
        # the eigenvectors of AᵀA with non-zero eigenvalues span the row space of A; e_i lies in it
        # iff its projection onto them has length 1 (eigh of the Gram matrix is much cheaper than an
        # SVD; the entries are small integers, so squaring the condition number is harmless)
        w, v = np.linalg.eigh(sub.T @ sub)
        keep = w > tol * max(float(w.max()), 1.0)
        span, inv = v[:, keep], 1.0 / w[keep]
        determined = np.flatnonzero((span**2).sum(axis=1) > 1 - 1e-6)
        for k in determined:
            # y = A (AᵀA)⁺ e_k solves Aᵀy = e_k
            y = np.zeros(matrix.shape[0])
            y[rowsel[rows]] = sub @ (span @ (inv * span[k]))
            cell = int(cols[comp[k]])
            out[cell] = True
            certificates[cell] = y
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
    matrix = eq.matrix(n)
    incidence = (matrix != 0).astype(np.int32)
    cell_eqs: list[list[int]] = [[] for _ in range(n)]
    for e, row in enumerate(incidence):
        for c in np.flatnonzero(row):
            cell_eqs[c].append(e)
    rounds = 0
    while True:
        # greedy pass: no total may have exactly one hidden cell
        while True:
            lonely = np.flatnonzero(incidence @ hidden.astype(np.int32) == 1)
            # smallest totals first: a cell hidden in a small total usually settles the larger ones too
            lonely = sorted(lonely, key=lambda e: (len(eq.parts[e]), e))
            added = False
            for e in lonely:
                if int(incidence[e] @ hidden.astype(np.int32)) != 1:  # an earlier pick in this pass fixed it
                    continue
                pick = _pick_secondary(eq, [e], hidden, usable, size)
                if pick is not None:
                    hidden[pick] = True
                    added = True
            if not added:
                break
        mask, certificates = audit(matrix, hidden)
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
            weight = np.abs(certificates[int(c)] @ matrix)
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


def suppress_small_cells(
    values: pl.DataFrame,
    threshold: int = DEFAULT_THRESHOLD,
    geography: pl.DataFrame | None = None,
    table_keys: Sequence[str] = TABLE_KEYS,
) -> pl.DataFrame:
    """The rows of `values` with small and recoverable cells hidden; never drops a row.

    `values` has the columns of `marts.indicator_values` (at least the table keys, CELL_KEYS,
    numerator, denominator, value and unit). `geography` is `ref.geography` (for the nested totals).
    Returns the same rows in the same order, HIDDEN_COLUMNS set to null where hidden, and a column
    `suppressed`: 'primary', 'secondary' or null.
    """
    if threshold < 1:
        raise ValueError("threshold must be at least 1")
    nesting = geography_nesting(geography)
    df = values.with_row_index("_row")
    for c in HIDDEN_COLUMNS:
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.Float64).alias(c))
    marks: list[pl.DataFrame] = []
    for _, table in df.group_by(list(table_keys), maintain_order=True):
        table = table.sort(list(CELL_KEYS), nulls_last=True)
        eq = build_equations(table.select(CELL_KEYS).fill_null(""), nesting)
        primary, hidden = suppression_pattern(_count_matrix(table), eq, threshold)
        reason = np.where(primary, "primary", np.where(hidden, "secondary", None))
        marks.append(pl.DataFrame({"_row": table.get_column("_row"), "suppressed": pl.Series(reason.tolist(), dtype=pl.Utf8)}))
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
