"""The nightly schedule and the raw-folder sensor, evaluated directly with exact expected run requests.

A small hand-built graph stands in for the pipeline (bef yearly -> persons -> p4 yearly; dod one-file
-> persons; lpr_adm yearly -> p4; geography alone), so the expected selections are written by hand.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipeline import ops
from pipeline.resources import SettingsResource

YEARS_2010_2025 = dg.StaticPartitionsDefinition([str(y) for y in range(2010, 2026)])
SR = dg.BackfillPolicy.single_run()
CPH = ZoneInfo("Europe/Copenhagen")
OLD = time.time() - 3600  # an mtime well past the settle window


@dg.asset(partitions_def=YEARS_2010_2025, backfill_policy=SR)
def bef() -> None: ...


@dg.asset(partitions_def=YEARS_2010_2025, backfill_policy=SR)
def lpr_adm() -> None: ...


@dg.asset
def dod() -> None: ...


@dg.asset
def geography() -> None: ...


@dg.asset(deps=[bef, dod])
def persons() -> None: ...


@dg.asset(deps=[persons, lpr_adm], partitions_def=YEARS_2010_2025, backfill_policy=SR)
def p4() -> None: ...


def K(*names: str) -> list[dg.AssetKey]:
    return [dg.AssetKey(n) for n in names]


# --- schedule ---------------------------------------------------------------------------------------


def _tick(schedule: dg.ScheduleDefinition, when: datetime) -> dg.RunRequest | dg.SkipReason:
    return schedule(dg.build_schedule_context(scheduled_execution_time=when))


def test_nightly_schedule_new_year_tick_only_previous_year_is_a_partition() -> None:
    schedule = ops.build_nightly_schedule(YEARS_2010_2025)
    req = _tick(schedule, datetime(2026, 1, 1, 2, 0, tzinfo=CPH))
    assert isinstance(req, dg.RunRequest)
    assert (req.run_key, req.partition_key, dict(req.tags)) == ("nightly:2026-01-01", "2025", {})


def test_nightly_schedule_mid_year_refreshes_previous_and_current_year_in_one_run() -> None:
    schedule = ops.build_nightly_schedule(YEARS_2010_2025)
    req = _tick(schedule, datetime(2025, 6, 15, 2, 0, tzinfo=CPH))
    assert (req.run_key, req.partition_key, dict(req.tags)) == (
        "nightly:2025-06-15",
        None,
        {"dagster/asset_partition_range_start": "2024", "dagster/asset_partition_range_end": "2025"},
    )


def test_nightly_schedule_first_year_and_no_year() -> None:
    schedule = ops.build_nightly_schedule(YEARS_2010_2025)
    first = _tick(schedule, datetime(2010, 3, 1, 2, 0, tzinfo=CPH))
    assert (first.partition_key, dict(first.tags)) == ("2010", {})
    assert isinstance(_tick(schedule, datetime(2030, 3, 1, 2, 0, tzinfo=CPH)), dg.SkipReason)


def test_nightly_schedule_is_nightly_in_copenhagen_time() -> None:
    schedule = ops.build_nightly_schedule(YEARS_2010_2025)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "Europe/Copenhagen")


def test_year_blocks() -> None:
    assert ops.year_blocks([2019, 2015, 2016, 2021, 2020]) == [(2015, 2016), (2019, 2021)]
    assert ops.year_blocks([]) == []


# --- sensor -----------------------------------------------------------------------------------------


def _write(raw: Path, rel: str, text: str, mtime: float = OLD) -> Path:
    p = raw / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    os.utime(p, (mtime, mtime))
    return p


def _entry(p: Path) -> dict:
    st = p.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": None}


def _evaluate(raw: Path, cursor: str | None, instance: dg.DagsterInstance) -> dg.SensorResult:
    sensor = ops.build_raw_files_sensor(YEARS_2010_2025)
    settings = SettingsResource(
        raw_dir=str(raw), marts_dir=str(raw / "m"), exports_dir=str(raw / "e"), warehouse=str(raw / "w"),
        years="2010-2025",
    )
    defs = dg.Definitions(
        assets=[bef, lpr_adm, dod, geography, persons, p4],
        jobs=[ops.refresh_job],
        sensors=[sensor],
        resources={"settings": settings},
    )
    ctx = dg.build_sensor_context(cursor=cursor, instance=instance, definitions=defs, resources={"settings": settings})
    return sensor(ctx)


PLAN_TAGS = (ops.PLAN_TAG, ops.LOAD_TAG, ops.REFRESHED_TAG)  # checked by the refresh-plan tests below


def _summary(result: dg.SensorResult) -> list[tuple]:
    return [
        (r.run_key.rsplit(":", 1)[0], r.asset_selection, r.partition_key,
         {k: v for k, v in r.tags.items() if k not in PLAN_TAGS})
        for r in result.run_requests or []
    ]


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    _write(raw, "bef/bef_2019.csv", "pnr;koen;foed_dag;kom\na;1;1990-01-01;101\n")
    _write(raw, "dod/dod.csv", "pnr;doddato;c_dodsaarsag\n")
    _write(raw, "lpr_adm/lpr_adm_2018.csv", "recnum;pnr\n")
    _write(raw, "_synthetic.json", "{}")
    return raw


def _cursor_of(raw: Path, *rels: str) -> str:
    return json.dumps({rel: _entry(raw / rel) for rel in rels})


def test_sensor_new_yearly_file_requests_that_register_and_year_and_downstream(raw: Path) -> None:
    cursor = _cursor_of(raw, "bef/bef_2019.csv", "dod/dod.csv", "lpr_adm/lpr_adm_2018.csv")
    _write(raw, "bef/bef_2020.csv", "pnr;koen;foed_dag;kom\nb;2;1991-02-03;147\n")
    result = _evaluate(raw, cursor, dg.DagsterInstance.ephemeral())
    assert _summary(result) == [("raw:bef:2020-2020", K("bef", "p4", "persons"), "2020", {})]
    assert set(json.loads(result.cursor)) == {
        "bef/bef_2019.csv", "bef/bef_2020.csv", "dod/dod.csv", "lpr_adm/lpr_adm_2018.csv"
    }


def test_sensor_one_file_register_requests_unpartitioned_asset_and_every_year_downstream(raw: Path) -> None:
    cursor = _cursor_of(raw, "bef/bef_2019.csv", "dod/dod.csv", "lpr_adm/lpr_adm_2018.csv")
    _write(raw, "dod/dod.csv", "pnr;doddato;c_dodsaarsag\nx;2020-05-01;DX700\n")
    result = _evaluate(raw, cursor, dg.DagsterInstance.ephemeral())
    assert _summary(result) == [
        (
            "raw:dod:2010-2025",
            K("dod", "p4", "persons"),
            None,
            {"dagster/asset_partition_range_start": "2010", "dagster/asset_partition_range_end": "2025"},
        )
    ]


def test_sensor_groups_consecutive_years_and_registers(raw: Path) -> None:
    cursor = _cursor_of(raw, "bef/bef_2019.csv", "dod/dod.csv", "lpr_adm/lpr_adm_2018.csv")
    for y in (2020, 2021, 2023):
        _write(raw, f"bef/bef_{y}.csv", f"pnr;koen;foed_dag;kom\nb;2;1991-02-03;{y}\n")
    _write(raw, "lpr_adm/LPR_ADM_2017.SAS7BDAT", "not really sas, the sensor does not read it")
    result = _evaluate(raw, cursor, dg.DagsterInstance.ephemeral())
    range_2020_2021 = {"dagster/asset_partition_range_start": "2020", "dagster/asset_partition_range_end": "2021"}
    assert _summary(result) == [  # in year order
        ("raw:lpr_adm:2017-2017", K("lpr_adm", "p4"), "2017", {}),
        ("raw:bef:2020-2021", K("bef", "p4", "persons"), None, range_2020_2021),
        ("raw:bef:2023-2023", K("bef", "p4", "persons"), "2023", {}),
    ]


def test_sensor_loads_registers_delivered_for_the_same_years_in_one_run(raw: Path) -> None:
    cursor = _cursor_of(raw, "bef/bef_2019.csv", "dod/dod.csv", "lpr_adm/lpr_adm_2018.csv")
    _write(raw, "bef/bef_2020.csv", "pnr;koen;foed_dag;kom\nb;2;1991-02-03;147\n")
    _write(raw, "lpr_adm/lpr_adm_2020.csv", "recnum;pnr\n")
    result = _evaluate(raw, cursor, dg.DagsterInstance.ephemeral())
    assert _summary(result) == [("raw:bef+lpr_adm:2020-2020", K("bef", "lpr_adm", "p4", "persons"), "2020", {})]


def test_sensor_ignores_touch_without_content_change_odd_names_unknown_registers_and_other_years(raw: Path) -> None:
    first = _evaluate(raw, None, dg.DagsterInstance.ephemeral())  # first tick, nothing loaded: 3 runs
    assert [r[0] for r in _summary(first)] == ["raw:dod:2010-2025", "raw:lpr_adm:2018-2018", "raw:bef:2019-2019"]
    later = OLD + 60
    os.utime(raw / "bef/bef_2019.csv", (later, later))  # copied again, same bytes
    _write(raw, "bef/notes.txt", "not an extract")
    _write(raw, "bef/bef_2031.csv", "pnr;koen;foed_dag;kom\n")  # not a configured year
    _write(raw, "bef/befolkning_2020.csv", "pnr\n")  # not the naming contract
    _write(raw, "_tmp/_tmp_2020.csv", "pnr\n")  # underscore folders are not registers
    _write(raw, "unknown/unknown_2020.csv", "pnr\n")  # a folder without an ingest asset
    result = _evaluate(raw, first.cursor, dg.DagsterInstance.ephemeral())
    assert _summary(result) == []
    assert result.skip_reason is not None
    state = json.loads(result.cursor)
    assert state["bef/bef_2019.csv"]["mtime_ns"] == (raw / "bef/bef_2019.csv").stat().st_mtime_ns
    assert "bef/notes.txt" not in state and "_tmp/_tmp_2020.csv" not in state


def test_sensor_waits_for_a_file_still_being_written(raw: Path) -> None:
    cursor = _cursor_of(raw, "bef/bef_2019.csv", "dod/dod.csv", "lpr_adm/lpr_adm_2018.csv")
    _write(raw, "bef/bef_2020.csv", "pnr;koen;foed_dag;kom\n", mtime=time.time())
    result = _evaluate(raw, cursor, dg.DagsterInstance.ephemeral())
    assert _summary(result) == []
    assert "bef/bef_2020.csv" not in json.loads(result.cursor)
    os.utime(raw / "bef/bef_2020.csv", (OLD, OLD))  # settled
    again = _evaluate(raw, result.cursor, dg.DagsterInstance.ephemeral())
    assert _summary(again) == [("raw:bef:2020-2020", K("bef", "p4", "persons"), "2020", {})]


def test_sensor_first_tick_skips_files_already_materialised_after_their_last_change(raw: Path) -> None:
    instance = dg.DagsterInstance.ephemeral()
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="bef", partition="2019"))
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="dod"))
    # lpr_adm 2018 was materialised too, but only 2017: its 2018 file is still new.
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="lpr_adm", partition="2017"))
    result = _evaluate(raw, None, instance)
    assert _summary(result) == [("raw:lpr_adm:2018-2018", K("lpr_adm", "p4"), "2018", {})]
    assert len(json.loads(result.cursor)) == 3


def test_sensor_run_key_changes_with_the_file(raw: Path) -> None:
    cursor = _cursor_of(raw, "bef/bef_2019.csv", "dod/dod.csv", "lpr_adm/lpr_adm_2018.csv")
    _write(raw, "bef/bef_2020.csv", "pnr;koen;foed_dag;kom\n")
    one = _evaluate(raw, cursor, dg.DagsterInstance.ephemeral())
    _write(raw, "bef/bef_2020.csv", "pnr;koen;foed_dag;kom\nc;1;2000-01-01;101\n", mtime=OLD + 5)
    two = _evaluate(raw, one.cursor, dg.DagsterInstance.ephemeral())
    assert _summary(two) == _summary(one)
    assert one.run_requests[0].run_key != two.run_requests[0].run_key


# --- the real definitions ---------------------------------------------------------------------------


def test_definitions_carry_the_schedule_sensor_and_job() -> None:
    from pipeline.definitions import defs

    assert defs.resolve_schedule_def("nightly_refresh").cron_schedule == "0 2 * * *"
    assert defs.resolve_sensor_def("raw_files_sensor").name == "raw_files_sensor"
    follow = defs.resolve_sensor_def("refresh_indicators_sensor")
    assert follow.default_status == dg.DefaultSensorStatus.RUNNING
    graph = defs.resolve_asset_graph()
    executable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_executable}
    assert set(defs.resolve_job_def("refresh").asset_layer.executable_asset_keys) == executable


# --- neighbour years --------------------------------------------------------------------------------

# register (yearly) -> ind (reads 2 years back, 1 ahead) -> mart; survey (yearly) -> same_year (reach 0)
@dg.asset(name="register", partitions_def=YEARS_2010_2025, backfill_policy=SR)
def register_asset() -> None: ...


@dg.asset(deps=[register_asset], partitions_def=YEARS_2010_2025, backfill_policy=SR,
          metadata={ops.REACH_BEFORE: 2, ops.REACH_AFTER: 1})
def ind() -> None: ...


@dg.asset(deps=[register_asset], partitions_def=YEARS_2010_2025, backfill_policy=SR,
          metadata={ops.REACH_BEFORE: 0, ops.REACH_AFTER: 1})
def ind_ahead() -> None: ...


@dg.asset(deps=[ind, ind_ahead], partitions_def=YEARS_2010_2025, backfill_policy=SR)
def mart() -> None: ...


@dg.asset(name="survey", partitions_def=YEARS_2010_2025, backfill_policy=SR)
def survey_asset() -> None: ...


@dg.asset(deps=[survey_asset], partitions_def=YEARS_2010_2025, backfill_policy=SR,
          metadata={ops.REACH_BEFORE: 0, ops.REACH_AFTER: 0})
def same_year() -> None: ...


def _graph() -> object:
    return dg.Definitions(assets=[register_asset, ind, ind_ahead, mart, survey_asset, same_year]).resolve_asset_graph()


def _file(register: str, year: int) -> ops.RawFile:
    return ops.RawFile(f"{register}/{register}_{year}.csv", register, year, 10, 1)


def _plan(refreshed: dict[str, set[int]]) -> list[tuple]:
    runs = ops.refresh_plan(_graph(), {dg.AssetKey(k): v for k, v in refreshed.items()}, list(range(2010, 2026)))
    return [(r.label, r.first, r.last, r.selection) for r in runs]


def _requests(requests: Sequence[dg.RunRequest]) -> list[tuple]:
    return [(r.run_key.rsplit(":", 1)[0], r.asset_selection, r.partition_key,
             {k: v for k, v in r.tags.items() if k not in PLAN_TAGS}) for r in requests]


def _run(instance: dg.DagsterInstance, request: dg.RunRequest, fail: bool = False) -> dg.DagsterRun:
    """A run in `instance` carrying the request's tags, succeeded or failed."""
    @dg.asset(name="register", partitions_def=YEARS_2010_2025, backfill_policy=SR)
    def stand_in() -> None:
        if fail:
            raise RuntimeError("the load failed")

    return dg.materialize([stand_in], instance=instance, tags=dict(request.tags),
                          partition_key=request.partition_key, raise_on_error=False).dagster_run


def test_a_new_year_also_reruns_the_indicators_of_the_years_that_read_it_once_the_load_succeeded() -> None:
    years = list(range(2010, 2026))
    graph = _graph()
    (load,) = ops.run_requests_for([_file("register", 2020)], graph, years)
    assert _requests([load]) == [("raw:register:2020-2020", K("register"), "2020", {})]
    plan_id = load.run_key.rsplit(":", 1)[1]
    assert load.tags[ops.PLAN_TAG] == plan_id and load.tags[ops.LOAD_TAG] == "register:2020-2020"
    assert json.loads(load.tags[ops.REFRESHED_TAG]) == {"register": [2020]}
    instance = dg.DagsterInstance.ephemeral()
    # the load failed: no indicator run (its core tables may be half written)
    failed = _run(instance, load, fail=True)
    assert failed.status == dg.DagsterRunStatus.FAILURE
    assert ops.followup_requests(failed, instance, graph, years)[0] == []
    # re-executed with success: the indicators in one run for 2020 and 2019 (ind and ind_ahead read one
    # year ahead), then ind for 2021-2022 (it reads two years back)
    done = _run(instance, load)
    requests, why = ops.followup_requests(done, instance, graph, years)
    assert _requests(requests) == [
        ("raw:indicators:2019-2020", K("ind", "ind_ahead", "mart"), None,
         {"dagster/asset_partition_range_start": "2019", "dagster/asset_partition_range_end": "2020"}),
        ("raw:indicators:2021-2022", K("ind", "mart"), None,
         {"dagster/asset_partition_range_start": "2021", "dagster/asset_partition_range_end": "2022"}),
    ]
    assert all(r.run_key.endswith(plan_id) for r in requests) and "2 indicator run(s)" in why


def test_indicator_runs_wait_for_every_load_run_of_the_refresh() -> None:
    years = list(range(2010, 2026))
    graph = _graph()
    first, second = ops.run_requests_for([_file("register", 2015), _file("register", 2018)], graph, years)
    instance = dg.DagsterInstance.ephemeral()
    requests, why = ops.followup_requests(_run(instance, first), instance, graph, years)
    assert requests == [] and "waiting for load run(s) register:2018-2018" in why
    requests, _ = ops.followup_requests(_run(instance, second), instance, graph, years)
    assert [r.run_key.rsplit(":", 1)[0] for r in requests] == [
        "raw:indicators:2014-2015", "raw:indicators:2016-2016", "raw:indicators:2017-2018", "raw:indicators:2019-2020"]
    # a run the raw-folder sensor did not request asks for nothing
    other = dg.materialize([register_asset], instance=instance, partition_key="2020").dagster_run
    assert ops.followup_requests(other, instance, graph, years)[0] == []


def test_the_status_sensor_requests_the_indicator_runs_after_a_successful_load() -> None:
    years = list(range(2010, 2026))
    (load,) = ops.run_requests_for([_file("register", 2020)], _graph(), years)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([register_asset], instance=instance, tags=dict(load.tags), partition_key="2020")
    sensor = ops.build_refresh_indicators_sensor(YEARS_2010_2025)
    defs = dg.Definitions(assets=[register_asset, ind, ind_ahead, mart, survey_asset, same_year],
                          jobs=[ops.refresh_job], sensors=[sensor])
    ctx = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_event=result.get_run_success_event(), dagster_instance=instance,
        dagster_run=result.dagster_run, repository_def=defs.get_repository_def())
    got = list(sensor(ctx))
    assert [r.run_key.rsplit(":", 1)[0] for r in got] == ["raw:indicators:2019-2020", "raw:indicators:2021-2022"]


def test_a_survey_year_is_one_run_requested_at_once() -> None:
    # its indicators read their own year only: the load and the indicators are one run, nothing to wait for
    requests = ops.run_requests_for([_file("survey", 2017)], _graph(), list(range(2010, 2026)))
    assert _requests(requests) == [("raw:survey:2017-2017", K("same_year", "survey"), "2017", {})]


def test_refresh_plan_keeps_the_years_inside_the_partitions() -> None:
    # 2024-2025 loaded: their indicators and 2023's in one run; nothing after 2025 (not a partition)
    assert _plan({"register": {2024, 2025}}) == [
        ("register", 2024, 2025, K("register")), ("indicators", 2023, 2025, K("ind", "ind_ahead", "mart"))]
    # 2010 loaded: no 2009; the load and the indicators of 2010 in one run, then ind for 2011-2012
    assert _plan({"register": {2010}}) == [
        ("register", 2010, 2010, K("ind", "ind_ahead", "mart", "register")), ("indicators", 2011, 2012, K("ind", "mart"))]


def test_refresh_plan_a_run_per_block_of_years_and_selection_loads_first() -> None:
    # 2015 and 2018: ind 2014-2017 and 2017-2020, ind_ahead 2014-2015 and 2017-2018
    assert _plan({"register": {2015, 2018}}) == [
        ("register", 2015, 2015, K("register")), ("register", 2018, 2018, K("register")),
        ("indicators", 2014, 2015, K("ind", "ind_ahead", "mart")), ("indicators", 2016, 2016, K("ind", "mart")),
        ("indicators", 2017, 2018, K("ind", "ind_ahead", "mart")), ("indicators", 2019, 2020, K("ind", "mart"))]
    # an indicator of its own year only: one run, the load and the indicator
    assert _plan({"survey": {2017}}) == [("survey", 2017, 2017, K("same_year", "survey"))]


def test_refresh_plan_a_load_with_its_indicators_runs_before_every_indicator_run() -> None:
    # register and survey 2020: the 2020 indicators' run also loads both; it must come before the 2019
    # run, whose units read 2020's data
    assert _plan({"register": {2020}, "survey": {2020}}) == [
        ("register+survey", 2020, 2020, K("ind", "ind_ahead", "mart", "register", "same_year", "survey")),
        ("indicators", 2019, 2019, K("ind", "ind_ahead", "mart")),
        ("indicators", 2021, 2022, K("ind", "mart"))]


def test_the_pipelines_indicators_carry_their_year_reach() -> None:
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    reach = {k.to_user_string(): ops._reach(graph, k) for k in graph.get_all_asset_keys() if ops._reach(graph, k)}
    assert reach["n7_uddannelse"] == (10, 1) and reach["n8_overdoedelighed"] == (5, 1)
    assert reach["p4_genindlaeggelse"] == (1, 1) and reach["p1_ung_mental_sundhed"] == (0, 0)
    assert len(reach) == 16
    # a 2025 LPR3 + coercion delivery: one load run for 2025, then one run of the twelve indicators that
    # read LPR or coercion data, with marts and report, for 2024-2025
    runs = ops.refresh_plan(graph, {dg.AssetKey("lpr_f_kontakter"): {2025}, dg.AssetKey("tvang"): {2025}},
                            list(range(2010, 2026)))
    assert [(r.label, r.first, r.last) for r in runs] == [("lpr_f_kontakter+tvang", 2025, 2025), ("indicators", 2024, 2025)]
    load, late = ({k.to_user_string() for k in r.selection} for r in runs)
    assert {"lpr_f_kontakter", "tvang", "contacts", "stays", "coercion"} <= load
    assert not load & late
    assert {"p4_genindlaeggelse", "i1_somatisk_efter_psykiatrisk", "p2_tvang_personer", "indicator_values",
            "status_report"} <= late
    assert len({k for k in late if reach.get(k)}) == 12
    assert not late & {"p1_ung_mental_sundhed", "p6_serviceloven", "n5_tilfredshed", "n6_inddragelse"}
