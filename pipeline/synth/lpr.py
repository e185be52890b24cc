"""The National Patient Register (LPR2 up to 2018, LPR3 from 2019): one year of hospital contacts.

Belongs here: who is in psychiatric treatment in a year, admission chains (readmissions, later
admissions, chains crossing the new year), outpatient, emergency, virtual, self-harm and somatic
contacts, diagnoses, markers (færdigbehandlet, udredning), LPR3 courses, and the conversion of the
internal contact table into the LPR2 (`lpr_adm`, `lpr_diag`, `lpr_markoer`) and LPR3
(`lpr_f_kontakter`, `lpr_f_diagnoser`, `lpr_f_forloebsmarkoerer`) register layouts.

Internal contact table (one row per contact; minutes since 1970 as naive wall-clock time):
cid, pid, start, end (null = open), psych, kind, acute, virtual, ref_day, course, kom, region, adiag,
adm_key (main contact id of the admission a contact belongs to, else null).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.synth.params import series
from pipeline.synth.population import NEVER, age_years, pnr_series, year_bounds
from pipeline.synth.sampling import bernoulli_for_total, choose_codes, pick_by_uniform, weighted_sample
from pipeline.synth.world import World

LAST_LPR2_YEAR = 2018
PSYCH_SPEC3 = {True: "børne- og ungdomspsykiatri", False: "psykiatri"}  # keyed by child
SOMATIC_SPECS = {"intern medicin": "01", "kirurgi": "08", "ortopædisk kirurgi": "15",
                 "akutmedicin": "36", "pædiatri": "22", "neurologi": "31"}
# primary psychiatric diagnosis by latent class (adults) and for children; a person keeps theirs
ADULT_DX = {
    3: {"DF200": 0.33, "DF209": 0.08, "DF250": 0.1, "DF311": 0.1, "DF603": 0.1, "DF102": 0.12, "DF322": 0.17},
    2: {"DF322": 0.2, "DF331": 0.15, "DF411": 0.1, "DF431": 0.15, "DF603": 0.1, "DF312": 0.1, "DF209": 0.05,
        "DF102": 0.15},
    1: {"DF321": 0.3, "DF411": 0.2, "DF432": 0.25, "DF419": 0.1, "DZ032": 0.15},
}
ADULT_DX[0] = ADULT_DX[1]
CHILD_DX = {"DF900": 0.3, "DF840": 0.15, "DF321": 0.15, "DF411": 0.1, "DF432": 0.1, "DF500": 0.1, "DF929": 0.1}
SECONDARY_PSYCH = {"DZ032": 0.3, "DZ630": 0.2, "DF101": 0.2, "DF121": 0.1, "DZ915": 0.2}
SOMATIC_DX = {"DI109": 1, "DJ189": 1, "DK359": 1, "DS525": 1, "DM545": 1, "DR074": 1, "DE119": 1,
              "DN390": 1, "DI209": 1, "DC509": 0.5, "DZ038": 1, "DR109": 1, "DJ449": 1}
SELF_HARM_ADIAG = {"DT424": 0.3, "DT430": 0.15, "DT391": 0.2, "DS619": 0.15, "DS510": 0.1, "DT510": 0.1}
SELF_HARM_DX = {"DX600": 0.15, "DX610": 0.2, "DX620": 0.1, "DX640": 0.15, "DX650": 0.05, "DX700": 0.05,
                "DX780": 0.2, "DX800": 0.05, "DX840": 0.05}

CONTACT_SCHEMA = {
    "cid": pl.Int64, "pid": pl.Int64, "start": pl.Int64, "end": pl.Int64, "psych": pl.Boolean,
    "kind": pl.String, "acute": pl.Boolean, "virtual": pl.Boolean, "ref_day": pl.Int32,
    "course": pl.Int64, "kom": pl.Int16, "region": pl.Int16, "adiag": pl.String, "adm_key": pl.Int64,
    "spec": pl.String, "child": pl.Boolean,
}


@dataclass
class YearLPR:
    contacts: pl.DataFrame
    diagnoses: pl.DataFrame  # cid, code, dtype
    markers: pl.DataFrame  # cid, course, markoer, minute
    admissions: pl.DataFrame  # adm_key, pid, course, start, end, acute, region, child


def _frame(**cols) -> pl.DataFrame:
    n = len(next(iter(cols.values())))
    data = {}
    for name, dtype in CONTACT_SCHEMA.items():
        v = cols.get(name)
        data[name] = pl.Series(name, [None] * n if v is None else v).cast(dtype) if n else pl.Series(
            name, [], dtype)
    return pl.DataFrame(data)


def exit_minute(w: World, pid: np.ndarray) -> np.ndarray:
    e = w.pop.exit[pid].astype(np.int64)
    return np.where(e == NEVER, np.int64(2**60), e * 1440 + 480 + (pid % 720))


def _hospital_region(w: World, pid: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Usually the region of residence, sometimes another one."""
    reg = w.pop.region_at(pid, day)
    other = w.rng.random(len(pid)) < 0.05
    return np.where(other, w.rng.integers(81, 86, len(pid)), reg).astype(np.int16)


def _psych_diag(w: World, pid: np.ndarray, child: np.ndarray) -> np.ndarray:
    u = w.pop.u_person[pid, 0]
    k = w.pop.klass[pid]
    out = np.empty(len(pid), dtype=object)
    out[:] = pick_by_uniform(u, CHILD_DX) if len(pid) else []
    for c in range(4):  # four latent classes, not a per-row loop
        sel = (k == c) & ~child
        out[sel] = pick_by_uniform(u[sel], ADULT_DX[c])
    switch = w.rng.random(len(pid)) < 0.2  # an occasional other diagnosis on a contact
    alt = np.where(child, choose_codes(w.rng, CHILD_DX, len(pid)), choose_codes(w.rng, ADULT_DX[2], len(pid)))
    return np.where(switch, alt, out).astype(str)


def _uniform_days(w: World, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo + (w.rng.random(len(lo)) * np.maximum(hi - lo, 1)).astype(np.int64)


def _presence(w: World, pid: np.ndarray, year: int) -> tuple[np.ndarray, np.ndarray]:
    y0, y1 = year_bounds(year)
    lo = np.maximum(w.pop.entry[pid].astype(np.int64), y0)
    hi = np.minimum(w.pop.exit[pid].astype(np.int64), y1)
    return lo, np.maximum(hi, lo + 1)


def select_treated(w: World, year: int) -> tuple[np.ndarray, np.ndarray]:
    """Persons in psychiatric treatment this year (excluding pending admissions) and all present."""
    p = w.params
    present = np.flatnonzero(w.pop.present_in(year))
    y0, _ = year_bounds(year)
    age = (y0 + 182 - w.pop.birth[present]) / 365.25
    age_f = np.select([age < 4, age < 13, age < 18, age < 30, age < 50, age < 65],
                      [0.0, 0.5, 1.3, 1.5, 1.1, 0.8], 0.45)
    reg_f = _region_mult(w, p["region"]["treatment"], w.pop.region_of_pid(present))
    weight = np.asarray(p["classes"]["treatment_weight"])[w.pop.klass[present]] * age_f * reg_f
    target = w.rng.poisson(series(p["psychiatry"]["persons_treated"], year) * w.scale)
    treated = present[bernoulli_for_total(w.rng, weight, target)]
    return treated, present


def _region_mult(w: World, table: dict, region: np.ndarray) -> np.ndarray:
    lookup = np.ones(100)
    for r, v in table.items():
        lookup[int(r)] = float(v)
    return lookup[region]


def _run_chains(w: World, year: int, pid: np.ndarray, start: np.ndarray, acute: np.ndarray) -> tuple[
        pl.DataFrame, pl.DataFrame]:
    """Admissions of chains running in `year`; returns (admissions, pending for the next year)."""
    pp = w.params["psychiatry"]
    cls = w.params["classes"]
    _, y1 = year_bounds(year)
    m1, horizon = y1 * 1440, w.data_end_minute
    rows, pend = [], []
    while len(pid):
        k = w.pop.klass[pid]
        child = age_years(w.pop.birth[pid], start // 1440) < pp["child_age"]
        median = np.asarray(cls["los_median_days"], float)[k]
        los_days = np.minimum(w.rng.lognormal(np.log(median), pp["los_sigma"]), pp["los_max_days"])
        short = w.rng.random(len(pid)) < pp["short_stay_share"]
        los = np.where(short, w.rng.integers(120, 660, len(pid)), (los_days * 1440).astype(np.int64) + 720)
        ex = exit_minute(w, pid)
        end = np.minimum(start + los, ex)
        rows.append(pl.DataFrame({"pid": pid, "start": start, "end": end, "acute": acute, "child": child}))
        r = np.where(child, series(pp["readmission_children"], year), series(pp["readmission_adults"], year))
        r = r * np.asarray(cls["readmission_mult"])[k] * _region_mult(
            w, w.params["region"]["readmission"], w.pop.region_of_pid(pid))
        u = w.rng.random(len(pid))
        readm = u < r
        later = ~readm & (u < r + pp["later_admission"])
        gap = np.where(readm, w.rng.integers(60, 720 * 60, len(pid)),
                       720 * 60 + (w.rng.exponential(pp["later_gap_days"], len(pid)) * 1440).astype(np.int64))
        nstart = end + gap
        go = (readm | later) & (nstart < ex) & (end < horizon)
        nacute = readm | (w.rng.random(len(pid)) < pp["later_acute"])
        carry = go & (nstart >= m1) & (nstart < horizon)
        pend.append(pl.DataFrame({"pid": pid[carry], "start": nstart[carry], "acute": nacute[carry]}))
        nxt = go & (nstart < m1)
        pid, start, acute = pid[nxt], nstart[nxt], nacute[nxt]
    adm = pl.concat(rows) if rows else pl.DataFrame(schema={"pid": pl.Int64, "start": pl.Int64, "end": pl.Int64,
                                                            "acute": pl.Boolean, "child": pl.Boolean})
    pending = pl.concat(pend) if pend else None
    return adm, pending


def _admission_contacts(w: World, year: int, adm: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Contacts of the year's admissions (ER before, transfer splits), ready markers, admission rows."""
    pp = w.params["psychiatry"]
    y0, y1 = year_bounds(year)
    m0, m1, horizon = y0 * 1440, y1 * 1440, w.data_end_minute
    n = adm.height
    pid = adm["pid"].to_numpy()
    start = adm["start"].to_numpy()
    end = adm["end"].to_numpy()
    acute = adm["acute"].to_numpy()
    child = adm["child"].to_numpy()
    key = w.contact_ids(n)
    day = start // 1440
    region = _hospital_region(w, pid, day)
    kom = w.pop.kom_at(pid, day)
    has_course = (w.course[pid] >= 0) & ~acute
    course = np.where(has_course, w.course[pid], w.course_ids(n))
    diag = _psych_diag(w, pid, child)
    is_open = end >= horizon
    los = end - start
    split = (~is_open) & (los > 2 * 1440) & (w.rng.random(n) < pp["transfer_split"])
    split_at = start + (los * w.rng.uniform(0.2, 0.8, n)).astype(np.int64)
    split &= split_at < m1
    first_end = np.where(split, split_at, end)
    main = _frame(cid=key, pid=pid, start=start, end=first_end, psych=np.ones(n, bool), kind=np.full(n, "adm"), acute=acute,
                  virtual=np.zeros(n, bool), course=course, kom=kom, region=region, adiag=diag, adm_key=key,
                  child=child)
    s = np.flatnonzero(split)
    s_start = split_at[s] + w.rng.integers(0, 60, len(s))
    second = _frame(cid=w.contact_ids(len(s)), pid=pid[s], start=s_start, end=end[s], psych=np.ones(len(s), bool),
                    kind=np.full(len(s), "adm"), acute=np.zeros(len(s), bool), virtual=np.zeros(len(s), bool),
                    course=course[s], kom=kom[s], region=region[s], adiag=diag[s], adm_key=key[s], child=child[s])
    e = np.flatnonzero(acute & (w.rng.random(n) < pp["er_before_admission"]))
    e_start = start[e] - w.rng.integers(60, 300, len(e))
    e_end = start[e] - w.rng.integers(0, 45, len(e))
    ok = e_start >= m0
    e, e_start, e_end = e[ok], e_start[ok], e_end[ok]
    er = _frame(cid=w.contact_ids(len(e)), pid=pid[e], start=e_start, end=e_end, psych=np.ones(len(e), bool),
                kind=np.full(len(e), "er"), acute=np.ones(len(e), bool), virtual=np.zeros(len(e), bool),
                course=course[e], kom=kom[e], region=region[e], adiag=diag[e], adm_key=key[e], child=child[e])
    # færdigbehandlet: marker date from the stay's start date to its end date; days = end - marker date
    end_day = end // 1440
    span = end_day - day
    ready = (~is_open) & (los >= 12 * 60) & (span >= 1) & (w.rng.random(n) < series(pp["ready_share"], year))
    mean_days = series(pp["ready_mean_days"], year)
    days = np.minimum(w.rng.geometric(1.0 / (mean_days + 1), n) - 1, span)
    last_cid = key.copy()
    last_cid[s] = second["cid"].to_numpy()
    r = np.flatnonzero(ready)
    markers = pl.DataFrame({
        "cid": last_cid[r], "course": course[r], "markoer": np.full(len(r), "MFB01"),
        "minute": (end_day[r] - days[r]) * 1440 + w.rng.integers(8 * 60, 16 * 60, len(r)),
    })
    admissions = pl.DataFrame({"adm_key": key, "pid": pid, "course": course, "start": start,
                               "end": np.where(is_open, -1, end), "acute": acute, "region": region,
                               "child": child, "kom": kom})
    return pl.concat([main, second, er]), markers, admissions


def _outpatient(w: World, year: int, treated: np.ndarray, admitted: np.ndarray) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Planned outpatient contacts, referrals of new patients, LPR3 courses and udredning markers."""
    pp = w.params["psychiatry"]
    rng = w.rng
    persons = np.union1d(treated, admitted)
    k = w.pop.klass[persons]
    n_out = rng.poisson(np.asarray(w.params["classes"]["outpatient_mean"], float)[k]) + ~np.isin(persons, admitted)
    pid = np.repeat(persons, n_out)
    lo, hi = _presence(w, pid, year)
    day = _uniform_days(w, lo, hi)
    start = day * 1440 + rng.integers(8 * 60, 15 * 60, len(pid))
    end = start + rng.integers(30, 90, len(pid))
    child = age_years(w.pop.birth[pid], day) < pp["child_age"]
    if year == min(w.years):  # no history before the first year: some patients are already known
        new_p = rng.random(len(persons)) < 0.4
    else:
        new_p = w.last_treated[persons] < year - 1
    new_course = new_p | (w.course[persons] < 0)
    w.course[persons[new_course]] = w.course_ids(int(new_course.sum()))
    course = w.course[pid]
    is_new = np.repeat(new_p, n_out)
    df = pl.DataFrame({"pid": pid, "start": start, "end": end, "is_new": is_new, "child": child,
                       "course": course, "day": day})
    df = df.with_columns(first=(pl.col("start") == pl.col("start").min().over("pid")) & pl.col("is_new"))
    first = df.filter("first").sort("pid")
    fd = first["day"].to_numpy()
    mean = np.where(first["child"].to_numpy(), series(pp["wait_mean_children"], year),
                    series(pp["wait_mean_adults"], year))
    wait = np.round(rng.gamma(pp["wait_shape"], mean / pp["wait_shape"])).astype(np.int64)
    ref = pl.DataFrame({"pid": first["pid"], "ref_day": (fd - wait).astype(np.int32)})
    df = df.join(ref, on="pid", how="left").with_columns(
        ref_day=pl.when(pl.col("is_new")).then(pl.col("ref_day")))
    n = df.height
    pidn = df["pid"].to_numpy()
    virtual = (year > LAST_LPR2_YEAR) & ~df["first"].to_numpy() & (rng.random(n) < series(pp["virtual_share"], year))
    contacts = _frame(
        cid=w.contact_ids(n), pid=pidn, start=df["start"].to_numpy(), end=df["end"].to_numpy(),
        psych=np.ones(n, bool), kind=np.full(n, "out"), acute=np.zeros(n, bool), virtual=virtual,
        ref_day=df["ref_day"], course=df["course"].to_numpy(), kom=w.pop.kom_at(pidn, df["day"].to_numpy()),
        region=_hospital_region(w, pidn, df["day"].to_numpy()), adiag=_psych_diag(w, pidn, df["child"].to_numpy()),
        child=df["child"].to_numpy())
    # udredning: the assessment of a new referral ends at most 30 days after it, or later
    markers = pl.DataFrame(schema={"cid": pl.Int64, "course": pl.Int64, "markoer": pl.String, "minute": pl.Int64})
    if year >= pp["udredning_from"] and first.height:
        firsts = contacts.filter(pl.col("start") == pl.col("start").min().over("pid")).join(
            ref, on="pid").filter(pl.col("ref_day").is_not_null()).unique("pid", keep="first").sort("pid")
        m = firsts.height
        rd = firsts["ref_day"].to_numpy().astype(np.int64)
        fdays = firsts["start"].to_numpy() // 1440
        wait = fdays - rd
        marked = rng.random(m) < pp["udredning_marked"]
        met = (wait <= 30) & (rng.random(m) < series(pp["udredning_met"], year))
        lo_met = np.maximum(wait, 0)
        days = np.where(met, lo_met + (rng.random(m) * (31 - lo_met)).astype(np.int64),
                        np.maximum(31, wait) + rng.integers(0, 90, m))
        sel = np.flatnonzero(marked)
        ua = pl.DataFrame({"cid": firsts["cid"].to_numpy()[sel], "course": firsts["course"].to_numpy()[sel],
                           "markoer": np.full(len(sel), "MUA01"),
                           "minute": (rd[sel] + days[sel]) * 1440 + rng.integers(8 * 60, 16 * 60, len(sel))})
        late = np.flatnonzero(marked & ~met & (rng.random(m) < pp["udredning_justified"]))
        uf = pl.DataFrame({"cid": firsts["cid"].to_numpy()[late], "course": firsts["course"].to_numpy()[late],
                           "markoer": choose_codes(rng, {"MUF01": 0.5, "MUF02": 0.3, "MUF03": 0.2}, len(late)),
                           "minute": (rd[late] + rng.integers(20, 31, len(late))) * 1440 + 600})
        markers = pl.concat([markers, ua, uf])
    return contacts, markers


def _short_contacts(w: World, pid: np.ndarray, year: int, kind: str, psych: bool, hours: tuple[int, int],
                    adiag: np.ndarray, acute: np.ndarray, spec: np.ndarray | None = None) -> pl.DataFrame:
    lo, hi = _presence(w, pid, year)
    day = _uniform_days(w, lo, hi)
    start = day * 1440 + w.rng.integers(0, 1440, len(pid))
    los = w.rng.integers(hours[0] * 60, hours[1] * 60, len(pid))
    child = age_years(w.pop.birth[pid], day) < w.params["psychiatry"]["child_age"]
    n = len(pid)
    return _frame(cid=w.contact_ids(n), pid=pid, start=start, end=start + los, psych=np.full(n, psych),
                  kind=np.full(n, kind), acute=acute, virtual=np.zeros(n, bool), course=w.course_ids(n),
                  kom=w.pop.kom_at(pid, day), region=_hospital_region(w, pid, day), adiag=adiag, spec=spec,
                  child=child)


def _somatic(w: World, year: int, present: np.ndarray, adm: pl.DataFrame) -> pl.DataFrame:
    """Background somatic contacts, and acute somatic admissions after psychiatric discharge."""
    sp = w.params["somatic"]
    rng = w.rng
    y0, y1 = year_bounds(year)
    age = np.maximum((y0 - w.pop.birth[present]) / 365.25, 0)
    psych = (w.last_treated[present] >= 0) | (w.pop.klass[present] >= 2)
    lam = sp["contacts_per_person"] * (0.5 + age / 50) * np.where(psych, sp["psych_mult"], 1.0)
    pid = np.repeat(present, rng.poisson(lam))
    n = len(pid)
    kinds = choose_codes(rng, sp["kinds"], n)
    lo, hi = _presence(w, pid, year)
    day = _uniform_days(w, lo, hi)
    is_out, is_er = kinds == "outpatient", kinds == "emergency"
    start = day * 1440 + np.where(is_out, rng.integers(8 * 60, 15 * 60, n), rng.integers(0, 1440, n))
    los = np.select([is_out, is_er], [rng.integers(20, 120, n), rng.integers(60, 300, n)],
                    (np.maximum(rng.lognormal(np.log(48), 0.9, n), 12.5) * 60).astype(np.int64))
    acute = np.where(is_out, False, np.where(is_er, True, rng.random(n) < 0.7))
    child = age_years(w.pop.birth[pid], day) < 15
    spec = np.where(child, "pædiatri", choose_codes(rng, {s: 1.0 for s in SOMATIC_SPECS if s != "pædiatri"}, n))
    spec = np.where(is_er, "akutmedicin", spec)
    end = np.minimum(start + los, exit_minute(w, pid))
    background = _frame(cid=w.contact_ids(n), pid=pid, start=start, end=end, psych=np.zeros(n, bool),
                        kind=np.where(is_out, "som_out", np.where(is_er, "som_er", "som_adm")), acute=acute,
                        virtual=np.zeros(n, bool), course=w.course_ids(n), kom=w.pop.kom_at(pid, day),
                        region=_hospital_region(w, pid, day), adiag=choose_codes(rng, SOMATIC_DX, n), spec=spec,
                        child=child)
    # acute somatic admissions within 30 days of a psychiatric discharge (I1)
    closed = adm.filter(pl.col("end") >= 0)
    hit = closed.filter(pl.Series(rng.random(closed.height) < sp["after_discharge_acute"]))
    m = hit.height
    hp = hit["pid"].to_numpy()
    hs = hit["end"].to_numpy() + rng.integers(120, 720 * 60, m)
    keep = (hs < exit_minute(w, hp)) & (hs < w.data_end_minute)
    hp, hs = hp[keep], hs[keep]
    m = len(hp)
    hd = hs // 1440
    he = np.minimum(hs + rng.integers(13 * 60, 5 * 1440, m), exit_minute(w, hp))
    after = _frame(cid=w.contact_ids(m), pid=hp, start=hs, end=he, psych=np.zeros(m, bool),
                   kind=np.full(m, "som_adm"), acute=np.ones(m, bool), virtual=np.zeros(m, bool),
                   course=w.course_ids(m), kom=w.pop.kom_at(hp, np.minimum(hd, y1 - 1)),
                   region=_hospital_region(w, hp, np.minimum(hd, y1 - 1)), adiag=choose_codes(rng, SOMATIC_DX, m),
                   spec=choose_codes(rng, {"intern medicin": 2, "akutmedicin": 1, "kirurgi": 1}, m),
                   child=np.zeros(m, bool))
    out = pl.concat([background, after])
    if w.carry is not None:
        out = pl.concat([w.carry, out])
    w.carry = out.filter(pl.col("start") >= y1 * 1440)
    return out.filter(pl.col("start") < y1 * 1440)


def generate_year(w: World, year: int, present: np.ndarray | None = None) -> YearLPR:
    """Every LPR contact starting in `year` (plus pending admissions of chains crossing the new year)."""
    p = w.params
    pp = p["psychiatry"]
    rng = w.rng
    y0, y1 = year_bounds(year)
    treated, present = select_treated(w, year)
    # chains: pending admissions from last year, then new chains among treated persons
    if w.pending is not None and w.pending.height:
        pend = w.pending.filter(pl.col("start") < pl.Series(exit_minute(w, w.pending["pid"].to_numpy())))
    else:
        pend = pl.DataFrame(schema={"pid": pl.Int64, "start": pl.Int64, "acute": pl.Boolean})
    later = pend.filter(pl.col("start") >= y1 * 1440)  # a long gap can skip a whole year
    pend = pend.filter(pl.col("start") < y1 * 1440)
    cand = np.setdiff1d(treated, pend["pid"].to_numpy())
    aw = np.asarray(p["classes"]["admission_weight"])[w.pop.klass[cand]]
    aw = aw * np.where(age_years(w.pop.birth[cand], np.full(len(cand), y0 + 182)) < pp["child_age"], 0.35, 1.0)
    boost = pp["first_year_boost"] if year == min(w.years) else 1.0
    starters = cand[weighted_sample(rng, aw, w.count(pp["chains_started"], year) * boost)]
    lo, hi = _presence(w, starters, year)
    s_start = _uniform_days(w, lo, hi) * 1440 + rng.integers(0, 1440, len(starters))
    ok = s_start < exit_minute(w, starters)
    starters, s_start = starters[ok], s_start[ok]
    pid0 = np.concatenate([pend["pid"].to_numpy(), starters]).astype(np.int64)
    start0 = np.concatenate([pend["start"].to_numpy(), s_start]).astype(np.int64)
    acute0 = np.concatenate([pend["acute"].to_numpy(), rng.random(len(starters)) < pp["first_acute"]])
    adm_raw, pending = _run_chains(w, year, pid0, start0, acute0)
    w.pending = pl.concat([p for p in (later, pending) if p is not None and p.height] or [later])
    adm_contacts, ready_markers, admissions = _admission_contacts(w, year, adm_raw)
    admitted = np.unique(adm_raw["pid"].to_numpy())
    out_contacts, udr_markers = _outpatient(w, year, treated, admitted)
    # psychiatric emergency contacts without admission
    n_er = int(rng.poisson(pp["er_visits_per_treated"] * len(treated)))
    er_pid = treated[weighted_sample(rng, np.asarray(p["classes"]["coercion_weight"])[w.pop.klass[treated]] + 0.2,
                                     n_er)] if n_er else np.zeros(0, np.int64)
    er_child = age_years(w.pop.birth[er_pid], np.full(len(er_pid), y0 + 182)) < pp["child_age"]
    er = _short_contacts(w, er_pid, year, "er", True, (1, 7), _psych_diag(w, er_pid, er_child),
                         np.ones(len(er_pid), bool))
    # self-harm (suicide attempts): somatic emergency contacts with a DX60-DX84 secondary diagnosis
    age_p = (y0 - w.pop.birth[present]) / 365.25
    sw = np.asarray(p["classes"]["suicide_weight"], float)[w.pop.klass[present]] * (age_p >= 10)
    sh_pid = present[weighted_sample(rng, sw, w.count(p["mortality"]["self_harm_contacts"], year))]
    sh = _short_contacts(w, sh_pid, year, "self_harm", False, (2, 20), choose_codes(rng, SELF_HARM_ADIAG, len(sh_pid)),
                         np.ones(len(sh_pid), bool), spec=np.full(len(sh_pid), "akutmedicin"))
    somatic = _somatic(w, year, present, admissions)
    psych_all = pl.concat([adm_contacts, out_contacts, er]).with_columns(
        spec=pl.when("child").then(pl.lit(PSYCH_SPEC3[True])).otherwise(pl.lit(PSYCH_SPEC3[False])))
    contacts = pl.concat([psych_all, sh, somatic]).filter(pl.col("start") < y1 * 1440)
    contacts = contacts.with_columns(
        end=pl.when(pl.col("end") >= w.data_end_minute).then(None).otherwise(pl.col("end")))
    diagnoses = _diagnoses(w, contacts)
    markers = pl.concat([ready_markers, udr_markers])
    # state for the next year
    persons = np.union1d(treated, admitted)
    w.last_treated[persons] = year
    untreated = np.setdiff1d(np.flatnonzero(w.course >= 0), persons)
    w.course[untreated] = -1
    w.admissions.append(admissions.select(
        "pid", start_day=pl.col("start") // 1440,
        end_day=pl.when(pl.col("end") >= 0).then(pl.col("end") // 1440)))
    return YearLPR(contacts=contacts, diagnoses=diagnoses, markers=markers, admissions=admissions)


def _diagnoses(w: World, contacts: pl.DataFrame) -> pl.DataFrame:
    """Action diagnosis (type A) of every contact plus secondary diagnoses (type B)."""
    rng = w.rng
    n = contacts.height
    cid = contacts["cid"].to_numpy()
    psych = contacts["psych"].to_numpy()
    self_harm = (contacts["kind"] == "self_harm").to_numpy()
    a = pl.DataFrame({"cid": cid, "code": contacts["adiag"], "dtype": np.full(n, "A")})
    has_b = rng.random(n) < np.where(psych, 0.35, 0.3)
    b_code = np.where(psych, choose_codes(rng, SECONDARY_PSYCH, n), choose_codes(rng, SOMATIC_DX, n))
    b = pl.DataFrame({"cid": cid[has_b], "code": b_code[has_b], "dtype": np.full(int(has_b.sum()), "B")})
    sh = pl.DataFrame({"cid": cid[self_harm], "code": choose_codes(rng, SELF_HARM_DX, int(self_harm.sum())),
                       "dtype": np.full(int(self_harm.sum()), "B")})
    return pl.concat([a, b, sh]).sort("cid", maintain_order=True)


# --- register layouts --------------------------------------------------------------------------------
def _date(col: str) -> pl.Expr:
    return (pl.col(col) // 1440).cast(pl.Int32).cast(pl.Date)


def _time(col: str) -> pl.Expr:
    return ((pl.col(col) % 1440) * 60_000_000_000).cast(pl.Time)


def _hospital_cols(contacts: pl.DataFrame) -> pl.DataFrame:
    hosp = pl.when(pl.col("psych")).then(10 + pl.col("pid") % 3).otherwise(20 + pl.col("cid") % 5)
    afd = pl.when(pl.col("psych")).then(500 + pl.col("pid") % 4).otherwise(100 + pl.col("cid") % 40)
    return contacts.with_columns(
        _sgh=(pl.col("region").cast(pl.Int64) * 100 + hosp).cast(pl.String),
        _afd=afd.cast(pl.String).str.zfill(3),
        _sor=(pl.col("region").cast(pl.Int64) * 10_000_000_000_000 + hosp * 100_000_000 + afd * 10_000 + 1)
        .cast(pl.String),
    )


def to_lpr2(y: YearLPR) -> dict[str, pl.DataFrame]:
    c = _hospital_cols(y.contacts)
    pnr = pnr_series(c["pid"].to_numpy())
    spec2 = (pl.when(pl.col("psych") & pl.col("child")).then(pl.lit("52"))
             .when(pl.col("psych")).then(pl.lit("50"))
             .otherwise(pl.col("spec").replace_strict(SOMATIC_SPECS, default="01")))
    pattype = (pl.when(pl.col("kind").is_in(["adm", "som_adm"])).then(pl.lit("0"))
               .when(pl.col("kind").is_in(["er", "som_er", "self_harm"])).then(pl.lit("3")).otherwise(pl.lit("2")))
    adm = c.with_columns(pnr=pnr).select(
        recnum=pl.col("cid").cast(pl.String), pnr="pnr", c_sgh="_sgh", c_afd="_afd", c_spec=spec2,
        c_pattype=pattype, c_indm=pl.when("acute").then(pl.lit("1")).otherwise(pl.lit("2")),
        d_hendto=pl.col("ref_day").cast(pl.Date), d_inddto=_date("start"),
        v_indtime=((pl.col("start") % 1440) // 60).cast(pl.Int32), d_uddto=_date("end"),
        v_udtime=((pl.col("end") % 1440) // 60).cast(pl.Int32), c_adiag="adiag", c_kom=pl.col("kom").cast(pl.Int32))
    diag = y.diagnoses.select(recnum=pl.col("cid").cast(pl.String), c_diag="code", c_diagtype="dtype")
    mark = y.markers.select(recnum=pl.col("cid").cast(pl.String), markoer="markoer", d_markoer=_date("minute"))
    return {"lpr_adm": adm, "lpr_diag": diag, "lpr_markoer": mark}


def to_lpr3(w: World, y: YearLPR) -> dict[str, pl.DataFrame]:
    c = _hospital_cols(y.contacts)
    kont = _lpr3_contacts(c, "LPR3")
    diag = y.diagnoses.select(
        dw_ek_kontakt=pl.col("cid").cast(pl.String), diagnosekode="code", diagnosetype="dtype",
        senere_afkraeftet=pl.lit("Nej"))
    n = diag.height
    disproved = (diag["diagnosetype"] == "B").to_numpy() & (w.rng.random(n) < 0.03)
    diag = diag.with_columns(senere_afkraeftet=pl.Series(np.where(disproved, "Ja", "Nej")))
    mark = y.markers.select(
        dw_ek_forloeb=pl.col("course").cast(pl.String), markoer="markoer", dato_markoer=_date("minute"),
        tidspunkt_markoer=_time("minute"))
    if w.last_lpr2 is not None:  # the first LPR3 delivery repeats some LPR2 contacts, marked LPR2
        kont = pl.concat([kont, w.last_lpr2["kontakter"]])
        diag = pl.concat([diag, w.last_lpr2["diagnoser"]])
        w.last_lpr2 = None
    return {"lpr_f_kontakter": kont, "lpr_f_diagnoser": diag, "lpr_f_forloebsmarkoerer": mark}


def _lpr3_contacts(c: pl.DataFrame, system: str) -> pl.DataFrame:
    pnr = pnr_series(c["pid"].to_numpy(), "cpr")
    return c.with_columns(cpr=pnr).select(
        dw_ek_kontakt=pl.col("cid").cast(pl.String), dw_ek_forloeb=pl.col("course").cast(pl.String), cpr="cpr",
        dato_start=_date("start"), tidspunkt_start=_time("start"), dato_slut=_date("end"),
        tidspunkt_slut=_time("end"), dato_henvisning=pl.col("ref_day").cast(pl.Date),
        kontakttype=pl.when("virtual").then(pl.lit("ALCA03")).otherwise(pl.lit("ALCA00")),
        prioritet=pl.when("acute").then(pl.lit("ATA1")).otherwise(pl.lit("ATA3")),
        hovedspeciale_ans="spec", sorenhed_ans="_sor", region_ans=pl.col("region").cast(pl.Int32),
        aktionsdiagnose="adiag", lprindberetningssystem=pl.lit(system), kom=pl.col("kom").cast(pl.Int32))


def remember_lpr2_duplicates(w: World, y: YearLPR, year: int) -> None:
    """Keep the LPR2 contacts the first LPR3 delivery repeats: those open at the switch and a sample."""
    pp = w.params["psychiatry"]
    switch = year_bounds(LAST_LPR2_YEAR + 1)[0] * 1440
    c = y.contacts
    across = (c["end"].is_null() | (c["end"] >= switch)).to_numpy()
    pick = across | (w.rng.random(c.height) < pp["lpr2_duplicates_share"])
    dup = c.filter(pl.Series(pick))
    new_ids = w.contact_ids(dup.height)
    old = dup["cid"]
    dup = dup.with_columns(cid=pl.Series(new_ids), course=pl.Series(w.course_ids(dup.height)))
    kont = _lpr3_contacts(_hospital_cols(dup), "LPR2")
    id_map = pl.DataFrame({"cid": old, "new": new_ids})
    diag = y.diagnoses.join(id_map, on="cid").select(
        dw_ek_kontakt=pl.col("new").cast(pl.String), diagnosekode="code", diagnosetype="dtype",
        senere_afkraeftet=pl.lit("Nej"))
    w.last_lpr2 = {"kontakter": kont, "diagnoser": diag}
