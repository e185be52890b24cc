"""The generator's running state shared by the register modules: random stream, parameters, the
population, per-person treatment history and id counters. No register logic belongs here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipeline.synth.population import Population, year_bounds


@dataclass
class World:
    rng: np.random.Generator
    params: dict
    scale: float
    years: list[int]
    pop: Population
    # per person: last year with psychiatric treatment (-1 never), current LPR3 course (-1 none)
    last_treated: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))
    course: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    social: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    next_contact: int = 10_000_000_001
    next_course: int = 50_000_000_001
    # psychiatric admissions still to come next year (chains crossing the new year)
    pending: pl.DataFrame | None = None
    # somatic contacts generated in one year that start in the next
    carry: pl.DataFrame | None = None
    # every psychiatric admission so far (for DREAM): pid, start_day, end_day
    admissions: list[pl.DataFrame] = field(default_factory=list)
    deaths: list[pl.DataFrame] = field(default_factory=list)
    # LPR2 contacts of the latest LPR2 year, for the LPR2-marked duplicates in the first LPR3 file
    last_lpr2: dict[str, pl.DataFrame] | None = None

    @property
    def data_end_minute(self) -> int:
        """First minute after data end (31 December of the last year)."""
        return year_bounds(max(self.years))[1] * 1440

    def sync_person_arrays(self) -> None:
        """Extend the per-person state arrays to the population size (after births/immigration)."""
        grow = self.pop.n - len(self.last_treated)
        if grow > 0:
            self.last_treated = np.concatenate([self.last_treated, np.full(grow, -1, np.int16)])
            self.course = np.concatenate([self.course, np.full(grow, -1, np.int64)])
            self.social = np.concatenate([self.social, np.zeros(grow, bool)])

    def contact_ids(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_contact, self.next_contact + n, dtype=np.int64)
        self.next_contact += n
        return ids

    def course_ids(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_course, self.next_course + n, dtype=np.int64)
        self.next_course += n
        return ids

    def count(self, spec, year: int) -> int:
        """A Poisson draw around a national yearly count times the scale (right on average at any scale)."""
        from pipeline.synth.params import series

        return int(self.rng.poisson(max(series(spec, year) * self.scale, 0.0)))
