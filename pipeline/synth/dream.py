"""DREAM weekly public transfers (`dream`): one wide file, a column `y_YYWW` per ISO week.

Belongs here: the ISO week columns covering the years, which persons the extract carries (everyone
with psychiatric treatment, every recipient of social support, a background sample of other adults),
and their weekly benefit codes: spells of unemployment, cash assistance, sickness benefit, resource
courses, disability pension (absorbing), flexjob, student grant (SU) and early retirement. A
psychiatric admission often starts sickness benefit, so employment retention (P5) is about 47 %.
The weeks are simulated week by week, vectorised over chunks of persons, and written chunk by chunk.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.synth.population import day_of, pnr_series
from pipeline.synth.world import World

CODES = ["111", "130", "651", "652", "740", "890", "774", "781", "521", "412"]
CODE_INDEX = {c: i + 1 for i, c in enumerate(CODES)}  # 0 = empty week
SOCIAL_CODES = {"781": 0.45, "774": 0.2, "130": 0.25, "740": 0.1}
CHUNK = 100_000


def iso_weeks(years: list[int]) -> list[tuple[int, int, int]]:
    """(iso_year, iso_week, monday as int days) for every ISO week touching the years."""
    first = date(min(years), 1, 1)
    last = date(max(years), 12, 31)
    monday = first - timedelta(days=first.isoweekday() - 1)
    out = []
    while monday <= last:
        iy, iw, _ = monday.isocalendar()
        out.append((iy, iw, day_of(monday)))
        monday += timedelta(days=7)
    return out


def week_columns(years: list[int]) -> list[str]:
    return [f"y_{iy % 100:02d}{iw:02d}" for iy, iw, _ in iso_weeks(years)]


def dream_persons(w: World) -> np.ndarray:
    """Who the extract carries: psychiatric patients, support recipients, a sample of other adults."""
    pop = w.pop
    weeks = iso_weeks(w.years)
    t0, t1 = weeks[0][2], weeks[-1][2] + 7
    adult_sometime = (pop.birth < t1 - 16 * 365) & (pop.birth > t0 - 66 * 365) & (pop.exit > t0)
    sample = w.rng.random(pop.n) < w.params["dream"]["background_sample"]
    return np.flatnonzero(adult_sometime & ((w.last_treated >= 0) | w.social | sample))


def _simulate_chunk(w: World, pid: np.ndarray, mondays: np.ndarray, shocks: pl.DataFrame) -> np.ndarray:
    """Weekly code indices (n persons x n weeks, 0 = empty)."""
    dp = w.params["dream"]
    rng = w.rng
    pop = w.pop
    n, n_weeks = len(pid), len(mondays)
    mat = np.zeros((n, n_weeks), np.uint8)
    state = np.zeros(n, np.uint8)
    rem = np.zeros(n, np.int32)
    risk = np.asarray(w.params["classes"]["dream_risk"], float)[pop.klass[pid]]
    social = w.social[pid]
    hazard = dp["entry_weekly"] * risk * np.where(social, 12.0, 1.0)
    su_flag = rng.random(n) < dp["su_share_18_28"]
    efterloen_flag = rng.random(n) < dp["efterloen_share_60_64"]
    birth, entry, exit_ = pop.birth[pid], pop.entry[pid], pop.exit[pid]
    codes = list(dp["codes"])
    cw = np.asarray(list(dp["codes"].values()), float)
    code_idx = np.array([CODE_INDEX[c] for c in codes], np.uint8)
    soc_idx = np.array([CODE_INDEX[c] for c in SOCIAL_CODES], np.uint8)
    soc_w = np.asarray(list(SOCIAL_CODES.values()))
    mean = np.zeros(len(CODES) + 1)
    for c, m in dp["mean_weeks"].items():
        mean[CODE_INDEX[c]] = m
    mean[CODE_INDEX["652"]] = mean[CODE_INDEX["651"]]
    absorbing = CODE_INDEX["781"]
    # shocks: psychiatric admission starts, by week
    s_row = shocks["row"].to_numpy()
    s_week = shocks["week"].to_numpy()
    s_len = shocks["weeks_in"].to_numpy()
    order = np.argsort(s_week, kind="stable")
    s_row, s_week, s_len = s_row[order], s_week[order], s_len[order]
    bounds = np.searchsorted(s_week, np.arange(n_weeks + 1))
    for j in range(n_weeks):  # one vectorised step per week over all persons of the chunk
        day = mondays[j]
        age = (day - birth) / 365.25
        rem -= 1
        ended = (state > 0) & (rem <= 0) & (state != absorbing)
        state[ended] = 0
        state[age >= 66] = 0
        empty = state == 0
        u = rng.random(n)
        su = empty & su_flag & (age >= 18) & (age < 28) & (u < 0.025)
        el = empty & efterloen_flag & (age >= 60) & (age < 65) & (u < 0.02)
        enter = empty & ~su & ~el & (age >= 16) & (age < 66) & (u < hazard)
        if enter.any():
            k = int(enter.sum())
            picked = np.where(social[enter], soc_idx[rng.choice(len(soc_idx), size=k, p=soc_w)],
                              code_idx[rng.choice(len(code_idx), size=k, p=cw / cw.sum())])
            state[enter] = picked
            rem[enter] = rng.geometric(1.0 / np.maximum(mean[picked], 1))
        state[su] = np.where(rng.random(int(su.sum())) < 0.85, CODE_INDEX["651"], CODE_INDEX["652"])
        rem[su] = rng.geometric(1.0 / mean[CODE_INDEX["651"]], int(su.sum()))
        state[el] = CODE_INDEX["412"]
        rem[el] = rng.geometric(1.0 / mean[CODE_INDEX["412"]], int(el.sum()))
        lo, hi = bounds[j], bounds[j + 1]
        if hi > lo:  # admissions starting this week: sickness benefit (or disability pension) often follows
            rows = s_row[lo:hi]
            ok = (state[rows] == 0) & (age[rows] >= 18) & (age[rows] < 65)
            sel = ok & (rng.random(hi - lo) < dp["admission_shock"])
            hit = rows[sel]
            to_pension = rng.random(len(hit)) < dp["shock_pension"]
            state[hit] = np.where(to_pension, absorbing, CODE_INDEX["740"])
            rem[hit] = rng.geometric(1.0 / dp["shock_mean_weeks"], len(hit)) + s_len[lo:hi][sel]
        present = (entry <= day) & (exit_ > day)
        mat[:, j] = np.where(present, state, 0)
    return mat


def write_dream(w: World, path: Path) -> int:
    """Simulate and write the wide DREAM file; returns the number of rows written."""
    weeks = iso_weeks(w.years)
    mondays = np.array([m for _, _, m in weeks], np.int64)
    cols = week_columns(w.years)
    persons = dream_persons(w)
    adm = pl.concat(w.admissions) if w.admissions else pl.DataFrame(
        schema={"pid": pl.Int64, "start_day": pl.Int64, "end_day": pl.Int64})
    # a burn-in before the extract starts, so the first weeks already carry running spells
    burn_in = int(w.params["dream"]["burn_in_weeks"])
    sim_mondays = np.concatenate([mondays[0] - 7 * np.arange(burn_in, 0, -1), mondays])
    adm = adm.with_columns(week=((pl.col("start_day") - sim_mondays[0]) // 7),
                           weeks_in=((pl.col("end_day").fill_null(pl.col("start_day")) - pl.col("start_day")) // 7))
    dictionary = pa.array(CODES, pa.string())
    schema = pa.schema([("pnr", pa.string())] + [(c, pa.string()) for c in cols])
    rows = 0
    with pq.ParquetWriter(path, schema) as writer:
        for lo in range(0, max(len(persons), 1), CHUNK):
            pid = persons[lo: lo + CHUNK]
            pos = pl.DataFrame({"pid": pid, "row": np.arange(len(pid))})
            shocks = adm.join(pos, on="pid").filter(pl.col("week").is_between(0, len(sim_mondays) - 1))
            mat = _simulate_chunk(w, pid, sim_mondays, shocks)[:, burn_in:]
            nonempty = mat.any(axis=1)
            mat, pid = mat[nonempty], pid[nonempty]
            arrays = [pnr_series(pid).to_arrow().cast(pa.string())]
            for j in range(len(cols)):  # one Arrow column per ISO week
                idx = mat[:, j].astype(np.int8) - 1
                arr = pa.DictionaryArray.from_arrays(pa.array(np.maximum(idx, 0), pa.int8(), mask=idx < 0),
                                                     dictionary)
                arrays.append(arr.cast(pa.string()))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            rows += len(pid)
    return rows
