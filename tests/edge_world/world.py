"""The edge-case world: a small, hand-written raw extract folder whose person ids say what must happen.

What belongs here: the literal rows of every register (one block per named person, with a comment
saying why the person exists and what the indicators must do with them), a few deterministic "noise"
persons whose contribution to the asserted values is zero or counted by hand in the test, and
`write_world(raw_dir)`, which writes the rows as a raw folder following REGISTER_FORMATS.md (one folder
per register, `<register>_<YYYY>.<ext>` for yearly registers) in a deliberate mix of formats (CSV with
`;` and with `,`, Latin-1 CSV, Parquet, one upper-cased header).

The expected results live in `tests/test_edge_world.py`, written by hand from INDICATORS.md. Years
2016-2021: LPR2 files 2016-2018, LPR3 files 2019-2021, so data end is 2021-12-31 and data end - 30
days is 2021-12-01.

Year plan (to keep the nationally asserted values hand-countable, each family has a home year):
- 2016: psychiatric contacts only of the N8 cohort (and one P5 case), so N8 2017 is countable;
- 2017: P5 main cases, P3 main cases, the P4 standard-population admissions;
- 2018: LPR2 cases (P4 switch, N1, N3, N4); N7 contacts 2018-2021;
- 2019: N1 main cases (LPR3);
- 2020: P4, I1, I2, N2, P2, N4, P6, N5/N6 main cases;
- 2021: P4 data-end cases, N3 main cases, N7, P5 ISO-week-53 and extract-end cases.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

YEARS = range(2016, 2022)
LPR2_YEARS = range(2016, 2019)
LPR3_YEARS = range(2019, 2022)

# Column name -> contract type, per register (REGISTER_FORMATS.md). Times stay strings ("HH:MM").
COLUMNS: dict[str, dict[str, str]] = {
    "bef": {"pnr": "str", "koen": "int", "foed_dag": "date", "kom": "int"},
    "dod": {"pnr": "str", "doddato": "date", "c_dodsaarsag": "str"},
    "lpr_adm": {
        "recnum": "str", "pnr": "str", "c_sgh": "str", "c_afd": "str", "c_spec": "str", "c_pattype": "str",
        "c_indm": "str", "d_hendto": "date", "d_inddto": "date", "v_indtime": "int", "d_uddto": "date",
        "v_udtime": "int", "c_adiag": "str", "c_kom": "int",
    },
    "lpr_diag": {"recnum": "str", "c_diag": "str", "c_diagtype": "str"},
    "lpr_markoer": {"recnum": "str", "markoer": "str", "d_markoer": "date"},
    "lpr_f_kontakter": {
        "dw_ek_kontakt": "str", "dw_ek_forloeb": "str", "cpr": "str", "dato_start": "date",
        "tidspunkt_start": "str", "dato_slut": "date", "tidspunkt_slut": "str", "dato_henvisning": "date",
        "kontakttype": "str", "prioritet": "str", "hovedspeciale_ans": "str", "sorenhed_ans": "str",
        "region_ans": "int", "aktionsdiagnose": "str", "lprindberetningssystem": "str", "kom": "int",
    },
    "lpr_f_diagnoser": {"dw_ek_kontakt": "str", "diagnosekode": "str", "diagnosetype": "str", "senere_afkraeftet": "str"},
    "lpr_f_forloebsmarkoerer": {"dw_ek_forloeb": "str", "markoer": "str", "dato_markoer": "date", "tidspunkt_markoer": "str"},
    "tvang": {
        "pnr": "str", "skema": "int", "tvangstype": "str", "begrundelse": "str", "start_dato": "date",
        "start_tid": "str", "slut_dato": "date", "slut_tid": "str", "behandlingsomraade": "str", "region": "int",
    },
    "sundhedsprofil": {
        "respondent_id": "str", "pnr": "str", "alder": "int", "koen": "int", "kom": "int", "mcs": "float", "vaegt": "float",
    },
    "sociale_indsatser": {"pnr": "str", "paragraf": "str", "maalgruppe": "str", "start_dato": "date", "slut_dato": "date"},
    "uddannelse": {"pnr": "str", "hfaudd_niveau": "str"},
    "lup_psykiatri": {
        "respondent_id": "str", "region": "int", "maalgruppe": "str", "tilfredshed": "int", "inddragelse": "int",
    },
}

# Every ISO week of ISO years 2016-2021 (2020 has 53 weeks): the DREAM extract's columns.
DREAM_WEEKS = [
    f"y_{y % 100:02d}{w:02d}" for y in YEARS for w in range(1, date(y, 12, 28).isocalendar()[1] + 1)
]

# File format per register and year: "csv;" / "csv," (UTF-8), "latin1;" (Latin-1 CSV with ';'),
# "parquet"; "+upper" upper-cases the header as SAS exports do. One-file registers use key None.
FORMATS: dict[str, dict[int | None, str]] = {
    "bef": {2016: "csv;", 2017: "parquet", 2018: "csv,", 2019: "latin1;", 2020: "parquet", 2021: "csv,"},
    "dod": {None: "csv,"},
    "lpr_adm": {2016: "parquet", 2017: "csv;+upper", 2018: "csv,"},
    "lpr_diag": {2016: "csv,", 2017: "parquet", 2018: "csv;"},
    "lpr_markoer": {2016: "csv;", 2017: "csv,", 2018: "parquet"},
    "lpr_f_kontakter": {2019: "latin1;", 2020: "parquet", 2021: "csv,"},
    "lpr_f_diagnoser": {2019: "parquet", 2020: "csv;", 2021: "csv,"},
    "lpr_f_forloebsmarkoerer": {2019: "csv,", 2020: "parquet", 2021: "csv;"},
    "tvang": {2016: "csv;", 2017: "csv,", 2018: "parquet", 2019: "parquet", 2020: "latin1;", 2021: "csv,"},
    "dream": {None: "parquet"},
    "sundhedsprofil": {2017: "csv;", 2021: "parquet"},
    "sociale_indsatser": {None: "latin1;"},
    "uddannelse": {2016: "csv,", 2017: "csv;", 2018: "parquet", 2019: "csv,", 2020: "parquet", 2021: "csv;"},
    "lup_psykiatri": {2016: "csv;", 2017: "csv,", 2018: "parquet", 2019: "csv;", 2020: "latin1;", 2021: "parquet"},
}


def _d(s: str | None) -> date | None:
    return date.fromisoformat(s) if s else None


@dataclass
class World:
    """Rows per (register, file year); file year None for one-file registers."""

    rows: dict[tuple[str, int | None], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    kom_of: dict[str, int] = field(default_factory=dict)
    dream_rows: dict[str, dict[str, str]] = field(default_factory=dict)
    _seq: int = 0

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    # --- population and deaths -------------------------------------------------------------
    def person(self, pnr: str, koen: int, born: str, kom: int = 101, bef_years: range | tuple = YEARS) -> None:
        """`bef` rows (status on 1 January) for each year in bef_years."""
        self.kom_of[pnr] = kom
        for y in bef_years:
            self.rows[("bef", y)].append({"pnr": pnr, "koen": koen, "foed_dag": _d(born), "kom": kom})

    def death(self, pnr: str, doddato: str, cause: str = "DI219") -> None:
        self.rows[("dod", None)].append({"pnr": pnr, "doddato": _d(doddato), "c_dodsaarsag": cause})

    # --- LPR2 ------------------------------------------------------------------------------
    def lpr2(
        self, pnr: str, start: str, end: str | None, *, spec: str = "50", indm: str = "1", pattype: str = "0",
        hendto: str | None = None, adiag: str = "DF322", kom: int | None = None,
        diags: tuple[tuple[str, str], ...] = (), markers: tuple[tuple[str, str], ...] = (),
    ) -> str:
        """One `lpr_adm` row; start/end as 'YYYY-MM-DD HH' ('YYYY-MM-DD' alone leaves the hour empty)."""
        recnum = f"R{self._next():05d}"
        s_day, _, s_hour = start.partition(" ")
        e_day, _, e_hour = (end or "").partition(" ")
        year = int(s_day[:4])
        self.rows[("lpr_adm", year)].append({
            "recnum": recnum, "pnr": pnr, "c_sgh": "1301" if spec in ("50", "52") else "1330",
            "c_afd": "A10" if spec in ("50", "52") else "B20", "c_spec": spec, "c_pattype": pattype,
            "c_indm": indm, "d_hendto": _d(hendto), "d_inddto": _d(s_day),
            "v_indtime": int(s_hour) if s_hour else None, "d_uddto": _d(e_day or None),
            "v_udtime": int(e_hour) if e_hour else None, "c_adiag": adiag,
            "c_kom": kom if kom is not None else self.kom_of.get(pnr, 101),
        })
        self.rows[("lpr_diag", year)].append({"recnum": recnum, "c_diag": adiag, "c_diagtype": "A"})
        for code, dtype in diags:
            self.rows[("lpr_diag", year)].append({"recnum": recnum, "c_diag": code, "c_diagtype": dtype})
        for code, day in markers:
            self.rows[("lpr_markoer", year)].append({"recnum": recnum, "markoer": code, "d_markoer": _d(day)})
        return recnum

    # --- LPR3 ------------------------------------------------------------------------------
    def lpr3(
        self, cpr: str, course: str, start: str, end: str | None, *, spec: str = "psykiatri", prio: str = "ATA1",
        ktype: str = "ALCA00", henv: str | None = None, adiag: str = "DF322", region: int = 84,
        kom: int | None = None, no_kom: bool = False, system: str = "LPR3", file_year: int | None = None,
        diags: tuple[tuple[str, str, str], ...] = (),
    ) -> str:
        """One `lpr_f_kontakter` row; start/end as 'YYYY-MM-DD HH:MM'; course is local to the person."""
        kid = f"K{self._next():05d}"
        s_day, _, s_time = start.partition(" ")
        e_day, _, e_time = (end or "").partition(" ")
        year = file_year or int(s_day[:4])
        self.rows[("lpr_f_kontakter", year)].append({
            "dw_ek_kontakt": kid, "dw_ek_forloeb": f"F-{cpr}-{course}", "cpr": cpr, "dato_start": _d(s_day),
            "tidspunkt_start": s_time or None, "dato_slut": _d(e_day or None), "tidspunkt_slut": e_time or None,
            "dato_henvisning": _d(henv), "kontakttype": ktype, "prioritet": prio, "hovedspeciale_ans": spec,
            "sorenhed_ans": "6620011" if "psykiatri" in spec else "6630022", "region_ans": region,
            "aktionsdiagnose": adiag, "lprindberetningssystem": system,
            "kom": None if no_kom else kom if kom is not None else self.kom_of.get(cpr, 101),
        })
        for code, dtype, afkr in diags:
            self.rows[("lpr_f_diagnoser", year)].append(
                {"dw_ek_kontakt": kid, "diagnosekode": code, "diagnosetype": dtype, "senere_afkraeftet": afkr}
            )
        return kid

    def marker3(self, cpr: str, course: str, code: str, day: str, time: str = "12:00") -> None:
        self.rows[("lpr_f_forloebsmarkoerer", int(day[:4]))].append(
            {"dw_ek_forloeb": f"F-{cpr}-{course}", "markoer": code, "dato_markoer": _d(day), "tidspunkt_markoer": time}
        )

    # --- other registers -------------------------------------------------------------------
    def tvang(
        self, pnr: str, skema: int, tvangstype: str, start: str, *, begrundelse: str = "fare",
        omraade: str = "psykiatri", region: int = 84, end: str | None = None,
    ) -> None:
        """One measure; start/end as 'YYYY-MM-DD HH:MM'."""
        s_day, _, s_time = start.partition(" ")
        e_day, _, e_time = (end or "").partition(" ")
        self.rows[("tvang", int(s_day[:4]))].append({
            "pnr": pnr, "skema": skema, "tvangstype": tvangstype, "begrundelse": begrundelse,
            "start_dato": _d(s_day), "start_tid": s_time, "slut_dato": _d(e_day or None),
            "slut_tid": e_time or None, "behandlingsomraade": omraade, "region": region,
        })

    def dream(self, pnr: str, weeks: dict[str, str]) -> None:
        """Non-empty DREAM weeks of a person, e.g. {'y_1738': '740'}; the person gets a row."""
        unknown = set(weeks) - set(DREAM_WEEKS)
        assert not unknown, unknown
        self.dream_rows.setdefault(pnr, {}).update(weeks)

    def social(self, pnr: str, paragraf: str, maalgruppe: str, start: str, end: str | None = None) -> None:
        self.rows[("sociale_indsatser", None)].append(
            {"pnr": pnr, "paragraf": paragraf, "maalgruppe": maalgruppe, "start_dato": _d(start), "slut_dato": _d(end)}
        )

    def education(self, pnr: str, year: int, level: str) -> None:
        self.rows[("uddannelse", year)].append({"pnr": pnr, "hfaudd_niveau": level})

    def survey(self, year: int, rid: str, alder: int, koen: int, mcs: float | None, vaegt: float,
               kom: int = 101, pnr: str | None = None) -> None:
        self.rows[("sundhedsprofil", year)].append(
            {"respondent_id": rid, "pnr": pnr, "alder": alder, "koen": koen, "kom": kom, "mcs": mcs, "vaegt": vaegt}
        )

    def lup(self, year: int, rid: str, region: int, maalgruppe: str, tilfredshed: int | None,
            inddragelse: int | None) -> None:
        self.rows[("lup_psykiatri", year)].append({
            "respondent_id": rid, "region": region, "maalgruppe": maalgruppe,
            "tilfredshed": tilfredshed, "inddragelse": inddragelse,
        })


def weeks(iso_year: int, first: int, last: int, code: str) -> dict[str, str]:
    """DREAM cells `code` for ISO weeks first..last of iso_year."""
    return {f"y_{iso_year % 100:02d}{w:02d}": code for w in range(first, last + 1)}


# =============================================================================================
# The named persons. Acute psychiatric inpatient contacts unless said otherwise; kom 101.
# =============================================================================================


def p4_persons(w: World) -> None:
    """P4 (and, as a side effect, the 2020 index set shared with I1, and I2/N2 populations)."""
    # Index ends 2020-03-10 10:00; acute readmission exactly 720 h later (30 days, across the
    # 29 March summer-time switch: wall-clock arithmetic) -> counts. The readmission is an index too.
    p = "p4_readm_day30_counts"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2020-03-01 08:00", "2020-03-10 10:00")
    w.lpr3(p, "b", "2020-04-09 10:00", "2020-04-15 10:00")

    # The same, one minute later (720 h + 1 min) -> not a readmission; two indexes, no numerator.
    p = "p4_readm_day30_plus_1min_not"
    w.person(p, 1, "1985-04-10")
    w.lpr3(p, "a", "2020-03-01 08:00", "2020-03-10 10:00")
    w.lpr3(p, "b", "2020-04-09 10:01", "2020-04-15 10:00")

    # The second admission 10 days later is planned (ATA3): not an acute readmission, but an index.
    p = "p4_readm_not_acute"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2020-05-01 08:00", "2020-05-05 10:00")
    w.lpr3(p, "b", "2020-05-15 08:00", "2020-05-20 10:00", prio="ATA3")

    # Death on discharge date + 30 (2020-06-09) with no readmission -> left out (death rule).
    p = "p4_death_day30_no_readm_left_out"
    w.person(p, 1, "1985-04-10", bef_years=range(2016, 2021))
    w.lpr3(p, "a", "2020-05-01 08:00", "2020-05-10 12:00")
    w.death(p, "2020-06-09")

    # Death on discharge date + 31 -> outside the 30-day window: stays in the denominator.
    p = "p4_death_day31_stays_in"
    w.person(p, 2, "1985-04-10", bef_years=range(2016, 2021))
    w.lpr3(p, "a", "2020-05-01 08:00", "2020-05-10 12:00")
    w.death(p, "2020-06-10")

    # Readmission starts on the date of death -> counts as before the death (index in numerator).
    # The readmission stay itself ends on the death date -> an index ending with death: left out.
    p = "p4_readm_on_death_date_counts"
    w.person(p, 1, "1985-04-10", bef_years=range(2016, 2021))
    w.lpr3(p, "a", "2020-06-01 08:00", "2020-06-05 10:00")
    w.lpr3(p, "b", "2020-06-20 08:00", "2020-06-20 22:00")
    w.death(p, "2020-06-20")

    # Death on the end date of the stay -> the stay ends with death: left out.
    p = "p4_death_in_stay_left_out"
    w.person(p, 2, "1985-04-10", bef_years=range(2016, 2021))
    w.lpr3(p, "a", "2020-07-01 08:00", "2020-07-05 10:00")
    w.death(p, "2020-07-05")

    # Born 2002-06-15: 17 at the first discharge (children, readmitted), 18 at the second (adults).
    p = "p4_age17_at_discharge_child"
    w.person(p, 2, "2002-06-15")
    w.lpr3(p, "a", "2020-06-01 08:00", "2020-06-14 10:00", spec="børne- og ungdomspsykiatri")
    w.lpr3(p, "b", "2020-06-20 08:00", "2020-06-25 10:00")

    # Born 2002-06-14, discharged on the 18th birthday -> adults.
    p = "p4_age18_on_discharge_day_adult"
    w.person(p, 1, "2002-06-14")
    w.lpr3(p, "a", "2020-06-01 08:00", "2020-06-14 10:00", spec="børne- og ungdomspsykiatri")

    # Second contact starts exactly 4 h after the first ends -> one stay, one index, no readmission.
    p = "p4_chain_4h_exactly_one_stay"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2020-08-01 08:00", "2020-08-03 10:00")
    w.lpr3(p, "b", "2020-08-03 14:00", "2020-08-05 10:00")

    # 4 h + 1 min -> two stays; the second is an acute admission 4 h 1 min later -> readmission.
    p = "p4_gap_4h_plus_1min_readm"
    w.person(p, 1, "1985-04-10")
    w.lpr3(p, "a", "2020-08-01 08:00", "2020-08-03 10:00")
    w.lpr3(p, "b", "2020-08-03 14:01", "2020-08-05 10:00")

    # A readmission stay of exactly 12 h is an admission -> counts (and is an index itself).
    p = "p4_readm_12h_exactly_is_admission"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2020-09-01 08:00", "2020-09-05 10:00")
    w.lpr3(p, "b", "2020-09-20 08:00", "2020-09-20 20:00")

    # 11 h 59 min -> not an admission: no readmission, and not an index.
    p = "p4_readm_11h59_not_admission"
    w.person(p, 1, "1985-04-10")
    w.lpr3(p, "a", "2020-09-01 08:00", "2020-09-05 10:00")
    w.lpr3(p, "b", "2020-09-20 08:00", "2020-09-20 19:59")

    # LPR2 index ending 2018-12-20, acute LPR3 readmission 2019-01-05 -> 2018 index in numerator.
    # The LPR3 2019 file repeats the LPR2 contact marked 'LPR2' (dropped, not counted twice).
    p = "p4_lpr2_dec2018_readm_lpr3_jan2019"
    w.person(p, 2, "1985-04-10")
    w.lpr2(p, "2018-12-10 08", "2018-12-20 10")
    w.lpr3(p, "dup", "2018-12-10 08:00", "2018-12-20 10:00", system="LPR2", file_year=2019)
    w.lpr3(p, "a", "2019-01-05 10:00", "2019-01-08 10:00")

    # LPR2 end hour left empty -> 00:00 of 2018-03-05; readmission 2018-04-04 01:00 is 721 h later
    # -> not a readmission (an empty hour read as 23:00 would wrongly make it count).
    p = "p4_lpr2_empty_end_hour_midnight_721h_not"
    w.person(p, 1, "1985-04-10")
    w.lpr2(p, "2018-03-01 10", "2018-03-05")
    w.lpr2(p, "2018-04-04 01", "2018-04-08 12")

    # Born 29 Feb 2000: in 2018 (not a leap year) 18 only on 1 March -> 17 on 2018-02-28: children.
    p = "p4_born_0229_age17_on_0228_child"
    w.person(p, 2, "2000-02-29")
    w.lpr2(p, "2018-02-20 08", "2018-02-28 10", spec="52")

    # Discharge on data end - 30 days (2021-12-01) -> inside follow-up, readmitted 2021-12-20;
    # the readmission (discharged 2021-12-22) is after data end - 30 -> left out as an index.
    p = "p4_discharge_on_dataend_minus30_in"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2021-11-20 08:00", "2021-12-01 10:00")
    w.lpr3(p, "b", "2021-12-20 08:00", "2021-12-22 10:00")

    # Discharge 2021-12-02, later than data end - 30 days -> left out (no follow-up).
    p = "p4_discharge_after_dataend_minus30_out"
    w.person(p, 1, "1985-04-10")
    w.lpr3(p, "a", "2021-11-20 08:00", "2021-12-02 10:00")

    # An acute contact still open at data end (from 2021-10-20) is a readmission (>= 12 h by data end).
    p = "p4_open_contact_is_readm"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2021-10-01 08:00", "2021-10-05 10:00")
    w.lpr3(p, "b", "2021-10-20 08:00:00", None)  # HH:MM:SS is allowed too

    # An open contact chains every later contact into one open stay, which is never an index.
    p = "p4_open_stay_chains_never_index"
    w.person(p, 1, "1985-04-10")
    w.lpr3(p, "a", "2021-06-01 08:00", None)
    w.lpr3(p, "b", "2021-07-01 08:00", "2021-07-05 10:00")

    # An open contact from 2021-12-31 14:00 has lasted 10 h by data end -> not an admission.
    p = "p4_open_short_by_dataend_not_readm"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2021-11-20 08:00", "2021-11-30 10:00")
    w.lpr3(p, "b", "2021-12-31 14:00", None)

    # The readmission stay has two contacts sharing the earliest start (08:00): a planned one and a
    # one-hour acute one -> the stay is acute (tie rule) -> readmission; the stay is an index too.
    p = "p4_tie_at_earliest_start_acute_counts"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2020-11-01 08:00", "2020-11-05 10:00")
    w.lpr3(p, "b", "2020-11-15 08:00", "2020-11-20 10:00", prio="ATA3")
    w.lpr3(p, "c", "2020-11-15 08:00", "2020-11-15 09:00")

    # Chaining uses the latest end so far: b lies inside a; c starts 3 h after a's end (but days after
    # b's end) -> one stay 10-01..10-12, one index, no readmission.
    p = "p4_chain_latest_end_so_far"
    w.person(p, 1, "1985-04-10")
    w.lpr3(p, "a", "2020-10-01 08:00", "2020-10-10 10:00")
    w.lpr3(p, "b", "2020-10-02 08:00", "2020-10-03 10:00")
    w.lpr3(p, "c", "2020-10-10 13:00", "2020-10-12 10:00")

    # The stay's last contact is the one with the latest start (b, kom 751 Aarhus, region 82), even
    # though a (kom 101) ends later -> the index's residence is 751; bef says 101.
    p = "p4_last_contact_kom_residence"
    w.person(p, 2, "1985-04-10", kom=101)
    w.lpr3(p, "a", "2020-07-10 08:00", "2020-07-20 10:00", kom=101)
    w.lpr3(p, "b", "2020-07-12 08:00", "2020-07-13 10:00", kom=751)

    # The contact has no municipality -> residence from bef of the year: moved 101 -> 461 (Odense,
    # region 83) on 1 January 2020, stay in 2020 -> 461.
    p = "p4_no_contact_kom_residence_from_bef"
    w.person(p, 1, "1985-04-10", kom=101, bef_years=range(2016, 2020))
    w.person(p, 1, "1985-04-10", kom=461, bef_years=range(2020, 2022))
    w.lpr3(p, "a", "2020-03-03 08:00", "2020-03-06 10:00", no_kom=True)

    # The second stay starts with a planned contact (08:00-12:00) chained to an acute one (13:00):
    # its earliest contact is planned -> not an acute admission -> no readmission; both are indexes.
    p = "p4_readm_earliest_contact_planned_not"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2020-12-01 08:00", "2020-12-05 10:00")
    w.lpr3(p, "b", "2020-12-10 08:00", "2020-12-10 12:00", prio="ATA3")
    w.lpr3(p, "c", "2020-12-10 13:00", "2020-12-12 10:00")

    # 2019 (a year whose national values are not asserted): two contacts share the latest start;
    # the one with the latest end (kom 751) is the last contact -> residence 751, region 82.
    p = "p4_last_contact_tie_latest_end"
    w.person(p, 1, "1985-04-10", kom=101)
    w.lpr3(p, "a", "2019-08-01 08:00", "2019-08-10 10:00", kom=751)
    w.lpr3(p, "b", "2019-08-01 08:00", "2019-08-03 10:00", kom=147)

    # Not in bef at all -> counted in the total, age group unknown.
    p = "p4_not_in_bef_age_unknown"
    w.kom_of[p] = 147
    w.lpr3(p, "a", "2020-10-01 08:00", "2020-10-05 10:00")

    # The 2017 standard population of the age-standardised share (one adult aged 67, one child
    # aged 14; both outside P5's 18-64).
    p = "p4_std2017_adult"
    w.person(p, 1, "1950-02-02")
    w.lpr2(p, "2017-04-01 08", "2017-04-05 10")
    p = "p4_std2017_child"
    w.person(p, 2, "2003-03-03")
    w.lpr2(p, "2017-04-01 08", "2017-04-05 10", spec="52")


def i1_i2_n2_persons(w: World) -> None:
    """I1, I2 and N2 (all 2020). Each psychiatric admission here is also a P4 2020 index."""
    # Acute somatic admission exactly 720 h after the psychiatric discharge (Feb 2020 has 29 days).
    p = "i1_somatic_acute_day30_counts"
    w.person(p, 1, "1985-04-10")
    w.lpr3(p, "a", "2020-01-25 08:00", "2020-02-01 10:00")
    w.lpr3(p, "s", "2020-03-02 10:00", "2020-03-03 10:00", spec="intern medicin", adiag="DI219")

    # Acute somatic admission starting exactly at the psychiatric discharge -> not strictly after;
    # the domains do not chain.
    p = "i1_somatic_at_index_end_not"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2020-02-05 08:00", "2020-02-10 10:00")
    w.lpr3(p, "s", "2020-02-10 10:00", "2020-02-11 10:00", spec="akutmedicin", adiag="DS060")

    # Acute somatic admission 720 h + 1 min after discharge -> not counted.
    p = "i1_somatic_day30_plus_1min_not"
    w.person(p, 1, "1985-04-10")
    w.lpr3(p, "a", "2020-11-01 08:00", "2020-11-05 10:00")
    w.lpr3(p, "s", "2020-12-05 10:01", "2020-12-06 10:00", spec="kirurgi", adiag="DK359")

    # Planned somatic admission -> not counted.
    p = "i1_somatic_planned_not"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2020-03-10 08:00", "2020-03-15 10:00")
    w.lpr3(p, "s", "2020-03-20 08:00", "2020-03-21 10:00", spec="ortopædisk kirurgi", prio="ATA3", adiag="DM170")

    # Acute somatic stay of 6 h -> not an admission.
    p = "i1_somatic_short_not_admission"
    w.person(p, 1, "1985-04-10")
    w.lpr3(p, "a", "2020-04-10 08:00", "2020-04-15 10:00")
    w.lpr3(p, "s", "2020-04-20 08:00", "2020-04-20 14:00", spec="akutmedicin", adiag="DS000")

    # Psychiatric readmission 4 days after discharge, death 2020-04-25: P4 counts the first index
    # (readmitted before death); I1 leaves both indexes out (death within 30 days, no acute somatic
    # admission before it); the second index is left out in both (death 15 days after discharge).
    p = "i1_psych_readm_then_death"
    w.person(p, 2, "1985-04-10", bef_years=range(2016, 2021))
    w.lpr3(p, "a", "2020-03-25 08:00", "2020-04-01 10:00")
    w.lpr3(p, "b", "2020-04-05 08:00", "2020-04-10 10:00")
    w.death(p, "2020-04-25")

    # Acute somatic admission starting on the date of death -> counts in I1 (before the death);
    # in P4 the index is left out (death within 30 days, no psychiatric readmission).
    p = "i1_somatic_on_death_date_counts"
    w.person(p, 1, "1985-04-10", bef_years=range(2016, 2021))
    w.lpr3(p, "a", "2020-05-01 08:00", "2020-05-05 10:00")
    w.lpr3(p, "s", "2020-05-20 08:00", "2020-05-20 22:00", spec="intern medicin", adiag="DI219")
    w.death(p, "2020-05-20")

    # 2019: an acute somatic contact still open at data end is an acute somatic admission -> I1 counts.
    p = "i1_open_somatic_admission_counts"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2019-06-01 08:00", "2019-06-05 10:00")
    w.lpr3(p, "s", "2019-06-10 08:00", None, spec="intern medicin", adiag="DI500")

    # I2: a planned one-hour somatic outpatient visit (physical attendance) in 2020 -> numerator.
    p = "i2_somatic_outpatient_counts"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2020-10-01 08:00", "2020-10-05 10:00")
    w.lpr3(p, "s", "2020-10-20 09:00", "2020-10-20 10:00", spec="ortopædisk kirurgi", prio="ATA3", adiag="DM170")

    # I2: the only somatic contact is virtual (ALCA03) -> not in the numerator.
    p = "i2_somatic_virtual_not"
    w.person(p, 1, "1985-04-10")
    w.lpr3(p, "a", "2020-10-01 08:00", "2020-10-05 10:00")
    w.lpr3(p, "s", "2020-10-20 09:00", "2020-10-20 09:30", spec="neurologi", prio="ATA3", ktype="ALCA03",
           adiag="DG439")

    # I2: a psychiatric admission from 2019-12-20 to 2020-01-05 overlaps both years; somatic visit
    # in 2020 only -> 2019: population only; 2020: numerator.
    p = "i2_psych_adm_from_2019_counts"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2019-12-20 08:00", "2020-01-05 10:00")
    w.lpr3(p, "s", "2020-01-20 09:00", "2020-01-20 10:00", spec="intern medicin", prio="ATA3", adiag="DE119")

    # I2: the somatic contact starts 2019-12-31 23:00 (ends in 2020) -> not a 2020 contact.
    p = "i2_somatic_started_2019_not"
    w.person(p, 1, "1985-04-10")
    w.lpr3(p, "s", "2019-12-31 23:00", "2020-01-01 01:00", spec="ortopædisk kirurgi", prio="ATA3", adiag="DS620")
    w.lpr3(p, "a", "2020-01-10 08:00", "2020-01-15 10:00")

    # I2: a 6-hour psychiatric stay is no admission -> not in the population (nor P4, N2).
    p = "i2_short_psych_stay_not_population"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2020-10-01 08:00", "2020-10-01 14:00")
    w.lpr3(p, "s", "2020-10-10 09:00", "2020-10-10 10:00", spec="intern medicin", prio="ATA3", adiag="DE119")

    # I2/N2: an open psychiatric stay from 2020-12-01 is "admitted" in 2020 and 2021; its somatic
    # visit is in 2021 -> 2020: population only; 2021: numerator. Never a P4 index.
    p = "i2_open_psych_stay_population"
    w.person(p, 1, "1985-04-10")
    w.lpr3(p, "a", "2020-12-01 08:00", None)
    w.lpr3(p, "s", "2021-02-01 09:00", "2021-02-01 10:00", spec="intern medicin", prio="ATA3", adiag="DE119")

    # N2: admitted and belt-fixated in 2020 -> numerator and denominator (also P2 adult, form 3).
    p = "n2_belted_and_admitted"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2020-02-01 08:00", "2020-02-10 10:00")
    w.tvang(p, 3, "baelte", "2020-02-02 10:00", end="2020-02-02 16:00")

    # N2: belted in 2020 without a psychiatric admission -> numerator only (two separate counts).
    p = "n2_belted_not_admitted"
    w.person(p, 1, "1985-04-10")
    w.tvang(p, 3, "baelte", "2020-05-05 10:00", end="2020-05-05 12:00", region=85)

    # N2: admitted, only a voluntary belt -> denominator only; P2: not a person, no counted measure.
    p = "n2_voluntary_belt_only"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2020-03-01 08:00", "2020-03-08 10:00")
    w.tvang(p, 3, "baelte", "2020-03-02 10:00", begrundelse="frivillig", end="2020-03-02 11:00")

    # N2: a belt in somatics -> nothing in N2 or P2.
    p = "n2_belt_in_somatics_not"
    w.person(p, 1, "1985-04-10")
    w.tvang(p, 3, "baelte", "2020-06-01 10:00", omraade="somatik", end="2020-06-01 11:00")

    # N2: admitted 2020-12-20 to 2021-01-03, belted 2021-01-01 -> 2020: denominator only;
    # 2021: numerator and denominator. P4 index in 2021.
    p = "n2_admitted_2020_belted_2021"
    w.person(p, 2, "1985-04-10")
    w.lpr3(p, "a", "2020-12-20 08:00", "2021-01-03 10:00")
    w.tvang(p, 3, "baelte", "2021-01-01 03:00", end="2021-01-01 09:00")


def p2_persons(w: World) -> None:
    """P2 (2020): who is a person subjected to coercion, child or adult, and where."""
    # A voluntary belt (baelte + frivillig) is not coercion -> not a person.
    p = "p2_voluntary_belt_not_coercion"
    w.person(p, 1, "1985-04-10")
    w.tvang(p, 3, "baelte", "2020-03-03 10:00", begrundelse="frivillig", end="2020-03-03 11:00")

    # Forced medication with reason 'frivillig' is still coercion (only belts can be voluntary).
    p = "p2_voluntary_tvangsmedicinering_is_coercion"
    w.person(p, 2, "1985-04-10")
    w.tvang(p, 2, "tvangsmedicinering", "2020-04-04 10:00", begrundelse="frivillig")

    # Only forms 4 and 5 -> counted as measures, never a person.
    p = "p2_forms_4_5_only_not_person"
    w.person(p, 1, "1985-04-10")
    w.tvang(p, 4, "personlig_skaermning", "2020-05-05 10:00", end="2020-05-06 10:00")
    w.tvang(p, 5, "koordinationsplan", "2020-05-06 10:00")

    # Restraint in somatics -> not counted.
    p = "p2_somatik_not_counted"
    w.person(p, 2, "1985-04-10")
    w.tvang(p, 3, "fastholdelse", "2020-06-06 10:00", omraade="somatik", end="2020-06-06 10:30")

    # Born 2002-09-01: 17 at the first measure (2020-03-01), 18 at the second -> one child.
    p = "p2_child_17_first_measure_turns_18"
    w.person(p, 2, "2002-09-01")
    w.tvang(p, 3, "remme", "2020-03-01 10:00", end="2020-03-01 12:00")
    w.tvang(p, 3, "beroligende_medicin", "2020-10-01 10:00")

    # A forced admission at 16 -> child.
    p = "p2_child_16_forced_admission"
    w.person(p, 1, "2004-01-15")
    w.tvang(p, 1, "tvangsindlaeggelse", "2020-02-02 10:00")

    # Detained on the 18th birthday -> adult.
    p = "p2_age18_on_measure_day_adult"
    w.person(p, 2, "2002-04-15")
    w.tvang(p, 1, "tvangstilbageholdelse", "2020-04-15 08:00")

    # Measures reported by two regions (84, 82) -> one person nationally, one in each region.
    p = "p2_two_reporting_regions"
    w.person(p, 1, "1985-04-10")
    w.tvang(p, 2, "tvangsmedicinering", "2020-07-07 10:00", region=84)
    w.tvang(p, 3, "fastholdelse", "2020-08-08 10:00", region=82, end="2020-08-08 10:15")

    # 2019: born 2001-06-01; the first measure in 2019 is a voluntary belt at 17, the first counted
    # one (fastholdelse) is at 18 -> adult.
    p = "p2_first_measure_voluntary_belt_then_adult"
    w.person(p, 2, "2001-06-01")
    w.tvang(p, 3, "baelte", "2019-05-01 10:00", begrundelse="frivillig", end="2019-05-01 11:00")
    w.tvang(p, 3, "fastholdelse", "2019-07-01 10:00", end="2019-07-01 10:10")

    # Not in bef -> age unknown: counted in the total, in neither age group.
    p = "p2_not_in_bef_unknown_age"
    w.kom_of[p] = 101
    w.tvang(p, 1, "tvangsindlaeggelse", "2020-09-09 10:00")

    # Started 2019-12-31 23:30 -> a 2019 person, not a 2020 one.
    p = "p2_measure_dec31_2019_not_2020"
    w.person(p, 2, "1985-04-10")
    w.tvang(p, 3, "fastholdelse", "2019-12-31 23:30", region=83, end="2020-01-01 00:10")


def p3_persons(w: World) -> None:
    """P3 (2017 via LPR2, 2020 via LPR3). Psychiatric contacts here are one-hour outpatient visits."""
    # Psychiatric visit 2017, then a somatic emergency contact in 2017 with secondary DX609 -> attempt.
    p = "p3_selfharm_somatic_contact_counts"
    w.person(p, 2, "1988-01-01")
    w.lpr2(p, "2017-02-01 09", "2017-02-01 10", pattype="2", indm="2")
    w.lpr2(p, "2017-05-01 22", "2017-05-02 02", spec="08", pattype="3", adiag="DS610", diags=(("DX609", "B"),))

    # Died 2017 with underlying cause DX700 -> suicide.
    p = "p3_suicide_death_counts"
    w.person(p, 1, "1990-05-05", bef_years=range(2016, 2018))
    w.lpr2(p, "2017-03-01 09", "2017-03-01 10", pattype="2", indm="2")
    w.death(p, "2017-08-01", "DX700")

    # Died 2017 of another cause -> population only.
    p = "p3_death_other_cause_not"
    w.person(p, 2, "1991-06-06", bef_years=range(2016, 2018))
    w.lpr2(p, "2017-03-02 09", "2017-03-02 10", pattype="2", indm="2")
    w.death(p, "2017-09-01", "DI219")

    # The self-harm contact starts 2016-12-31 22:00 -> not a 2017 contact.
    p = "p3_selfharm_dec31_2016_not"
    w.person(p, 1, "1989-07-07")
    w.lpr2(p, "2017-04-01 09", "2017-04-01 10", pattype="2", indm="2")
    w.lpr2(p, "2016-12-31 22", "2017-01-01 01", spec="08", pattype="3", adiag="DT509", diags=(("DX650", "B"),))

    # DX849 (the last code of the range) as a secondary diagnosis of the psychiatric visit -> counts.
    p = "p3_dx849_counts"
    w.person(p, 2, "1992-08-08")
    w.lpr2(p, "2017-05-05 09", "2017-05-05 10", pattype="2", indm="2", diags=(("DX849", "B"),))

    # DX850 is outside DX60-DX84 -> population only.
    p = "p3_dx850_not_selfharm"
    w.person(p, 1, "1993-09-09")
    w.lpr2(p, "2017-06-06 09", "2017-06-06 10", pattype="2", indm="2", diags=(("DX850", "B"),))

    # Self-harm contact but no psychiatric contact -> not in the population.
    p = "p3_selfharm_no_psych_contact_not_population"
    w.person(p, 2, "1994-10-10")
    w.lpr2(p, "2017-07-07 22", "2017-07-08 02", spec="08", pattype="3", adiag="DX600")

    # LPR3: DX600 later disproved (senere_afkraeftet = Ja) -> not an attempt; population 2020, 2021.
    p = "p3_selfharm_afkraeftet_not"
    w.person(p, 1, "1987-11-11")
    w.lpr3(p, "a", "2020-02-02 09:00", "2020-02-02 10:00", prio="ATA3", diags=(("DX600", "B", "Ja"),))

    # LPR3: the lpr_f_diagnoser row repeating the action diagnosis DX700 is disproved (Ja), but the
    # contact's aktionsdiagnose still counts -> attempt in 2020.
    p = "p3_action_diag_counts_despite_refuted_row"
    w.person(p, 1, "1987-03-03")
    w.lpr3(p, "a", "2020-04-04 09:00", "2020-04-04 10:00", prio="ATA3")
    w.lpr3(p, "s", "2020-08-08 22:00", "2020-08-09 02:00", spec="akutmedicin", adiag="DX700",
           diags=(("DX700", "A", "Ja"),))

    # LPR3: virtual psychiatric contact (any type counts for the population), somatic emergency
    # contact with DX699 not disproved -> attempt in 2020; population 2020, 2021.
    p = "p3_selfharm_lpr3_counts"
    w.person(p, 2, "1986-12-12")
    w.lpr3(p, "a", "2020-03-03 09:00", "2020-03-03 09:30", prio="ATA3", ktype="ALCA03")
    w.lpr3(p, "s", "2020-06-06 22:00", "2020-06-07 02:00", spec="akutmedicin", adiag="DT424",
           diags=(("DX699", "B", "Nej"),))


def p5_persons(w: World) -> None:
    """P5: main cases are LPR2 admissions ending in 2017; ISO-week and extract-edge cases elsewhere."""
    # Absent from DREAM -> empty every week: employed before and after -> numerator.
    p = "p5_absent_from_dream_retained"
    w.person(p, 1, "1980-01-10")
    w.lpr2(p, "2017-03-01 08", "2017-03-20 10")

    # Sickness benefit in the week of discharge + 182 days (2017-09-18, ISO 2017-W38) -> not retained.
    p = "p5_sickpay_at_182_not_retained"
    w.person(p, 2, "1981-02-11")
    w.lpr2(p, "2017-03-01 08", "2017-03-20 10")
    w.dream(p, {"y_1738": "740"})

    # Unemployment benefit in the week of start - 28 days (2017-03-04, W09) -> not employed before.
    p = "p5_not_employed_before"
    w.person(p, 1, "1982-03-12")
    w.lpr2(p, "2017-04-01 08", "2017-04-10 10")
    w.dream(p, {"y_1709": "111"})

    # Death on discharge + 182 days (2017-11-08) -> left out.
    p = "p5_death_day182_left_out"
    w.person(p, 2, "1979-04-13", bef_years=range(2016, 2018))
    w.lpr2(p, "2017-05-01 08", "2017-05-10 10")
    w.death(p, "2017-11-08")

    # Death on discharge + 183 days -> kept; the week of +182 is empty -> numerator.
    p = "p5_death_day183_kept"
    w.person(p, 1, "1978-05-14", bef_years=range(2016, 2018))
    w.lpr2(p, "2017-05-01 08", "2017-05-10 10")
    w.death(p, "2017-11-09")

    # Born 1952-06-02, admitted 2017-06-01: 64 at the start -> kept (absent from DREAM: numerator).
    p = "p5_age64_at_start_kept"
    w.person(p, 2, "1952-06-02")
    w.lpr2(p, "2017-06-01 08", "2017-06-10 10")

    # Born 1952-06-01, admitted on the 65th birthday -> not kept.
    p = "p5_age65_at_start_not"
    w.person(p, 1, "1952-06-01")
    w.lpr2(p, "2017-06-01 08", "2017-06-10 10")

    # Two admissions ending 2017: only the first by end counts (the second would be "not employed").
    p = "p5_first_admission_by_end_only"
    w.person(p, 2, "1983-07-15")
    w.lpr2(p, "2017-02-01 08", "2017-02-10 10")
    w.lpr2(p, "2017-08-01 08", "2017-08-10 10")
    w.dream(p, {"y_1727": "111"})

    # Start 2017-01-29 - 28 days = 2017-01-01, which is ISO week 2016-W52 (column y_1652, coded);
    # the calendar-year reading y_1752 is empty -> correctly "not employed before".
    p = "p5_start_minus28_isoyear_2016_w52"
    w.person(p, 1, "1984-08-16")
    w.lpr2(p, "2017-01-29 08", "2017-02-05 10")
    w.dream(p, {"y_1652": "130"})

    # Start 2016-01-20 - 28 days = 2015-12-23, before the extract's first week -> left out.
    # (Also the only non-N8 psychiatric contact in 2016: an N8 2017 cohort member, band M 30-34.)
    p = "p5_outside_extract_start"
    w.person(p, 1, "1985-09-17")
    w.lpr2(p, "2016-01-20 08", "2016-01-30 10")

    # 2019: born 2001-03-01; the first admission by end starts at 17 -> the person's index is left
    # out for age; the later admission (at 18) does not replace it.
    p = "p5_first_by_end_age17_not_replaced"
    w.person(p, 1, "2001-03-01")
    w.lpr3(p, "a", "2019-02-01 08:00", "2019-02-10 10:00")
    w.lpr3(p, "b", "2019-06-01 08:00", "2019-06-10 10:00")

    # Discharge 2020-07-01 + 182 = 2020-12-30, ISO week 2020-W53 (y_2053, coded) -> not retained.
    p = "p5_followup_week53_not_retained"
    w.person(p, 2, "1986-10-18")
    w.lpr3(p, "a", "2020-06-20 08:00", "2020-07-01 10:00")
    w.dream(p, {"y_2053": "740"})

    # Start 2021-01-28 - 28 = 2020-12-31, ISO week 2020-W53 (y_2053, coded) -> not employed before.
    p = "p5_start_minus28_in_week53_not_employed"
    w.person(p, 1, "1987-11-19")
    w.lpr3(p, "a", "2021-01-28 08:00", "2021-02-05 10:00")
    w.dream(p, {"y_2053": "111"})

    # Discharge 2021-07-10 + 182 = 2022-01-08 (2022-W01), after the extract -> left out.
    p = "p5_followup_outside_extract_end"
    w.person(p, 2, "1988-12-20")
    w.lpr3(p, "a", "2021-07-01 08:00", "2021-07-10 10:00")


def p6_persons(w: World) -> None:
    """P6 (2020; ISO year 2020 has 53 weeks)."""
    # 26 empty weeks (28-53), 27 weeks of unemployment benefit -> numerator.
    p = "p6_26_empty_weeks_counts"
    w.person(p, 1, "1985-04-10")
    w.social(p, "85", "sindslidelse", "2019-01-01")
    w.dream(p, weeks(2020, 1, 27, "111"))

    # 25 empty weeks (29-53) -> not.
    p = "p6_25_empty_weeks_not"
    w.person(p, 2, "1985-04-10")
    w.social(p, "107", "sindslidelse", "2019-01-01")
    w.dream(p, weeks(2020, 1, 28, "111"))

    # 30 SU weeks (651), the rest benefit -> numerator (SU weeks count).
    p = "p6_su_weeks_count"
    w.person(p, 1, "1985-04-10")
    w.social(p, "108", "socialt_problem", "2019-01-01")
    w.dream(p, weeks(2020, 1, 30, "651") | weeks(2020, 31, 53, "111"))

    # 20 SU weeks (652) + 6 empty weeks = 26 -> numerator.
    p = "p6_su_plus_empty_26_counts"
    w.person(p, 2, "1985-04-10")
    w.social(p, "85", "socialt_problem", "2019-01-01")
    w.dream(p, weeks(2020, 1, 20, "652") | weeks(2020, 27, 53, "781"))

    # Absent from DREAM -> 53 empty weeks -> numerator.
    p = "p6_absent_from_dream_counts"
    w.person(p, 1, "1985-04-10")
    w.social(p, "85", "sindslidelse", "2020-03-01", "2020-09-30")

    # Born 1955-07-02: 64 on 1 July 2020 -> in (numerator: absent from DREAM).
    p = "p6_age64_on_1july_in"
    w.person(p, 2, "1955-07-02")
    w.social(p, "85", "sindslidelse", "2019-01-01")

    # Born 1955-07-01: 65 on 1 July 2020 -> not in the population.
    p = "p6_age65_on_1july_not"
    w.person(p, 1, "1955-07-01")
    w.social(p, "85", "sindslidelse", "2019-01-01")

    # Born 2002-07-01: 18 on 1 July 2020 -> in (numerator).
    p = "p6_age18_on_1july_in"
    w.person(p, 2, "2002-07-01")
    w.social(p, "108", "sindslidelse", "2020-01-01")

    # § 85 starting 2020-12-31, open -> active one day -> in; benefit all 53 weeks -> not numerator.
    p = "p6_par85_active_one_day_dec31"
    w.person(p, 1, "1985-04-10")
    w.social(p, "85", "sindslidelse", "2020-12-31")
    w.dream(p, weeks(2020, 1, 53, "111"))

    # § 108 ending 2020-01-01 -> active one day -> in; disability pension all weeks -> not numerator.
    p = "p6_ended_jan1_active_one_day"
    w.person(p, 2, "1985-04-10")
    w.social(p, "108", "socialt_problem", "2015-01-01", "2020-01-01")
    w.dream(p, weeks(2020, 1, 53, "781"))

    # § 107 ended 2019-12-31 -> not active in 2020.
    p = "p6_ended_dec31_prev_year_not"
    w.person(p, 1, "1985-04-10")
    w.social(p, "107", "sindslidelse", "2018-01-01", "2019-12-31")

    # Starts 2021-01-01 -> not active in 2020.
    p = "p6_starts_next_year_not"
    w.person(p, 2, "1985-04-10")
    w.social(p, "85", "sindslidelse", "2021-01-01")

    # Target group handicap -> not counted; § 103 -> not a counted section.
    p = "p6_handicap_not"
    w.person(p, 1, "1985-04-10")
    w.social(p, "85", "handicap", "2019-01-01")
    p = "p6_par103_not"
    w.person(p, 2, "1985-04-10")
    w.social(p, "103", "sindslidelse", "2019-01-01")

    # Two supports in 2020 -> one unit (numerator: absent from DREAM).
    p = "p6_two_supports_one_unit"
    w.person(p, 1, "1985-04-10")
    w.social(p, "85", "sindslidelse", "2019-01-01", "2020-06-30")
    w.social(p, "107", "sindslidelse", "2020-07-01")


def n1_persons(w: World) -> None:
    """N1: færdigbehandlet markers (LPR3 on the course, LPR2 on the contact). Persons born 1970, female."""
    # Marker on the discharge date -> 0 days, counted.
    p = "n1_zero_days_counts"
    w.person(p, 2, "1970-01-21")
    w.lpr3(p, "a", "2019-02-01 08:00", "2019-02-10 10:00", spec="børne- og ungdomspsykiatri")
    w.marker3(p, "a", "MFB01", "2019-02-10")

    # Markers 2019-03-20 and 2019-03-10 -> the earliest counts: 31 - 10 = 21 days.
    p = "n1_earliest_of_two_markers"
    w.person(p, 2, "1970-02-22")
    w.lpr3(p, "a", "2019-03-01 08:00", "2019-03-31 10:00")
    w.marker3(p, "a", "MFB01", "2019-03-20")
    w.marker3(p, "a", "MFB01", "2019-03-10")

    # Course with an outpatient visit 2019-04-01 and the admission 2019-04-10..20; markers
    # 2019-04-05 (before the stay: ignored) and 2019-04-15 -> 5 days.
    p = "n1_marker_before_stay_ignored"
    w.person(p, 2, "1970-03-23")
    w.lpr3(p, "a", "2019-04-01 09:00", "2019-04-01 10:00", prio="ATA3")
    w.lpr3(p, "a", "2019-04-10 08:00", "2019-04-20 10:00")
    w.marker3(p, "a", "MFB01", "2019-04-05")
    w.marker3(p, "a", "MFB01", "2019-04-15")

    # Only marker after the discharge date -> no færdigbehandlingsdage unit.
    p = "n1_only_marker_after_stay_not"
    w.person(p, 2, "1970-04-24")
    w.lpr3(p, "a", "2019-05-01 08:00", "2019-05-10 10:00")
    w.marker3(p, "a", "MFB01", "2019-05-11")

    # Marker on the start date -> 12 - 1 = 11 days (more than 10).
    p = "n1_marker_on_start_date_11_days"
    w.person(p, 2, "1970-05-25")
    w.lpr3(p, "a", "2019-06-01 08:00", "2019-06-12 10:00")
    w.marker3(p, "a", "MFB01", "2019-06-01")

    # Exactly 10 days -> not "more than 10".
    p = "n1_ten_days_not_over_10"
    w.person(p, 2, "1970-06-26")
    w.lpr3(p, "a", "2019-07-01 08:00", "2019-07-20 10:00")
    w.marker3(p, "a", "MFB01", "2019-07-10")

    # LPR2 contact 2018-12-20 08 .. 2019-01-02 08 chains (3 h gap) with an LPR3 contact to
    # 2019-01-15: one stay from 2018-12-20 ending 2019; LPR3 course marker 2019-01-10 -> 5 days, 2019.
    p = "n1_stay_across_lpr_switch"
    w.person(p, 2, "1970-07-27")
    w.lpr2(p, "2018-12-20 08", "2019-01-02 08")
    w.lpr3(p, "a", "2019-01-02 11:00", "2019-01-15 10:00")
    w.marker3(p, "a", "MFB01", "2019-01-10")

    # LPR2 marker on the contact: 2018-05-20 - 2018-05-15 = 5 days in 2018.
    p = "n1_lpr2_marker_2018"
    w.person(p, 2, "1970-08-28")
    w.lpr2(p, "2018-05-01 08", "2018-05-20 10", markers=(("MFB01", "2018-05-15"),))


def n3_n4_persons(w: World) -> None:
    """N3 (2021 LPR3, 2018 LPR2) and N4 (2020 LPR3, 2018 LPR2). Planned one-hour psychiatric visits."""

    def visit(p: str, course: str, day: str, henv: str | None, **kw: Any) -> None:
        kw.setdefault("prio", "ATA3")
        w.lpr3(p, course, f"{day} 09:00", f"{day} 10:00", henv=henv, **kw)

    # N3 waits 10, 20, 0 days.
    for p, ref, day in (("n3_wait_10", "2021-03-01", "2021-03-11"), ("n3_wait_20", "2021-04-01", "2021-04-21"),
                        ("n3_wait_0_same_day", "2021-05-05", "2021-05-05")):
        w.person(p, 1, "1980-06-06")
        visit(p, "a", day, ref)

    # Born 2002-10-01: 18 at referral 2021-06-01 -> children (0-18); waits 35 days.
    p = "n3_child_age18_at_referral"
    w.person(p, 2, "2002-10-01")
    visit(p, "a", "2021-07-06", "2021-06-01", spec="børne- og ungdomspsykiatri")

    # Born 2002-01-01: 19 at referral 2021-02-01 -> adults; waits 14 days.
    p = "n3_adult_age19_at_referral"
    w.person(p, 1, "2002-01-01")
    visit(p, "a", "2021-02-15", "2021-02-01")

    # First contact virtual (any contact type counts) -> waits 7 days.
    p = "n3_virtual_first_contact_counts"
    w.person(p, 2, "1980-06-06")
    visit(p, "a", "2021-09-08", "2021-09-01", ktype="ALCA03")

    # Referral after the first contact (-9 days) -> left out of the values (data error).
    p = "n3_negative_wait_left_out"
    w.person(p, 1, "1980-06-06")
    visit(p, "a", "2021-08-01", "2021-08-10")

    # Two courses -> two units: 14 and 3 days.
    p = "n3_two_courses_two_units"
    w.person(p, 2, "1980-06-06")
    visit(p, "a", "2021-01-18", "2021-01-04")
    visit(p, "b", "2021-11-04", "2021-11-01")

    # The course's first contact is acute -> no unit (the later planned visit is not first).
    p = "n3_first_contact_acute_not_unit"
    w.person(p, 1, "1980-06-06")
    visit(p, "a", "2021-10-01", "2021-09-20", prio="ATA1")
    visit(p, "a", "2021-10-15", "2021-09-20")

    # The course's first contact is somatic -> no unit.
    p = "n3_first_contact_somatic_not_unit"
    w.person(p, 2, "1980-06-06")
    visit(p, "a", "2021-10-02", "2021-09-01", spec="neurologi", adiag="DG439")
    visit(p, "a", "2021-10-20", "2021-09-01")

    # No referral date -> no unit.
    p = "n3_no_referral_date_not_unit"
    w.person(p, 1, "1980-06-06")
    visit(p, "a", "2021-11-01", None)

    # LPR2: two planned visits with the same referral date -> one unit, the earliest: 9 days.
    p = "n3_lpr2_earliest_planned_per_referral"
    w.person(p, 2, "1980-06-06")
    w.lpr2(p, "2018-03-20 09", "2018-03-20 10", pattype="2", indm="2", hendto="2018-03-01")
    w.lpr2(p, "2018-03-10 09", "2018-03-10 10", pattype="2", indm="2", hendto="2018-03-01")

    # LPR2: the earliest contact with the referral is acute, the earliest planned one is 11 days
    # after the referral -> one unit, 11 days (LPR3 courses differ: an acute first contact means no unit).
    p = "n3_lpr2_earliest_planned_not_acute"
    w.person(p, 1, "1980-06-06")
    w.lpr2(p, "2018-09-05 09", "2018-09-05 10", pattype="2", indm="1", hendto="2018-09-01")
    w.lpr2(p, "2018-09-12 09", "2018-09-12 10", pattype="2", indm="2", hendto="2018-09-01")

    # LPR2 visit (14 days) repeated in the LPR3 2019 file marked 'LPR2' -> still one unit.
    p = "n3_lpr2_dup_in_lpr3_not_double"
    w.person(p, 1, "1980-06-06")
    w.lpr2(p, "2018-06-15 09", "2018-06-15 10", pattype="2", indm="2", hendto="2018-06-01")
    w.lpr3(p, "dup", "2018-06-15 09:00", "2018-06-15 10:00", prio="ATA3", henv="2018-06-01", system="LPR2",
           file_year=2019)

    # N4: marker exactly 30 days after the referral -> met. Born 2002-05-01: 18 -> children.
    p = "n4_day30_met_child18"
    w.person(p, 2, "2002-05-01")
    visit(p, "a", "2020-09-05", "2020-09-01", spec="børne- og ungdomspsykiatri")
    w.marker3(p, "a", "MUA01", "2020-10-01")

    # 31 days -> not met.
    p = "n4_day31_not_met"
    w.person(p, 1, "1980-06-06")
    visit(p, "a", "2020-09-05", "2020-09-01")
    w.marker3(p, "a", "MUA01", "2020-10-02")

    # 31 days but a justified-delay marker (MUF01) -> met.
    p = "n4_day31_justified_met"
    w.person(p, 2, "1980-06-06")
    visit(p, "a", "2020-09-05", "2020-09-01")
    w.marker3(p, "a", "MUF01", "2020-09-20")
    w.marker3(p, "a", "MUA01", "2020-10-02")

    # No referral date anywhere on the course -> not met.
    p = "n4_no_referral_not_met"
    w.person(p, 1, "1980-06-06")
    visit(p, "a", "2020-09-05", None)
    w.marker3(p, "a", "MUA01", "2020-10-01")

    # Two markers in 2020: the earliest (26 days) decides -> met, one unit.
    p = "n4_two_markers_earliest_decides"
    w.person(p, 2, "1980-06-06")
    visit(p, "a", "2020-01-15", "2020-01-10")
    w.marker3(p, "a", "MUA01", "2020-02-05")
    w.marker3(p, "a", "MUA01", "2020-03-15")

    # Referral date = earliest among the course's contacts (2020-10-01, on the second contact):
    # marker 2020-11-05 is 35 days later -> not met (the first contact's 2020-10-20 would give 16).
    p = "n4_referral_earliest_among_contacts"
    w.person(p, 1, "1980-06-06")
    visit(p, "a", "2020-11-01", "2020-10-20")
    visit(p, "a", "2020-11-10", "2020-10-01")
    w.marker3(p, "a", "MUA01", "2020-11-05")

    # Markers in 2019 (19 days: met) and in 2020 (45 days: not met) -> one unit per year.
    p = "n4_markers_2019_and_2020_two_units"
    w.person(p, 2, "1980-06-06")
    visit(p, "a", "2019-12-05", "2019-12-01")
    w.marker3(p, "a", "MUA01", "2019-12-20")
    w.marker3(p, "a", "MUA01", "2020-01-15")

    # The course's first contact is somatic -> not a psychiatric course, no unit.
    p = "n4_first_contact_somatic_not_unit"
    w.person(p, 1, "1980-06-06")
    visit(p, "a", "2020-09-01", "2020-08-25", spec="neurologi", adiag="DG439")
    visit(p, "a", "2020-09-10", "2020-08-25")
    w.marker3(p, "a", "MUA01", "2020-09-15")

    # LPR2: acute psychiatric visit with a referral 2018-02-01 and a contact marker 2018-02-20
    # -> met (19 days); acute, so not an N3 unit.
    p = "n4_lpr2_referral_met"
    w.person(p, 2, "1980-06-06")
    w.lpr2(p, "2018-02-10 09", "2018-02-10 10", pattype="2", indm="1", hendto="2018-02-01",
           markers=(("MUA01", "2018-02-20"),))


def n7_persons(w: World) -> None:
    """N7 (2021): born 1996 (nobody else in the world is). Psychiatric visits are planned, one hour."""

    def visit(p: str, day: str) -> None:
        w.lpr3(p, "a", f"{day} 09:00", f"{day} 10:00", prio="ATA3")

    p = "n7_gymnasial_counts"  # LPR2 visit at 22; gymnasial -> numerator
    w.person(p, 2, "1996-02-02")
    w.lpr2(p, "2018-05-05 09", "2018-05-05 10", pattype="2", indm="2")
    w.education(p, 2021, "gymnasial")

    p = "n7_grundskole_not"  # only grundskole -> population only
    w.person(p, 1, "1996-04-04")
    visit(p, "2019-06-06")
    w.education(p, 2021, "grundskole")

    p = "n7_no_education_row_not"  # no uddannelse row -> not completed
    w.person(p, 2, "1996-06-06")
    visit(p, "2020-03-03")

    p = "n7_ukendt_not"  # level unknown -> not completed
    w.person(p, 1, "1996-07-07")
    visit(p, "2019-07-07")
    w.education(p, 2021, "ukendt")

    p = "n7_contact_day_before_25th_counts"  # visit the day before the 25th birthday -> population
    w.person(p, 2, "1996-08-08")
    visit(p, "2021-08-07")
    w.education(p, 2021, "lang_videregaaende")

    p = "n7_contact_on_25th_birthday_not"  # visit on the 25th birthday -> comparison group only
    w.person(p, 1, "1996-03-03")
    visit(p, "2021-03-03")
    w.education(p, 2021, "erhvervsfaglig")

    p = "n7_born_0229_contact_0228_counts"  # 25th birthday in 2021 is 1 March -> 24 on 28 Feb
    w.person(p, 2, "1996-02-29")
    visit(p, "2021-02-28")
    w.education(p, 2021, "gymnasial")

    p = "n7_not_in_bef_2021_not"  # emigrated: not in bef 2021 -> in neither group
    w.person(p, 2, "1996-09-09", bef_years=range(2016, 2021))
    visit(p, "2019-09-09")
    w.education(p, 2021, "gymnasial")

    p = "n7_comparison_erhvervsfaglig"  # no psychiatric contact -> comparison group, completed
    w.person(p, 1, "1996-10-10")
    w.education(p, 2021, "erhvervsfaglig")

    p = "n7_comparison_grundskole"  # no psychiatric contact -> comparison group, not completed
    w.person(p, 2, "1996-11-11")
    w.education(p, 2021, "grundskole")


def n8_persons(w: World) -> None:
    """N8 (2017): cohort = in bef 2017 with a psychiatric visit in 2016. Nobody else in the world is
    female born 1962-01-02..1967-01-01 (F 50-54 on 1 Jan 2017) or male born 1972-01-02..1977-01-01
    (M 40-44), so both bands are exactly the persons below."""

    def visit(p: str, day: str) -> None:
        w.lpr2(p, f"{day} 09", f"{day} 10", pattype="2", indm="2")

    # Band F 50-54: 4 members, 2 deaths in 2017 -> rate 0.5.
    p = "n8_cohort_f50_dies_2017"
    w.person(p, 2, "1965-03-03", bef_years=range(2016, 2018))
    visit(p, "2016-04-04")
    w.death(p, "2017-05-05")
    p = "n8_cohort_f50_alive"
    w.person(p, 2, "1964-07-07")
    visit(p, "2016-05-05")
    p = "n8_noncohort_f50_dies_2017"
    w.person(p, 2, "1963-08-08", bef_years=range(2016, 2018))
    w.death(p, "2017-09-09")
    p = "n8_noncohort_f50_alive"
    w.person(p, 2, "1966-10-10")

    # Band M 40-44: 5 members (one aged exactly 40 on 1 January), 1 death -> rate 0.2.
    p = "n8_cohort_m40_alive"
    w.person(p, 1, "1975-01-01")
    visit(p, "2016-06-06")
    p = "n8_cohort_m_age40_on_jan1"
    w.person(p, 1, "1977-01-01")
    visit(p, "2016-07-07")
    p = "n8_noncohort_m40_dies_2017"
    w.person(p, 1, "1974-04-04", bef_years=range(2016, 2018))
    w.death(p, "2017-11-11")
    p = "n8_noncohort_m40_alive_a"
    w.person(p, 1, "1973-05-05")
    p = "n8_noncohort_m40_alive_b"
    w.person(p, 1, "1976-06-06")

    # Born 1977-01-02: 39 on 1 January 2017 -> band 35-39, so this death is not in band 40-44.
    p = "n8_noncohort_m39_dies_other_band"
    w.person(p, 1, "1977-01-02", bef_years=range(2016, 2018))
    w.death(p, "2017-03-03")

    # Psychiatric visit 2016 but not in bef 2017 -> not in the 2017 cohort.
    p = "n8_visit2016_not_in_bef2017"
    w.person(p, 1, "1960-12-12", bef_years=range(2016, 2017))
    visit(p, "2016-08-08")


def survey_and_lup(w: World) -> None:
    """P1 (sundhedsprofil 2017, 2021) and N5/N6 (lup_psykiatri 2020). Respondent ids are the names."""
    # P1 2021: (respondent, age, sex, mcs, weight)
    for rid, alder, koen, mcs, vaegt in (
        ("p1_mcs_at_cutoff_not_below", 16, 1, 35.76, 2.0),  # exactly the cut-off is NOT below
        ("p1_mcs_just_below_counts", 24, 2, 35.75, 3.0),
        ("p1_age25_not_youth", 25, 1, 20.0, 5.0),  # below, but 25: only in the 16+ population
        ("p1_age15_not_population", 15, 2, 10.0, 1.0),  # under 16: in neither population
        ("p1_mcs_empty_excluded", 20, 1, None, 4.0),
        ("p1_youth_not_below", 22, 2, 50.0, 1.0),
        ("p1_youth_below_small_weight", 18, 1, 30.0, 0.5),
        ("p1_adult_not_below", 60, 2, 40.0, 2.5),
    ):
        w.survey(2021, rid, alder, koen, mcs, vaegt, kom=751 if koen == 1 else 101)
    # P1 2017.
    w.survey(2017, "p1_2017_youth_below", 19, 2, 30.0, 1.5, kom=461)
    w.survey(2017, "p1_2017_youth_not_below", 21, 1, 40.0, 2.5, kom=461)

    # N5/N6 2020: (respondent, region, target group, satisfaction, involvement); None = don't know.
    for rid, region, grp, t, i in (
        ("n5_bu_5_n6_3", 84, "bu_indlagt", 5, 3),
        ("n5_bu_dontknow_n6_4", 84, "bu_ambulant", None, 4),
        ("n5_bu_3_n6_dontknow", 85, "bu_ambulant", 3, None),
        ("n5_voksen_4_n6_4", 82, "voksen_indlagt", 4, 4),
        ("n5_voksen_1_n6_5", 83, "voksen_ambulant", 1, 5),
        ("n5_voksen_dontknow_both", 83, "voksen_ambulant", None, None),
        ("n5_voksen_5_n6_4", 81, "voksen_indlagt", 5, 4),
    ):
        w.lup(2020, rid, region, grp, t, i)


# =============================================================================================
# Noise: deterministic, simple rules; the test counts its contribution.
# =============================================================================================

N_NOISE = 30
NOISE_KOM = (851, 751, 461, 265, 101)


def noise(w: World) -> None:
    """30 elderly persons (born 15 June 1930-1939, in bef every year, never die, no psychiatric
    contact): one planned one-hour somatic visit per year with a færdigbehandlet and an
    assessment marker (somatic, so ignored by N1/N4); tvang restraint rows for noise_00..04 in every
    year except 2020; DREAM early-retirement weeks for noise_00..09; grundskole every year; 20 LUP
    adult respondents per year with satisfaction 1 + i % 5 and involvement 5 - i % 5."""
    for i in range(N_NOISE):
        p = f"noise_{i:02d}"
        w.person(p, 1 + i % 2, f"{1930 + i % 10}-06-15", kom=NOISE_KOM[i % 5])
        for y in YEARS:
            w.education(p, y, "grundskole")
            if y in LPR2_YEARS:
                w.lpr2(p, f"{y}-03-0{1 + i % 9} 09", f"{y}-03-0{1 + i % 9} 10", spec="01", indm="2",
                       pattype="2", adiag="DI109", diags=(("DE119", "B"),), markers=(("MFB01", f"{y}-03-0{1 + i % 9}"),))
            else:
                w.lpr3(p, f"s{y}", f"{y}-03-0{1 + i % 9} 09:00", f"{y}-03-0{1 + i % 9} 10:00", spec="intern medicin",
                       prio="ATA3", adiag="DI109", region=81, diags=(("DE119", "B", "Nej"),))
                w.marker3(p, f"s{y}", "MUA01", f"{y}-03-0{1 + i % 9}")
                w.marker3(p, f"s{y}", "MFB01", f"{y}-03-0{1 + i % 9}")
            if i < 5 and y != 2020:
                w.tvang(p, 3, "fastholdelse", f"{y}-09-1{i} 10:00", end=f"{y}-09-1{i} 10:20", region=81)
        if i < 10:
            w.dream(p, {c: "412" for c in DREAM_WEEKS})
    for y in YEARS:
        for i in range(20):
            w.lup(y, f"noise_lup_{y}_{i:02d}", 81, "voksen_ambulant", 1 + i % 5, 5 - i % 5)


def build_world() -> World:
    w = World()
    p4_persons(w)
    i1_i2_n2_persons(w)
    p2_persons(w)
    p3_persons(w)
    p5_persons(w)
    p6_persons(w)
    n1_persons(w)
    n3_n4_persons(w)
    n7_persons(w)
    n8_persons(w)
    survey_and_lup(w)
    noise(w)
    return w


# =============================================================================================
# Writing the raw folder.
# =============================================================================================

_PL_TYPES = {"str": pl.Utf8, "int": pl.Int64, "date": pl.Date, "float": pl.Float64}


def _frame(register: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    cols = COLUMNS[register]
    return pl.DataFrame(
        {c: [r.get(c) for r in rows] for c in cols}, schema={c: _PL_TYPES[t] for c, t in cols.items()}
    )


def _dream_frame(w: World) -> pl.DataFrame:
    pnrs = sorted(w.dream_rows)
    data: dict[str, list[str | None]] = {"pnr": pnrs}
    for col in DREAM_WEEKS:
        data[col] = [w.dream_rows[p].get(col) for p in pnrs]
    return pl.DataFrame(data, schema={c: pl.Utf8 for c in data})


def _write(df: pl.DataFrame, path: Path, fmt: str) -> None:
    kind, _, opt = fmt.partition("+")
    if opt == "upper":
        df = df.rename({c: c.upper() for c in df.columns})
    if kind == "parquet":
        df.write_parquet(path.with_suffix(".parquet"))
        return
    text = df.write_csv(separator=kind[-1], null_value="", float_precision=None)
    encoding = "latin-1" if kind.startswith("latin1") else "utf-8"
    path.with_suffix(".csv").write_bytes(text.encode(encoding))


def write_world(raw_dir: Path) -> World:
    """Write the edge world as a raw extract folder under raw_dir; return the world's rows."""
    w = build_world()
    raw_dir.mkdir(parents=True, exist_ok=True)
    for register, by_year in FORMATS.items():
        folder = raw_dir / register
        folder.mkdir(exist_ok=True)
        for year, fmt in by_year.items():
            if register == "dream":
                df = _dream_frame(w)
            else:
                df = _frame(register, w.rows.get((register, year), []))
            name = register if year is None else f"{register}_{year}"
            _write(df, folder / name, fmt)
    # Files at the raw root starting with '_' are not registers.
    (raw_dir / "_edge_world.json").write_text(json.dumps({"world": "edge", "years": [min(YEARS), max(YEARS)]}))
    return w


def named_persons(w: World) -> list[str]:
    """Every named (non-noise) person id of the world, for sanity checks."""
    ids = {r["pnr"] for (reg, _), rows in w.rows.items() if reg == "bef" for r in rows}
    ids |= set(w.kom_of)
    return sorted(p for p in ids if not p.startswith("noise_"))


if __name__ == "__main__":  # manual inspection: python tests/edge_world/world.py OUT_DIR
    import sys

    write_world(Path(sys.argv[1]))
