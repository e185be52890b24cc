"""Support under the Social Services Act (`sociale_indsatser`) and highest education (`uddannelse`).

Belongs here: who receives §85/§99/§103/§104/§107/§108 support and when (recipients for `sindslidelse`
mostly have severe mental illness), and each person's education level on 1 October of a year (youth
education completed less often among psychiatric patients).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from pipeline.synth.population import day_of, pnr_series, year_bounds
from pipeline.synth.sampling import pick_by_uniform
from pipeline.synth.world import World

GROUP_WEIGHT = {"sindslidelse": [0.01, 1.0, 4.0, 12.0], "socialt_problem": [0.1, 1.0, 2.0, 4.0],
                "handicap": [1.0, 1.0, 1.0, 1.0]}
P6_SECTIONS = {"85", "107", "108"}
P6_GROUPS = {"sindslidelse", "socialt_problem"}
COMPLETION_AGE = {"gymnasial": 19, "erhvervsfaglig": 21, "kort_videregaaende": 23,
                  "mellemlang_videregaaende": 25, "lang_videregaaende": 27}


def sociale_indsatser(w: World) -> pl.DataFrame:
    """Spells of support from five years before the first year to data end; marks recipients in `w`."""
    rng = w.rng
    sp = w.params["social"]
    pop = w.pop
    t0, _ = year_bounds(min(w.years) - 5)
    _, t1 = year_bounds(max(w.years))
    span_years = (t1 - t0) / 365.25
    eligible = np.flatnonzero((pop.exit > t0) & (pop.birth < t1 - 18 * 365))
    frames = []
    for key, stock in sp["recipients"].items():  # ten (section, group) pairs, not persons
        par, grp = key.split(":")
        n = int(rng.poisson(float(stock) * w.scale * (span_years + sp["mean_years"]) / sp["mean_years"]))
        wts = np.asarray(GROUP_WEIGHT[grp])[pop.klass[eligible]]
        pid = rng.choice(eligible, size=n, p=wts / wts.sum()) if n else np.zeros(0, np.int64)
        start = rng.integers(t0 - int(sp["mean_years"] * 365), t1, n)
        start = np.maximum.reduce([start, pop.entry[pid].astype(np.int64), pop.birth[pid] + 18 * 366])
        end = start + (rng.exponential(sp["mean_years"] * 365.25, n)).astype(np.int64)
        ok = (start < np.minimum(pop.exit[pid], t1)) & (end >= t0)
        pid, start, end = pid[ok], start[ok], np.minimum(end[ok], pop.exit[pid[ok]].astype(np.int64))
        end = np.where(end >= t1, -1, end)
        frames.append(pl.DataFrame({"pid": pid, "paragraf": np.full(len(pid), par), "maalgruppe": grp,
                                    "start": start, "end": end}))
        if par in P6_SECTIONS and grp in P6_GROUPS:
            w.social[pid] = True
    # two spells of one person clipped to the same start are one spell
    d = pl.concat(frames).sort("start", "pid", "paragraf", "maalgruppe", "end").unique(
        ["pid", "paragraf", "maalgruppe", "start"], keep="first", maintain_order=True)
    return pl.DataFrame({"pnr": pnr_series(d["pid"].to_numpy())}).hstack(d.select(
        "paragraf", "maalgruppe", start_dato=pl.col("start").cast(pl.Int32).cast(pl.Date),
        slut_dato=pl.when(pl.col("end") >= 0).then(pl.col("end")).cast(pl.Int32).cast(pl.Date)))


def uddannelse(w: World, year: int) -> pl.DataFrame:
    """Highest completed education on 1 October of `year`, residents aged 15-69."""
    pop = w.pop
    ep = w.params["education"]
    oct1 = day_of(date(year, 10, 1))
    idx = np.flatnonzero(pop.present_on(oct1))
    age = ((oct1 - pop.birth[idx]) / 365.25).astype(np.int64)
    keep = (age >= 15) & (age <= 69)
    idx, age = idx[keep], age[keep]
    u = pop.u_person[idx]
    penalty = np.asarray(w.params["classes"]["edu_penalty"])[pop.klass[idx]]
    completes = u[:, 1] < ep["youth_completion"] * (1 - penalty)
    final = pick_by_uniform(u[:, 2], ep["levels"])
    base_age = np.select([final == lvl for lvl in COMPLETION_AGE], list(COMPLETION_AGE.values()), 19)
    done_age = base_age + (u[:, 3] * 3).astype(np.int64)
    tertiary = np.isin(final, ["kort_videregaaende", "mellemlang_videregaaende", "lang_videregaaende"])
    level = np.where(~completes, "grundskole",
                     np.where(age >= done_age, final,
                              np.where(tertiary & (age >= 19 + (u[:, 3] * 2).astype(np.int64)), "gymnasial",
                                       "grundskole")))
    unknown = pop.immigrant[idx] & (u[:, 3] < ep["unknown_share_immigrants"])
    level = np.where(unknown, "ukendt", level)
    return pl.DataFrame({"pnr": pnr_series(idx), "hfaudd_niveau": level.astype(str)})
