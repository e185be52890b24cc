"""Deaths (`dod`): natural deaths by age and latent class, suicides, and the cause of death.

Belongs here: who dies in a year and of what. Psychiatric patients die more often (class multipliers);
suicides (c_dodsaarsag DX60-DX84, about 600 a year nationally) concentrate among them.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.synth.population import pnr_series, year_bounds
from pipeline.synth.sampling import choose_codes, weighted_sample
from pipeline.synth.world import World

NATURAL_CAUSES = {"DI219": 8, "DC349": 7, "DJ449": 6, "DF019": 5, "DI639": 5, "DC189": 4, "DE149": 3, "DG309": 4,
                  "DC509": 3, "DC619": 3, "DI500": 4, "DJ189": 3, "DK703": 1, "DR99": 1, "DI251": 6, "DC259": 2}
SUICIDE_CAUSES = {"DX700": 0.45, "DX640": 0.15, "DX610": 0.1, "DX800": 0.08, "DX780": 0.07, "DX710": 0.08,
                  "DX740": 0.07}


def deaths_year(w: World, year: int) -> pl.DataFrame:
    """Decide the year's deaths (sets the persons' exit day); returns pid, doddato, cause."""
    rng = w.rng
    pop = w.pop
    mult = np.asarray(w.params["classes"]["mortality_mult"], float)
    natural = pop.natural_deaths(rng, year, mult)
    y0, y1 = year_bounds(year)
    alive = np.flatnonzero(pop.present_in(year) & ~pop.died & (pop.exit >= y1))
    age = (y0 - pop.birth[alive]) / 365.25
    weight = (np.asarray(w.params["classes"]["suicide_weight"], float)[pop.klass[alive]]
              * (age >= 12) * np.where(pop.sex[alive] == 1, 2.5, 1.0) * np.where(age > 75, 1.3, 1.0))
    suicides = alive[weighted_sample(rng, weight, w.count(w.params["mortality"]["suicides"], year))]
    pop.kill(rng, suicides, year)
    cause = np.concatenate([choose_codes(rng, NATURAL_CAUSES, len(natural)),
                            choose_codes(rng, SUICIDE_CAUSES, len(suicides))])
    alcohol = (pop.klass[natural] >= 2) & (rng.random(len(natural)) < 0.15)
    cause[: len(natural)][alcohol] = "DK703"
    pid = np.concatenate([natural, suicides])
    missing = rng.random(len(pid)) < w.params["mortality"]["cause_missing_share"]
    blank = missing & (np.arange(len(pid)) < len(natural))  # a cause can be missing, never for a suicide
    return pl.DataFrame({"pid": pid, "doddato": pop.exit[pid], "c_dodsaarsag": cause.astype(str)}).with_columns(
        c_dodsaarsag=pl.when(pl.Series(blank, dtype=pl.Boolean)).then(None).otherwise("c_dodsaarsag"))


def dod_table(frames: list[pl.DataFrame]) -> pl.DataFrame:
    d = pl.concat(frames).sort("doddato", "pid")
    return pl.DataFrame({"pnr": pnr_series(d["pid"].to_numpy())}).hstack(
        d.select(doddato=pl.col("doddato").cast(pl.Int32).cast(pl.Date), c_dodsaarsag="c_dodsaarsag"))
