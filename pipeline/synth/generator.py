"""`generate`: build a whole synthetic world year by year and write every register as it goes.

Belongs here: the order of the yearly steps (bef snapshot, emigration and moves, deaths, births and
immigration, hospital contacts, coercion, education, surveys), the one-file registers at the end
(dod, sociale_indsatser, dream), the manifests `_synthetic.json` and `_faults.json`, and the
progress bar. Memory stays bounded: each year's contacts are written and dropped before the next.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
from tqdm import tqdm

from pipeline.synth import coercion, dream, lpr, mortality, social, surveys
from pipeline.synth.faults import FaultPlan
from pipeline.synth.params import load_params
from pipeline.synth.population import Population
from pipeline.synth.world import World
from pipeline.synth.writers import YEARLY, file_format, file_path, write_frame

DEFAULT_YEARS = list(range(2010, 2026))
DEFAULT_SEED = 20250101


class Writer:
    """Writes register files under the raw root, applying planned faults, and counts what it wrote."""

    def __init__(self, root: Path, faults: FaultPlan | None) -> None:
        self.root = root
        self.faults = faults
        self.files: list[dict] = []
        self.rows: dict[str, int] = {}

    def write(self, register: str, year: int | None, df: pl.DataFrame) -> None:
        fmt = file_format(register, year)
        path = file_path(self.root, register, year, fmt)
        if self.faults is not None:
            df = self.faults.apply(register, year, df, path, self.root)
        write_frame(df, path, fmt)
        if self.faults is not None:
            self.faults.after_write(register, year, path)
        self.record(register, year, path, df.height, fmt.label)

    def record(self, register: str, year: int | None, path: Path, rows: int, fmt: str) -> None:
        self.files.append({"register": register, "year": year, "file": path.relative_to(self.root).as_posix(),
                           "format": fmt, "rows": rows})
        self.rows[register] = self.rows.get(register, 0) + rows


def _remove_previous_world(out: Path) -> None:
    """Delete register files a previous generation left (other years or formats must not mix in)."""
    for register in YEARLY:
        folder = out / register
        if folder.is_dir():
            for f in folder.iterdir():
                if f.suffix in (".parquet", ".csv") and (f.stem == register or f.stem.startswith(register + "_")):
                    f.unlink()
    for name in ("_synthetic.json", "_faults.json"):
        (out / name).unlink(missing_ok=True)


def generate(out_dir: Path, scale: float = 0.02, years: list[int] | None = None, seed: int = DEFAULT_SEED,
             dirty: bool = False, progress: bool = True) -> dict:
    """Write a synthetic world of every register under `out_dir`; return a summary.

    Deterministic for (scale, years, seed); `dirty` adds the delivery faults listed in `_faults.json`
    without changing anything else.
    """
    t_start = time.monotonic()
    years = sorted(set(years or DEFAULT_YEARS))
    if scale <= 0:
        raise ValueError("scale must be positive")
    params = load_params()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _remove_previous_world(out)
    rng = np.random.default_rng(seed)
    plan = FaultPlan(years=years, seed=seed, rates=params["faults"]) if dirty else None
    writer = Writer(out, plan)
    pop = Population.initial(rng, params, scale, years[0])
    w = World(rng=rng, params=params, scale=scale, years=years, pop=pop)
    survey_years = set(params["survey"]["years"])
    timings: dict[str, float] = {}
    with tqdm(total=len(years) + 3, desc="synth", unit="step", disable=not progress) as bar:
        for year in years:
            t0 = time.monotonic()
            bar.set_postfix_str(str(year))
            w.sync_person_arrays()
            writer.write("bef", year, pop.bef(year))
            pop.emigrate_and_move(rng, year)
            w.deaths.append(mortality.deaths_year(w, year))
            pop.add_births_and_immigrants(rng, year, scale)
            w.sync_person_arrays()
            y = lpr.generate_year(w, year)
            if year <= lpr.LAST_LPR2_YEAR:
                for name, df in lpr.to_lpr2(y).items():
                    writer.write(name, year, df)
                if year == lpr.LAST_LPR2_YEAR and year + 1 in years:
                    lpr.remember_lpr2_duplicates(w, y, year)
            else:
                for name, df in lpr.to_lpr3(w, y).items():
                    writer.write(name, year, df)
            writer.write("tvang", year, coercion.generate_year(w, year, y.admissions))
            writer.write("uddannelse", year, social.uddannelse(w, year))
            if year in survey_years:
                writer.write("sundhedsprofil", year, surveys.sundhedsprofil(w, year))
            writer.write("lup_psykiatri", year, surveys.lup_psykiatri(w, year))
            pop.end_year()
            del y
            timings[str(year)] = round(time.monotonic() - t0, 2)
            bar.update()
        writer.write("dod", None, mortality.dod_table(w.deaths))
        bar.update()
        writer.write("sociale_indsatser", None, social.sociale_indsatser(w))
        bar.update()
        t0 = time.monotonic()
        fmt = file_format("dream", None)
        path = file_path(out, "dream", None, fmt)
        path.parent.mkdir(parents=True, exist_ok=True)
        writer.record("dream", None, path, dream.write_dream(w, path), fmt.label)
        timings["dream"] = round(time.monotonic() - t0, 2)
        bar.update()
    manifest = {
        "synthetic": True,
        "generator": "pipeline.synth",
        "generator_version": params["generator_version"],
        "seed": seed,
        "scale": scale,
        "years": years,
        "dirty": dirty,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "persons": int(pop.n),
        "rows": writer.rows,
        "files": writer.files,
    }
    (out / "_synthetic.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    if plan is not None:
        (out / "_faults.json").write_text(json.dumps({"seed": seed, "faults": plan.records}, indent=2),
                                          encoding="utf-8")
    return {"out_dir": str(out), "files": writer.files, "rows": writer.rows, "persons": int(pop.n),
            "seconds": round(time.monotonic() - t_start, 2), "year_seconds": timings,
            "faults": plan.records if plan is not None else []}
