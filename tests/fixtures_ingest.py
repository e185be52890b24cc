"""A tiny, valid, hand-written extract of every register (for the ingest tests), and helpers to write it.

`GOOD_ROWS` holds one or two valid rows per register, as text exactly as a CSV would carry them; the
rule tests mutate one field of a valid row at a time. `write_extract` writes a folder that follows the
register contract (one folder per register, `<register>_<YYYY>.csv` for yearly registers).
"""

from __future__ import annotations

import csv
from pathlib import Path

from pipeline.contract import load_contract

# One valid row per register (text as delivered). Person ids are made up.
GOOD_ROWS: dict[str, list[dict[str, str | None]]] = {
    "bef": [
        {"pnr": "P001", "koen": "1", "foed_dag": "1980-05-17", "kom": "101"},
        {"pnr": "P002", "koen": "2", "foed_dag": "2005-02-28", "kom": "751"},
        {"pnr": "P003", "koen": "2", "foed_dag": "1950-12-31", "kom": "851"},
    ],
    "dod": [{"pnr": "P003", "doddato": "2016-03-01", "c_dodsaarsag": "DX700"}],
    "lpr_adm": [
        {"recnum": "R1", "pnr": "P001", "c_sgh": "1301", "c_afd": "011", "c_spec": "50", "c_pattype": "0",
         "c_indm": "1", "d_hendto": "2015-02-01", "d_inddto": "2015-03-01", "v_indtime": "10", "d_uddto": "2015-03-05",
         "v_udtime": "12", "c_adiag": "DF200", "c_kom": "101"},
        {"recnum": "R2", "pnr": "P002", "c_sgh": "6006", "c_afd": "020", "c_spec": "08", "c_pattype": "2",
         "c_indm": "2", "d_hendto": "2015-01-10", "d_inddto": "2015-06-01", "v_indtime": "8", "d_uddto": "2015-06-01",
         "v_udtime": "9", "c_adiag": "DJ189", "c_kom": "751"},
    ],
    "lpr_diag": [{"recnum": "R1", "c_diag": "DF200", "c_diagtype": "A"}],
    "lpr_markoer": [{"recnum": "R1", "markoer": "MFB01", "d_markoer": "2015-03-04"},
                    {"recnum": "R1", "markoer": "MUA01", "d_markoer": "2015-03-03"}],
    "lpr_f_kontakter": [
        {"dw_ek_kontakt": "K1", "dw_ek_forloeb": "F1", "cpr": "P001", "dato_start": "2019-02-01",
         "tidspunkt_start": "08:30", "dato_slut": "2019-02-03", "tidspunkt_slut": "14:00:00",
         "dato_henvisning": "2019-01-10", "kontakttype": "ALCA00", "prioritet": "ATA1", "hovedspeciale_ans": "psykiatri",
         "sorenhed_ans": "123456", "region_ans": "84", "aktionsdiagnose": "DF322",
         "lprindberetningssystem": "LPR3", "kom": "101"},
    ],
    "lpr_f_diagnoser": [{"dw_ek_kontakt": "K1", "diagnosekode": "DF322", "diagnosetype": "A", "senere_afkraeftet": "Nej"}],
    "lpr_f_forloebsmarkoerer": [
        {"dw_ek_forloeb": "F1", "markoer": "MUA01", "dato_markoer": "2019-02-02", "tidspunkt_markoer": "10:00"}
    ],
    "tvang": [
        {"pnr": "P001", "skema": "3", "tvangstype": "baelte", "begrundelse": "Nærliggende fare",
         "start_dato": "2015-03-02", "start_tid": "22:10", "slut_dato": "2015-03-03", "slut_tid": "01:00",
         "behandlingsomraade": "psykiatri", "region": "84"},
    ],
    "dream": [{"pnr": "P001", "y_1501": "111", "y_1502": None}, {"pnr": "P002", "y_1501": None, "y_1502": "651"}],
    "sundhedsprofil": [
        {"respondent_id": "S1", "pnr": "P002", "alder": "20", "koen": "2", "kom": "751", "mcs": "41.5", "vaegt": "1.25"}
    ],
    "sociale_indsatser": [
        {"pnr": "P001", "paragraf": "85", "maalgruppe": "sindslidelse", "start_dato": "2016-01-01", "slut_dato": None}
    ],
    "uddannelse": [{"pnr": "P001", "hfaudd_niveau": "gymnasial"}, {"pnr": "P002", "hfaudd_niveau": "grundskole"}],
    "lup_psykiatri": [
        {"respondent_id": "L1", "region": "84", "maalgruppe": "voksen_indlagt", "tilfredshed": "4", "inddragelse": None}
    ],
}


def write_csv(path: Path, rows: list[dict[str, str | None]], *, sep: str = ",", encoding: str = "utf-8",
              columns: list[str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = columns or list(rows[0])
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, delimiter=sep, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow(["" if r.get(c) is None else r[c] for c in columns])
    return path


def register_file(root: Path, register: str, year: int | None, ext: str = "csv") -> Path:
    name = f"{register}_{year}.{ext}" if year is not None else f"{register}.{ext}"
    return root / register / name


# Dated registers: their rows above are written for every year the register covers, with the dates
# moved to that year and the contact/course ids suffixed with it (LPR2 up to 2018, LPR3 from 2019).
BASE_YEAR = {"lpr_adm": 2015, "lpr_diag": 2015, "lpr_markoer": 2015, "tvang": 2015, "lpr_f_kontakter": 2019,
             "lpr_f_diagnoser": 2019, "lpr_f_forloebsmarkoerer": 2019}
COVERS = {"lpr_adm": range(1977, 2019), "lpr_diag": range(1977, 2019), "lpr_markoer": range(1977, 2019),
          "lpr_f_kontakter": range(2019, 2100), "lpr_f_diagnoser": range(2019, 2100),
          "lpr_f_forloebsmarkoerer": range(2019, 2100)}
ID_COLUMNS = ("recnum", "dw_ek_kontakt", "dw_ek_forloeb", "respondent_id")
SURVEY_YEARS = {2010, 2013, 2017, 2021, 2025}


# persons turning 25 in each year (education indicator), added to every bef file of write_extract
TURNING_25 = [{"pnr": f"P1{y}", "koen": "1", "foed_dag": f"{y - 25}-06-01", "kom": "147"} for y in range(2010, 2026)]


def rows_for_year(name: str, year: int) -> list[dict[str, str | None]]:
    reg = load_contract()[name]
    dates = [c.name for c in reg.columns if c.type == "date"]
    shift = year - BASE_YEAR.get(name, year)
    rows = []
    for r in GOOD_ROWS[name]:
        r = dict(r)
        for c in dates:
            if shift and r.get(c):
                r[c] = f"{int(r[c][:4]) + shift}{r[c][4:]}"
        for c in ID_COLUMNS:
            if c in r and name != "bef":
                r[c] = f"{r[c]}_{year}"
        rows.append(r)
    return rows


def write_extract(root: Path, years: list[int]) -> Path:
    """Every register, valid rows only, as CSV: yearly registers get one file per year in `years` that
    the register covers (LPR2 up to 2018, LPR3 from 2019, health profile in survey years)."""
    for name, reg in load_contract().items():
        if not reg.yearly:
            write_csv(register_file(root, name, None), GOOD_ROWS[name])
            continue
        for year in years:
            if year not in COVERS.get(name, range(1900, 2100)):
                continue
            if name == "sundhedsprofil" and year not in SURVEY_YEARS:
                continue
            extra = TURNING_25 if name == "bef" else []
            write_csv(register_file(root, name, year), rows_for_year(name, year) + extra)
    return root
