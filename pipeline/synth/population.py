"""The synthetic population: persons, their latent psychiatric class, births, deaths, migration, moves.

Everything about who exists where and when belongs here (the `bef` status on 1 January, the exit of a
person by death or emigration, municipality changes). What happens to people in the health system is
in `lpr.py`, `coercion.py`, `dream.py`, `surveys.py` and `social.py`.

Internally a person is an integer index; dates are int days since 1970-01-01 and times int minutes
since 1970-01-01 (naive local wall-clock time). Person ids (`pnr`) are made only when writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.synth.params import series

GEOGRAPHY_CSV = Path(__file__).resolve().parent.parent / "reference" / "geography.csv"
NEVER = np.int32(2**31 - 1)  # exit day of a person still resident
EPOCH = date(1970, 1, 1)
_PNR_MULT = 7_919_393  # coprime to 10: (idx * mult + offset) mod 1e10 is a bijection -> opaque ids
_PNR_OFFSET = 1_234_567_891


def day_of(d: date) -> int:
    return (d - EPOCH).days


def year_bounds(year: int) -> tuple[int, int]:
    """First day of `year` and first day of the next year (int days)."""
    return day_of(date(year, 1, 1)), day_of(date(year + 1, 1, 1))


def pnr_series(idx: np.ndarray, name: str = "pnr") -> pl.Series:
    """Opaque 10-digit person ids for person indices (the same person -> the same id everywhere)."""
    code = (idx.astype(np.int64) * _PNR_MULT + _PNR_OFFSET) % 10_000_000_000
    return pl.Series(name, code).cast(pl.String).str.zfill(10)


def age_years(birth: np.ndarray, ref_day: int | np.ndarray) -> np.ndarray:
    """Completed years at `ref_day` (a birthday on 29 February counts from 1 March)."""
    b = birth.astype("datetime64[D]")
    r = np.asarray(ref_day).astype("datetime64[D]")
    by, ry = b.astype("datetime64[Y]"), r.astype("datetime64[Y]")
    bm, rm = b.astype("datetime64[M]"), r.astype("datetime64[M]")
    bkey = (bm - by).astype(int) * 100 + (b - bm).astype(int)
    rkey = (rm - ry).astype(int) * 100 + (r - rm).astype(int)
    return (ry.astype(int) - by.astype(int) - (rkey < bkey)).astype(np.int16)


@dataclass
class Geography:
    kom: np.ndarray  # municipality codes
    region: np.ndarray  # region code per municipality
    weight: np.ndarray  # share of the population per municipality

    @classmethod
    def load(cls, params: dict) -> Geography:
        geo = pl.read_csv(GEOGRAPHY_CSV, columns=["kom", "region_code"]).sort("kom")
        kom = geo["kom"].to_numpy().astype(np.int16)
        region = geo["region_code"].to_numpy().astype(np.int16)
        fixed = {int(k): float(v) for k, v in params["kom_share"].items()}
        weight = np.zeros(len(kom))
        for r, share in params["region_share"].items():
            in_r = region == int(r)
            fixed_r = {k: v for k, v in fixed.items() if k in set(kom[in_r].tolist())}
            rest = max(float(share) - sum(fixed_r.values()), 0.01 * float(share))
            free = in_r & ~np.isin(kom, list(fixed_r))
            weight[free] = rest / max(free.sum(), 1)
            for k, v in fixed_r.items():
                weight[kom == k] = v
        return cls(kom=kom, region=region, weight=weight / weight.sum())

    def region_of(self, kom: np.ndarray) -> np.ndarray:
        lookup = np.zeros(1000, dtype=np.int16)
        lookup[self.kom] = self.region
        return lookup[kom]

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.kom[rng.choice(len(self.kom), size=n, p=self.weight)]


@dataclass
class Population:
    """Column arrays of every person ever generated (grown by births and immigration)."""

    geo: Geography
    params: dict
    birth: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    sex: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    kom: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))  # on 1 January of the year
    entry: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # day of arrival
    exit: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # day of death/emigration
    died: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    klass: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # latent psychiatric class
    immigrant: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    u_person: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))  # fixed traits
    # moves within the current year: new municipality and the day it applies from
    move_kom: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    move_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    @property
    def n(self) -> int:
        return len(self.birth)

    def _append(self, rng: np.random.Generator, birth: np.ndarray, entry: np.ndarray, kom: np.ndarray,
                immigrant: bool) -> None:
        n = len(birth)
        cp = self.params_classes["prevalence"]
        self.birth = np.concatenate([self.birth, birth.astype(np.int32)])
        self.sex = np.concatenate([self.sex, rng.integers(1, 3, n).astype(np.int8)])
        self.kom = np.concatenate([self.kom, kom.astype(np.int16)])
        self.entry = np.concatenate([self.entry, entry.astype(np.int32)])
        self.exit = np.concatenate([self.exit, np.full(n, NEVER, np.int32)])
        self.died = np.concatenate([self.died, np.zeros(n, bool)])
        self.klass = np.concatenate([self.klass, rng.choice(4, size=n, p=cp).astype(np.int8)])
        self.immigrant = np.concatenate([self.immigrant, np.full(n, immigrant)])
        self.u_person = np.concatenate([self.u_person, rng.random((n, 4), dtype=np.float32)])
        self.move_kom = np.concatenate([self.move_kom, kom.astype(np.int16)])
        self.move_day = np.concatenate([self.move_day, np.full(n, NEVER, np.int32)])

    params_classes: dict = field(default_factory=dict)

    @classmethod
    def initial(cls, rng: np.random.Generator, params: dict, scale: float, first_year: int) -> Population:
        geo = Geography.load(params["population"])
        pop = cls(geo=geo, params=params["population"], params_classes=params["classes"])
        n0 = int(rng.poisson(series(params["population"]["start"], first_year) * scale))
        bands = np.asarray(params["population"]["age_bands_thousands"], float)
        band = rng.choice(len(bands), size=n0, p=bands / bands.sum())
        age_days = (band * 5 + rng.random(n0) * 5) * 365.25
        y0, _ = year_bounds(first_year)
        birth = (y0 - 1 - age_days).astype(np.int32)
        pop._append(rng, birth, np.full(n0, -(2**31) + 1, np.int32), geo.draw(rng, n0), immigrant=False)
        return pop

    def present_on(self, day: int) -> np.ndarray:
        return (self.entry <= day) & (self.exit > day)

    def present_in(self, year: int) -> np.ndarray:
        y0, y1 = year_bounds(year)
        return (self.entry < y1) & (self.exit > y0)

    def bef(self, year: int) -> pl.DataFrame:
        """Status on 1 January of `year` (before the year's events)."""
        y0, _ = year_bounds(year)
        idx = np.flatnonzero(self.present_on(y0))
        return pl.DataFrame({
            "pnr": pnr_series(idx),
            "koen": self.sex[idx].astype(np.int32),
            "foed_dag": pl.Series(self.birth[idx]).cast(pl.Date),
            "kom": self.kom[idx].astype(np.int32),
        })

    def kom_at(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Municipality of residence of persons `idx` on `day` within the current year."""
        return np.where(day >= self.move_day[idx], self.move_kom[idx], self.kom[idx])

    def region_of_pid(self, idx: np.ndarray) -> np.ndarray:
        """Region of residence on 1 January of the current year."""
        return self.geo.region_of(self.kom[idx])

    def region_at(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        return self.geo.region_of(self.kom_at(idx, day))

    # --- the year's demographic events -------------------------------------------------------------
    def emigrate_and_move(self, rng: np.random.Generator, year: int) -> None:
        """Decide this year's emigrations and moves (deaths are decided with the health events)."""
        p = self.params
        y0, y1 = year_bounds(year)
        present = np.flatnonzero(self.present_on(y0))
        age = (y0 - self.birth[present]) / 365.25
        rate = np.where((age >= 18) & (age <= 45), p["emigration_rate_18_45"], p["emigration_rate_18_45"] / 10)
        leave = present[rng.random(len(present)) < rate]
        self.exit[leave] = rng.integers(y0, y1, len(leave))
        movers = present[rng.random(len(present)) < p["move_rate"]]
        new_kom = self.geo.draw(rng, len(movers))
        same = rng.random(len(movers)) < p["move_same_region"]
        reg = self.geo.region_of(self.kom[movers])
        for r in np.unique(reg):  # a loop over the five regions, not over persons
            sel = same & (reg == r)
            in_r = self.geo.region == r
            w = self.geo.weight[in_r] / self.geo.weight[in_r].sum()
            new_kom[sel] = self.geo.kom[in_r][rng.choice(in_r.sum(), size=sel.sum(), p=w)]
        new_kom = np.where(new_kom == self.kom[movers], self.geo.draw(rng, len(movers)), new_kom)
        self.move_kom[:] = self.kom
        self.move_day[:] = NEVER
        self.move_kom[movers] = new_kom
        self.move_day[movers] = rng.integers(y0, y1, len(movers))

    def add_births_and_immigrants(self, rng: np.random.Generator, year: int, scale: float) -> None:
        p = self.params
        y0, y1 = year_bounds(year)
        n_res = int(self.present_on(y0).sum())
        n_birth = int(rng.poisson(n_res * p["births_per_1000"] / 1000))
        bday = rng.integers(y0, y1, n_birth)
        # a newborn lives where a randomly chosen resident lives (keeps the regional mix)
        present = np.flatnonzero(self.present_on(y0))
        kom_b = self.kom[rng.choice(present, size=n_birth)] if n_birth else np.zeros(0, np.int16)
        self._append(rng, bday, bday, kom_b, immigrant=False)
        n_imm = int(rng.poisson(series(p["immigrants"], year) * scale))
        arrive = rng.integers(y0, y1, n_imm)
        age_days = np.clip(rng.gamma(6.0, 5.0, n_imm), 0, 80) * 365.25
        self._append(rng, (arrive - age_days).astype(np.int32), arrive, self.geo.draw(rng, n_imm),
                     immigrant=True)

    def natural_deaths(self, rng: np.random.Generator, year: int, mortality_mult: np.ndarray) -> np.ndarray:
        """Persons dying of natural causes in `year`; sets their exit day. Returns their indices."""
        p = self.params
        y0, y1 = year_bounds(year)
        alive = np.flatnonzero(self.present_in(year) & ~self.died & (self.exit >= y1))
        age = np.maximum((y0 - self.birth[alive]) / 365.25, 0)
        q = np.exp(p["gompertz_a"] + p["gompertz_b"] * age)
        q = np.where(age < 1, p["infant_mortality"], q) * mortality_mult[self.klass[alive]]
        dead = alive[rng.random(len(alive)) < np.minimum(q, 0.6)]
        self.kill(rng, dead, year)
        return dead

    def kill(self, rng: np.random.Generator, idx: np.ndarray, year: int) -> None:
        y0, y1 = year_bounds(year)
        lo = np.maximum(self.entry[idx], y0)
        self.exit[idx] = lo + (rng.random(len(idx)) * (y1 - lo)).astype(np.int32)
        self.died[idx] = True

    def end_year(self) -> None:
        """Apply the year's moves: the municipality on 1 January of the next year."""
        self.kom[:] = self.move_kom
        self.move_day[:] = NEVER
