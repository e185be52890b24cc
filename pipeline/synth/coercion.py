"""The psychiatric coercion register (`tvang`): one year of measures, forms 1-5.

Belongs here: who is subjected to coercion (a minority of admitted persons, mostly with severe
illness), which measures they get, when (always within one of their psychiatric admissions), voluntary
belt fixations (`begrundelse = frivillig`) and the few somatic rows. Calibrated to the published
person counts (adults ~5,600-5,900, children ~300-360), forced admissions and belted persons.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.synth.population import pnr_series, year_bounds
from pipeline.synth.sampling import choose_codes, weighted_sample
from pipeline.synth.world import World

FORM2 = {"tvangsmedicinering": 0.9, "ect": 0.05, "ernaering": 0.03, "legemlig_lidelse": 0.02}
FORM3_OTHER = {"remme": 0.4, "handsker": 0.3, "stofbaelte": 0.3}
FORM4 = {"doeraflaasning": 0.2, "personlig_skaermning": 0.5, "alarm_pejlesystem": 0.1, "saerlige_doerlaase": 0.1,
         "arealbegraensning": 0.1}
FORM5 = {"udskrivningsaftale": 0.4, "koordinationsplan": 0.6}
REASONS_1 = {"helbredelse": 0.6, "farlighed": 0.4}
REASONS_3 = {"farlighed_for_andre": 0.5, "farlighed_for_sig_selv": 0.3, "uro": 0.2}
SCHEMA = {"pnr": pl.String, "skema": pl.Int32, "tvangstype": pl.String, "begrundelse": pl.String,
          "start_dato": pl.Date, "start_tid": pl.Time, "slut_dato": pl.Date, "slut_tid": pl.Time,
          "behandlingsomraade": pl.String, "region": pl.Int32}


def _measures(w: World, adm: pl.DataFrame, rows: np.ndarray, tvangstype: np.ndarray, skema: int,
              begrundelse: np.ndarray, duration: np.ndarray | None, at_start: bool, year: int) -> pl.DataFrame:
    """Measures on admissions `rows` of `adm`, started within the admission and within `year`."""
    _, y1 = year_bounds(year)
    a_start = adm["start"].to_numpy()[rows]
    a_end = adm["end"].to_numpy()[rows]
    # LPR2 keeps whole hours only: stay inside the admission as the register shows it
    shown_end = np.where(a_end >= 0, a_end // 60 * 60 - 1, 2**60)
    limit = np.maximum(np.minimum(shown_end, np.minimum(y1 * 1440 - 1, a_start + 14 * 1440)), a_start)
    offset = (w.rng.random(len(rows)) * np.maximum(limit - a_start, 1)).astype(np.int64)
    start = a_start + (w.rng.integers(0, 60, len(rows)) if at_start else offset)
    start = np.minimum(start, limit)
    end = None if duration is None else np.minimum(start + duration, np.where(a_end >= 0, a_end, 2**60))
    return pl.DataFrame({
        "pid": adm["pid"].to_numpy()[rows], "skema": np.full(len(rows), skema), "tvangstype": tvangstype,
        "begrundelse": begrundelse, "start": start,
        "end": pl.Series(end if end is not None else [None] * len(rows), dtype=pl.Int64),
        "omraade": np.full(len(rows), "psykiatri"), "region": adm["region"].to_numpy()[rows],
    }, schema_overrides={"skema": pl.Int32, "end": pl.Int64, "start": pl.Int64, "region": pl.Int32})


def generate_year(w: World, year: int, adm: pl.DataFrame) -> pl.DataFrame:
    """The `tvang` rows with start in `year`, from the year's psychiatric admissions."""
    rng = w.rng
    cp = w.params["coercion"]
    adm = adm.with_row_index("row")
    # one random admission per person carries most of the person's measures
    persons = adm.with_columns(r=pl.Series(rng.random(adm.height))).sort("r").unique("pid", keep="first").sort("pid")
    ppid = persons["pid"].to_numpy()
    weight = np.asarray(w.params["classes"]["coercion_weight"])[w.pop.klass[ppid]]
    reg = persons["region"].to_numpy()
    lookup = np.ones(100)
    for r, v in w.params["region"]["coercion"].items():
        lookup[int(r)] = float(v)
    weight = weight * lookup[reg]
    child = persons["child"].to_numpy()
    chosen_a = np.flatnonzero(~child)[weighted_sample(rng, weight[~child], w.count(cp["persons_adults"], year))]
    chosen_c = np.flatnonzero(child)[weighted_sample(rng, weight[child], w.count(cp["persons_children"], year))]
    coerced = np.concatenate([chosen_a, chosen_c])
    main = persons["row"].to_numpy()[coerced]  # their main admission (row in adm)
    n = len(coerced)
    parts = []
    # belts: the target number of belted persons, among the coerced with the highest weights
    belted = coerced[weighted_sample(rng, weight[coerced], w.count(cp["belted_persons"], year))]
    b_rows = np.repeat(persons["row"].to_numpy()[belted], 1 + rng.poisson(1.2, len(belted)))
    b_dur = (rng.lognormal(np.log(cp["belt_hours_median"] * 60), 0.9, len(b_rows))).astype(np.int64)
    parts.append(_measures(w, adm, b_rows, np.full(len(b_rows), "baelte"), 3,
                           choose_codes(rng, REASONS_3, len(b_rows)), b_dur, False, year))
    rand = rng.random((4, n))
    for i, (share, table, skema, dur) in enumerate((
        (cp["forced_medication_share"], FORM2, 2, None),
        (cp["physical_force_share"], {"fastholdelse": 1.0}, 3, (5, 40)),
        (cp["sedation_share"], {"beroligende_medicin": 1.0}, 3, None),
        (cp["other_restraint_share"], FORM3_OTHER, 3, (30, 600)),
    )):
        rows = main[rand[i] < share]
        d = None if dur is None else rng.integers(dur[0], dur[1], len(rows))
        reasons = choose_codes(rng, REASONS_1 if skema == 2 else REASONS_3, len(rows))
        parts.append(_measures(w, adm, rows, choose_codes(rng, table, len(rows)), skema, reasons, d, False, year))
    # forced admissions and detentions (form 1) on the coerced persons' admissions
    coerced_pids = persons["pid"].to_numpy()[coerced]
    their = adm.filter(pl.col("pid").is_in(coerced_pids.tolist()))
    n1 = w.count(cp["form1_measures"], year)
    if their.height and n1:
        # at most one form 1 measure per admission (two on one admission could be exact duplicates)
        pick = rng.choice(their.height, size=n1, replace=n1 > their.height)
        rows1 = their["row"].to_numpy()[np.sort(pick)]
        acute = adm["acute"].to_numpy()[rows1]
        kind = np.where(acute & (rng.random(n1) < 0.55), "tvangsindlaeggelse", "tvangstilbageholdelse")
        a_end = adm["end"].to_numpy()[rows1]
        a_start = adm["start"].to_numpy()[rows1]
        dur = np.where(a_end >= 0, (a_end - a_start) // 2, 3 * 1440)
        parts.append(_measures(w, adm, rows1[kind == "tvangsindlaeggelse"],
                               kind[kind == "tvangsindlaeggelse"], 1,
                               choose_codes(rng, REASONS_1, int((kind == "tvangsindlaeggelse").sum())),
                               dur[kind == "tvangsindlaeggelse"], True, year))
        td = kind == "tvangstilbageholdelse"
        parts.append(_measures(w, adm, rows1[td], kind[td], 1, choose_codes(rng, REASONS_1, int(td.sum())),
                               dur[td], False, year))
    done = pl.concat(parts)["pid"].unique() if parts else pl.Series([], dtype=pl.Int64)
    missing = coerced[~np.isin(coerced_pids, done.to_numpy())]
    rows = persons["row"].to_numpy()[missing]
    parts.append(_measures(w, adm, rows, np.full(len(rows), "fastholdelse"), 3,
                           choose_codes(rng, REASONS_3, len(rows)), rng.integers(5, 40, len(rows)), False, year))
    # forms 4 and 5: counted as measures, never make a person "subjected to coercion"
    aw = np.asarray(w.params["classes"]["coercion_weight"])[w.pop.klass[adm["pid"].to_numpy()]] + 0.1
    aw = aw / aw.sum() if adm.height else aw
    for per, table, skema, dur in ((cp["form4_per_coerced"], FORM4, 4, (60, 3 * 1440)),
                                   (cp["form5_per_coerced"], FORM5, 5, None)):
        k = int(rng.poisson(per * max(n, 1))) if adm.height else 0
        rows = rng.choice(adm.height, size=k, p=aw) if k else np.zeros(0, np.int64)
        d = None if dur is None else rng.integers(dur[0], dur[1], k)
        parts.append(_measures(w, adm, rows, choose_codes(rng, table, k), skema,
                               choose_codes(rng, REASONS_3, k), d, False, year))
    # voluntary belt fixations: not coercion
    k = min(w.count(cp["voluntary_belts"], year), adm.height)
    rows = rng.choice(adm.height, size=k, replace=False) if k else np.zeros(0, np.int64)
    parts.append(_measures(w, adm, rows, np.full(k, "baelte"), 3, np.full(k, "frivillig"),
                           rng.integers(60, 600, k), False, year))
    out = pl.concat(parts)
    out = pl.concat([out, _somatic_rows(w, year, w.count(cp["somatic_measures"], year))])
    # two belts on one short admission can fall on the same minute with the same end: the register
    # holds a measure once, so a clean world has no exact duplicate rows
    return _layout(out).unique(maintain_order=True)


def _somatic_rows(w: World, year: int, k: int) -> pl.DataFrame:
    """Coercion under the somatic rules (behandlingsomraade = somatik): adults anywhere."""
    y0, y1 = year_bounds(year)
    present = np.flatnonzero(w.pop.present_in(year) & ((y0 - w.pop.birth) > 18 * 365))
    pid = w.rng.choice(present, size=k) if k and len(present) else np.zeros(0, np.int64)
    start = w.rng.integers(y0 * 1440, y1 * 1440 - 1440, len(pid))
    skema = w.rng.choice([1, 2, 3], size=len(pid), p=[0.2, 0.5, 0.3])
    kind = np.where(skema == 1, "tvangstilbageholdelse", np.where(skema == 2, "legemlig_lidelse", "fastholdelse"))
    return pl.DataFrame({
        "pid": pid, "skema": skema, "tvangstype": kind, "begrundelse": np.full(len(pid), "helbredelse"),
        "start": start, "end": start + w.rng.integers(10, 600, len(pid)), "omraade": np.full(len(pid), "somatik"),
        "region": w.pop.region_of_pid(pid).astype(np.int32)},
        schema_overrides={"skema": pl.Int32, "start": pl.Int64, "end": pl.Int64, "region": pl.Int32})


def _layout(m: pl.DataFrame) -> pl.DataFrame:
    m = m.sort("start", "pid")
    return pl.DataFrame({"pnr": pnr_series(m["pid"].to_numpy())}).hstack(m.select(
        skema=pl.col("skema").cast(pl.Int32), tvangstype="tvangstype", begrundelse="begrundelse",
        start_dato=(pl.col("start") // 1440).cast(pl.Int32).cast(pl.Date),
        start_tid=((pl.col("start") % 1440) * 60_000_000_000).cast(pl.Time),
        slut_dato=(pl.col("end") // 1440).cast(pl.Int32).cast(pl.Date),
        slut_tid=((pl.col("end") % 1440) * 60_000_000_000).cast(pl.Time),
        behandlingsomraade="omraade", region=pl.col("region").cast(pl.Int32)))
