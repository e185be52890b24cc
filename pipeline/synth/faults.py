"""Delivery faults for `--dirty` worlds, and the `_faults.json` manifest listing each one.

Belongs here: which file gets which fault, how the rows are broken, and the rule the ingestion must
report (the rule names of `schemas/registers.yaml`: `<column>:not_a_date`, `<end>:end_before_start`,
`<column>:not_in_codes`, `duplicate_row`, `<column>:missing`; whole-file faults end as load status
`schema_drift` or `unreadable`). Faults use their own random stream, so every file without a fault is
identical to the clean world of the same seed, and a faulty file differs only in the broken rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.synth.writers import file_format

BAD_DATES = ["2015-02-30", "31/12/2015", "ukendt", "20151301", "2016-13-01"]
LAST_LPR2_YEAR = 2018


@dataclass
class Fault:
    kind: str
    register: str
    year: int | None
    column: str | None
    rule: str
    expected: str  # 'quarantine' (rows carry the rule), 'schema_drift' or 'unreadable' (the file is stopped)


@dataclass
class FaultPlan:
    years: list[int]
    seed: int
    rates: dict
    faults: list[Fault] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng([self.seed, 7_777])
        ys = sorted(self.years)
        mid = ys[len(ys) // 2]
        other = ys[len(ys) // 2 - 1] if len(ys) > 1 else mid
        lpr2 = [y for y in ys if y <= LAST_LPR2_YEAR]
        lpr3 = [y for y in ys if y > LAST_LPR2_YEAR]
        csv_lpr2 = [y for y in lpr2 if file_format("lpr_adm", y).ext == "csv"]
        if csv_lpr2 or lpr2:
            y = (csv_lpr2 or lpr2)[0]
            self.faults.append(Fault("unparseable_date", "lpr_adm", y, "d_inddto", "d_inddto:not_a_date", "quarantine"))
        else:
            y = lpr3[0]
            self.faults.append(Fault("unparseable_date", "lpr_f_kontakter", y, "dato_start", "dato_start:not_a_date",
                                     "quarantine"))
        self.faults.append(Fault("end_before_start", "tvang", mid, "slut_dato", "slut_dato:end_before_start",
                                 "quarantine"))
        if other != mid:
            self.faults.append(Fault("duplicate_row", "tvang", other, None, "duplicate_row", "quarantine"))
        else:  # one year only: keep the two tvang faults apart
            reg = "lpr_diag" if mid <= LAST_LPR2_YEAR else "lpr_f_diagnoser"
            self.faults.append(Fault("duplicate_row", reg, mid, None, "duplicate_row", "quarantine"))
        self.faults.append(Fault("unknown_code", "bef", mid, "koen", "koen:not_in_codes", "quarantine"))
        if lpr3:
            y = lpr3[len(lpr3) // 2]
            self.faults.append(Fault("missing_id", "lpr_f_kontakter", y, "cpr", "cpr:missing", "quarantine"))
        else:
            self.faults.append(Fault("missing_id", "lpr_adm", lpr2[-1], "pnr", "pnr:missing", "quarantine"))
        self.faults.append(Fault("column_renamed", "uddannelse", mid, "hfaudd_niveau", "schema_drift", "schema_drift"))
        self.faults.append(Fault("truncated_file", "lup_psykiatri", ys[-1], None, "unreadable", "unreadable"))

    def _n_rows(self, kind: str, height: int) -> int:
        return int(min(height, max(1, round(self.rates[kind] * height))))

    def apply(self, register: str, year: int | None, df: pl.DataFrame, path: Path, root: Path) -> pl.DataFrame:
        """Break `df` as planned for this file (before writing); records each fault."""
        for f in (f for f in self.faults if f.register == register and f.year == year):
            df = self._apply_one(f, df, path, root)
        return df

    def _record(self, f: Fault, path: Path, root: Path, rows: int, source_rows: list[int] | None) -> None:
        self.records.append({
            "kind": f.kind, "register": f.register, "year": f.year, "file": path.relative_to(root).as_posix(),
            "column": f.column, "rows": rows, "rule": f.rule, "expected": f.expected,
            "source_rows": source_rows,
        })

    def _pick(self, f: Fault, candidates: np.ndarray) -> np.ndarray:
        k = self._n_rows(f.kind, len(candidates))
        return np.sort(self.rng.choice(candidates, size=k, replace=False)) if len(candidates) else candidates

    def _apply_one(self, f: Fault, df: pl.DataFrame, path: Path, root: Path) -> pl.DataFrame:
        n = df.height
        if f.kind == "unparseable_date":
            rows = self._pick(f, np.arange(n))
            bad = self.rng.choice(BAD_DATES, size=len(rows))
            text = df[f.column].cast(pl.String).scatter(rows, pl.Series(bad))
            df = df.with_columns(text.alias(f.column))
        elif f.kind == "end_before_start":
            rows = self._pick(f, np.flatnonzero(df["slut_dato"].is_not_null().to_numpy()))
            new_end = (df["start_dato"].gather(rows).cast(pl.Int32) - self.rng.integers(1, 30, len(rows))).cast(pl.Date)
            df = df.with_columns(df["slut_dato"].scatter(rows, new_end))
        elif f.kind == "unknown_code":
            rows = self._pick(f, np.arange(n))
            df = df.with_columns(df[f.column].scatter(rows, pl.Series(np.full(len(rows), 9), dtype=df[f.column].dtype)))
        elif f.kind == "missing_id":
            rows = self._pick(f, np.arange(n))
            df = df.with_columns(df[f.column].scatter(rows, None))
        elif f.kind == "duplicate_row":
            src = self._pick(f, np.arange(n))
            df = pl.concat([df, df[src]])
            rows = np.arange(n, n + len(src))
        elif f.kind == "column_renamed":
            df = df.rename({f.column: "hfaudd"})
            self._record(f, path, root, n, None)
            return df
        elif f.kind == "truncated_file":
            self._record(f, path, root, n, None)  # truncated after writing (see truncate_written)
            return df
        self._record(f, path, root, len(rows), [int(r) + 1 for r in rows])
        return df

    def after_write(self, register: str, year: int | None, path: Path) -> None:
        """Whole-file faults that act on the written bytes."""
        for f in self.faults:
            if f.register == register and f.year == year and f.kind == "truncated_file":
                data = path.read_bytes()
                keep = int(len(data) * self.rates["truncate_keep"])
                if path.suffix == ".csv":  # cut inside a row, as an interrupted copy does
                    keep = max(data.rfind(b"\n", 0, keep) + 1 + 3, 1)
                    keep = min(keep, len(data) - 1)
                path.write_bytes(data[:keep])
