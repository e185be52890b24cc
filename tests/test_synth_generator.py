"""Synthetic register generator: determinism, files and formats, LPR generations, DREAM weeks,
coherence of one person's story across registers, no exact duplicate rows in a clean world (pipeline.synth).
The calibration to the published figures is checked through the pipeline: tests/test_synth_calibration.py."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.synth import generate
from pipeline.synth.readback import build_stays, load_world, read_file

REGISTERS = {"bef", "dod", "lpr_adm", "lpr_diag", "lpr_markoer", "lpr_f_kontakter", "lpr_f_diagnoser",
             "lpr_f_forloebsmarkoerer", "tvang", "dream", "sundhedsprofil", "sociale_indsatser", "uddannelse",
             "lup_psykiatri"}
YEARS = list(range(2016, 2022))  # crosses the LPR2 -> LPR3 switch, survey years 2017 and 2021


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("synth_world")
    summary = generate(out, scale=0.002, years=YEARS, seed=11, progress=False)
    return out, summary


@pytest.fixture(scope="module")
def con(world):
    root, _ = world
    c = load_world(root)
    build_stays(c)
    return c


def _manifest(root: Path) -> dict:
    return json.loads((root / "_synthetic.json").read_text(encoding="utf-8"))


def _frames(root: Path) -> dict[str, pl.DataFrame]:
    return {f["file"]: read_file(root / f["file"], f["format"]) for f in _manifest(root)["files"]}


def test_same_seed_same_world_other_seed_other_world(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 5), (b, 5), (c, 6)):
        generate(out, scale=0.0005, years=[2018, 2019], seed=seed, progress=False)
    fa, fb, fc = _frames(a), _frames(b), _frames(c)
    assert fa.keys() == fb.keys()
    for name in fa:
        assert fa[name].equals(fb[name]), name
    assert not fa["bef/bef_2018.parquet" if "bef/bef_2018.parquet" in fa else "bef/bef_2018.csv"].equals(
        fc["bef/bef_2018.parquet" if "bef/bef_2018.parquet" in fc else "bef/bef_2018.csv"])


def test_every_register_written_in_allowed_formats_and_readable(world) -> None:
    from pipeline.readers import read_extract

    root, summary = world
    manifest = _manifest(root)
    assert manifest["synthetic"] is True and manifest["seed"] == 11 and manifest["scale"] == 0.002
    assert manifest["years"] == YEARS and manifest["dirty"] is False and manifest["created_at"]
    files = manifest["files"]
    assert {f["register"] for f in files} == REGISTERS
    labels = {f["format"] for f in files}
    assert {"parquet", "csv(';',utf-8)", "csv(',',utf-8)", "csv(';',latin-1)"} <= labels
    for f in files:
        path = root / f["file"]
        assert path.parent.name == f["register"]
        expected = f"{f['register']}_{f['year']}" if f["year"] is not None else f["register"]
        assert re.fullmatch(re.escape(expected) + r"\.(parquet|csv)", path.name), path.name
        assert read_extract(path).frame.height == f["rows"] > 0, f["file"]
    latin1 = [root / f["file"] for f in files if "latin-1" in f["format"]]
    raw = latin1[0].read_bytes()
    assert "børne- og ungdomspsykiatri".encode("latin-1") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    yearly = {f["register"] for f in files if f["year"] is not None}
    assert {f["year"] for f in files if f["register"] == "sundhedsprofil"} == {2017, 2021}
    assert {f["year"] for f in files if f["register"] == "bef"} == set(YEARS)
    assert {"dod", "dream", "sociale_indsatser"}.isdisjoint(yearly)
    assert summary["rows"] == {r: sum(f["rows"] for f in files if f["register"] == r) for r in REGISTERS}


def test_lpr2_up_to_2018_lpr3_from_2019_with_lpr2_duplicates(con) -> None:
    years_lpr2 = {r[0] for r in con.execute("select distinct _year from lpr_adm").fetchall()}
    years_lpr3 = {r[0] for r in con.execute("select distinct _year from lpr_f_kontakter").fetchall()}
    assert years_lpr2 == {2016, 2017, 2018} and years_lpr3 == {2019, 2020, 2021}
    assert con.execute("select max(d_inddto) from lpr_adm").fetchone()[0] <= date(2018, 12, 31)
    assert con.execute("select min(dato_start) from lpr_f_kontakter where lprindberetningssystem = 'LPR3'"
                   ).fetchone()[0] >= date(2019, 1, 1)
    dup, matched, in_2019 = con.execute("""
        select count(*), count(a.recnum), count(*) filter (where k._year = 2019)
        from lpr_f_kontakter k
        left join lpr_adm a on a.pnr = k.cpr and a.d_inddto = k.dato_start
             and a.v_indtime = hour(k.tidspunkt_start::time) and a.c_adiag = k.aktionsdiagnose
        where k.lprindberetningssystem = 'LPR2'""").fetchone()
    assert dup > 0 and matched == dup and in_2019 == dup
    # open contacts at data end, virtual contacts, referral dates, courses grouping several contacts
    open_, virtual, referred, multi = con.execute("""
        select count(*) filter (where dato_slut is null and _year = 2021),
               count(*) filter (where kontakttype = 'ALCA03'),
               count(*) filter (where dato_henvisning is not null and prioritet = 'ATA3'
                                and hovedspeciale_ans in ('psykiatri', 'børne- og ungdomspsykiatri')),
               (select count(*) from (select dw_ek_forloeb from lpr_f_kontakter group by 1 having count(*) > 1))
        from lpr_f_kontakter""").fetchone()
    assert open_ > 0 and virtual > 0 and referred > 0 and multi > 0
    markers = dict(con.execute("select markoer, count(*) from (select markoer from lpr_markoer union all "
                           "select markoer from lpr_f_forloebsmarkoerer) group by 1").fetchall())
    assert {"MFB01", "MUA01"} <= markers.keys() and any(k.startswith("MUF0") for k in markers)


def test_dream_has_a_column_for_every_iso_week(world) -> None:
    root, _ = world
    cols = pl.read_parquet_schema(root / "dream" / "dream.parquet")
    weeks = [c for c in cols if c != "pnr"]
    # 1 January 2016 lies in ISO week 2015-W53; 31 December 2021 in 2021-W52; 2020 has a week 53
    assert weeks[0] == "y_1553" and weeks[-1] == "y_2152" and "y_2053" in weeks and "y_1953" not in weeks
    assert len(weeks) == 1 + 52 * 6 + 1
    assert set(pl.read_parquet(root / "dream" / "dream.parquet").select(weeks).unpivot()["value"].drop_nulls()
               .unique().to_list()) <= {"111", "130", "651", "652", "740", "890", "774", "781", "521", "412"}


def test_one_person_one_story(con) -> None:
    # coercion in psychiatry happens within one of the person's psychiatric stays
    outside = con.execute("""
        select count(*) from tvang t
        where t.behandlingsomraade = 'psykiatri' and not exists (
            select 1 from cal_stays s where s.pnr = t.pnr and s.psych
              and t.start_dato + coalesce(t.start_tid::time, time '00:00') between s.start_ts
                  and coalesce(s.end_ts, 'infinity'::timestamp))""").fetchone()[0]
    assert outside == 0
    # nobody has a hospital contact after their death
    after_death = con.execute("""select count(*) from cal_contacts c join cal_deaths d using (pnr)
                             where c.start_ts::date > d.doddato""").fetchone()[0]
    assert after_death == 0
    # admitted psychiatric patients get more DREAM weeks, and coercion concentrates in few persons
    # (their excess mortality is checked on a larger world: tests/test_synth_calibration.py; ~100
    # patients here expect about four deaths, too few to compare)
    weeks = dict(con.execute("""
        with long as (unpivot dream on columns(* exclude (pnr, _year)) into name wk value code),
        psych as (select distinct pnr from cal_admissions where psych)
        select d.pnr in (select pnr from psych), count(l.code) / count(distinct d.pnr)
        from dream d left join long l using (pnr)
        where d.pnr not in (select pnr from sociale_indsatser) group by 1""").fetchall())
    assert weeks[True] > 1.2 * weeks[False]
    suicides = con.execute("select count(*) from dod where substr(c_dodsaarsag, 1, 4) between 'DX60' and 'DX84'"
                       ).fetchone()[0]
    self_harm = con.execute("""select count(*) from (select c_diag d from lpr_diag union all
                           select diagnosekode from lpr_f_diagnoser) where substr(d, 1, 4) between 'DX60' and 'DX84'"""
                        ).fetchone()[0]
    assert suicides > 0 and self_harm > 0
    coerced, admitted = con.execute("""
        select (select count(distinct pnr) from tvang where behandlingsomraade = 'psykiatri' and skema <= 3),
               (select count(distinct pnr) from cal_admissions where psych)""").fetchone()
    assert 0.1 * admitted < coerced < 0.5 * admitted
    kinds = dict(con.execute("select skema, count(*) from tvang group by 1").fetchall())
    assert set(kinds) == {1, 2, 3, 4, 5}


def test_regenerating_replaces_the_previous_world(tmp_path: Path) -> None:
    generate(tmp_path, scale=0.0005, years=[2017, 2018], seed=1, dirty=True, progress=False)
    (tmp_path / "bef" / "notes.txt").write_text("kept")  # not a register file: left alone
    generate(tmp_path, scale=0.0005, years=[2019], seed=1, progress=False)
    assert sorted(p.name for p in (tmp_path / "bef").iterdir()) == sorted(["notes.txt", next(
        f["file"] for f in _manifest(tmp_path)["files"] if f["register"] == "bef").split("/")[1]])
    assert not list((tmp_path / "lpr_adm").iterdir()) and not (tmp_path / "_faults.json").exists()


def test_clean_world_has_no_duplicate_ids(con) -> None:
    for register, key in (("sociale_indsatser", "pnr, paragraf, maalgruppe, start_dato"),
                          ("lpr_adm", "recnum"), ("lpr_f_kontakter", "dw_ek_kontakt"), ("bef", "pnr, _year"),
                          ("uddannelse", "pnr, _year"), ("dod", "pnr")):
        # names are literals of this test, not input
        dupes = con.execute(f"select count(*) from (select {key} from {register} group by all having count(*) > 1)"
                            ).fetchone()[0]
        assert dupes == 0, register


def _exact_duplicates(root: Path) -> dict[str, int]:
    """Exact duplicate rows per file, as ingestion's `duplicate_row` rule sees them (every column as read);
    files a dirty world made unreadable on purpose are left out."""
    from pipeline.readers import read_extract

    faults = root / "_faults.json"
    whole_file = {f["file"] for f in json.loads(faults.read_text())["faults"] if f["expected"] == "unreadable"
                  } if faults.exists() else set()
    out = {}
    for f in _manifest(root)["files"]:
        if f["file"] in whole_file:
            continue
        df = read_extract(root / f["file"]).frame.drop("_source_row", strict=False)
        out[f["file"]] = df.height - df.unique().height
    return out


def test_clean_world_has_no_exact_duplicate_rows(world) -> None:
    root, _ = world
    dupes = _exact_duplicates(root)
    assert len(dupes) >= len(YEARS) * 7 and not {k: v for k, v in dupes.items() if v}, dupes


def test_coercion_never_writes_a_measure_twice() -> None:
    """Many measures on few short admissions: before the fix, two form 1 measures on one admission (start
    within its first hour, same length) or two belts clamped to a short admission's end were the same row
    (2 of 6,114 tvang rows at demo scale)."""
    import copy

    import numpy as np

    from pipeline.synth import coercion
    from pipeline.synth.params import load_params
    from pipeline.synth.population import Population, year_bounds
    from pipeline.synth.world import World

    rng = np.random.default_rng(5)
    params = copy.deepcopy(load_params())
    scale, year = 0.001, 2017
    cp = params["coercion"]
    cp["persons_adults"], cp["persons_children"] = 30 / scale, 0  # all three admitted persons
    cp["form1_measures"], cp["belted_persons"] = 300 / scale, 30 / scale
    w = World(rng=rng, params=params, scale=scale, years=[year], pop=Population.initial(rng, params, scale, year))
    w.sync_person_arrays()
    w.pop.klass[:3] = 3
    y0, _ = year_bounds(year)
    start = (y0 + 100 + np.arange(3)) * 1440 + 600
    adm = pl.DataFrame({"pid": np.arange(3), "start": start, "end": start + 13 * 60, "acute": np.ones(3, bool),
                        "region": np.full(3, 84, np.int32), "child": np.zeros(3, bool)})
    out = coercion.generate_year(w, year, adm)
    assert out.filter(pl.col("skema") == 1).height > 30  # many measures on three admissions
    assert out.height == out.unique().height


def test_dirty_world_duplicates_only_the_planned_rows(tmp_path: Path) -> None:
    generate(tmp_path, scale=0.002, years=YEARS, seed=11, dirty=True, progress=False)
    planned = {}
    for f in json.loads((tmp_path / "_faults.json").read_text(encoding="utf-8"))["faults"]:
        if f["kind"] == "duplicate_row":
            planned[f["file"]] = f["rows"]
    rows = {f["file"]: f["rows"] for f in _manifest(tmp_path)["files"]}
    assert len(planned) == 1 and all(n == max(1, round(0.0005 * (rows[k] - n))) for k, n in planned.items())
    dupes = {k: v for k, v in _exact_duplicates(tmp_path).items() if v}
    assert dupes == planned
