"""Surveys: the national health profile (`sundhedsprofil`, with weights and SF-12 MCS scores) and the
national patient experience survey in psychiatry (`lup_psykiatri`).

Belongs here: who answers, their weights, and their answers. The share with poor mental health (MCS
below the cut-off) is calibrated per survey year to the published figures for 16-24-year-olds and for
everyone 16+, with poorer scores among persons with mental illness.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from pipeline.synth.params import series
from pipeline.synth.population import age_years, day_of, pnr_series
from pipeline.synth.sampling import bernoulli_for_total, choose_codes
from pipeline.synth.world import World


def _solve_intercept(offset: np.ndarray, weight: np.ndarray, target: float, fixed: float = 0.0,
                     fixed_weight: float = 0.0) -> float:
    """Intercept a with sum(w * expit(a + offset)) + fixed = target * (sum(w) + fixed_weight)."""
    lo, hi = -15.0, 15.0
    total = weight.sum() + fixed_weight
    for _ in range(60):  # bisection on one scalar
        a = (lo + hi) / 2
        share = (np.sum(weight / (1 + np.exp(-(a + offset)))) + fixed) / total
        lo, hi = (a, hi) if share < target else (lo, a)
    return (lo + hi) / 2


def sundhedsprofil(w: World, year: int) -> pl.DataFrame:
    sp = w.params["survey"]
    rng = w.rng
    pop = w.pop
    day = day_of(date(year, 3, 1))
    idx = np.flatnonzero(pop.present_on(day))
    age = age_years(pop.birth[idx], np.full(len(idx), day))
    idx, age = idx[age >= 16], age[age >= 16]
    resp = sp["response_young"] + (sp["response_old"] - sp["response_young"]) * np.clip((age - 16) / 49, 0, 1)
    pick = bernoulli_for_total(rng, resp, sp["respondents"] * w.scale)
    c = pick.sum() / max(resp.sum(), 1e-9)
    p_incl = np.minimum(1.0, c * resp[pick]) if pick.any() else np.zeros(0)
    idx, age = idx[pick], age[pick]
    weight = np.round(1.0 / np.maximum(p_incl, 1e-9), 3)
    offset = np.asarray(w.params["classes"]["survey_poor_logit"], float)[pop.klass[idx]] + 0.2 * (pop.sex[idx] == 2)
    young = age <= 24
    t_young, t_all = series(sp["poor_16_24"], year), series(sp["poor_16_plus"], year)
    a_young = _solve_intercept(offset[young], weight[young], t_young)
    p = np.zeros(len(idx))
    p[young] = 1 / (1 + np.exp(-(a_young + offset[young])))
    a_old = _solve_intercept(offset[~young], weight[~young], t_all, fixed=float(np.sum(weight[young] * p[young])),
                             fixed_weight=float(weight[young].sum()))
    p[~young] = 1 / (1 + np.exp(-(a_old + offset[~young])))
    poor = rng.random(len(idx)) < p
    cut = sp["cutoff"]
    mcs = np.where(poor, np.maximum(cut - 0.01 - rng.gamma(2.0, 4.0, len(idx)), 3.0),
                   np.minimum(cut + 0.01 + rng.gamma(4.0, 4.5, len(idx)), 72.0))
    mcs = np.floor(mcs * 100) / 100  # two decimals, never rounded across the cut-off
    mcs_missing = rng.random(len(idx)) < sp["mcs_missing"]
    pnr_missing = rng.random(len(idx)) < sp["pnr_missing"]
    n = len(idx)
    return pl.DataFrame({
        "respondent_id": pl.Series(np.arange(1, n + 1)).cast(pl.String).str.zfill(6).str.replace(
            r"^", f"SP{year}-"),
        "pnr": pnr_series(idx),
        "alder": age.astype(np.int32), "koen": pop.sex[idx].astype(np.int32),
        "kom": pop.kom[idx].astype(np.int32),
        "mcs": pl.Series(np.where(mcs_missing, np.nan, mcs)).fill_nan(None),
        "vaegt": weight,
    }).with_columns(pnr=pl.when(pl.Series(pnr_missing, dtype=pl.Boolean)).then(None).otherwise("pnr"))


def lup_psykiatri(w: World, year: int) -> pl.DataFrame:
    lp = w.params["lup"]
    rng = w.rng
    n = w.count(lp["respondents"], year)
    group = choose_codes(rng, lp["target_groups"], n)
    region = choose_codes(rng, {str(k): v for k, v in w.params["population"]["region_share"].items()}, n).astype(
        np.int32)
    shift = lp["digital_shift"] if year >= lp["digital_from"] else 0.0
    region_eff = (region - 83) * 0.01

    def answers(table: dict) -> np.ndarray:
        base = np.select([group == g for g in table], list(table.values()), 0.8)
        good = rng.random(n) < base + shift + region_eff
        score = np.where(good, rng.choice([4, 5], size=n, p=[0.45, 0.55]),
                         rng.choice([1, 2, 3], size=n, p=[0.2, 0.3, 0.5]))
        return pl.Series(np.where(rng.random(n) < lp["dont_know"], -1, score)).replace(-1, None).cast(pl.Int32)

    return pl.DataFrame({
        "respondent_id": pl.Series(np.arange(1, n + 1)).cast(pl.String).str.replace(r"^", f"LUP{year}-"),
        "region": region, "maalgruppe": group.astype(str),
        "tilfredshed": answers(lp["satisfied"]), "inddragelse": answers(lp["involved"]),
    }, schema_overrides={"region": pl.Int32})
