"""Operations: the nightly schedule, the raw-folder sensor and the job both of them launch.

What belongs here: when runs start by themselves (schedules, sensors) and which assets and years they
select. What a run does belongs to the asset layers.

- `refresh` job: every asset of the pipeline. Schedules and sensors request a sub-selection of it and
  name the years (one partition key, or a range through the single-run backfill tags).
- `nightly_refresh` schedule: at 02:00 Copenhagen time, re-runs everything for the current and the
  previous calendar year of the tick (only the years that are partitions). This schedule is the only
  place where today's date chooses anything.
- `raw_files_sensor`: watches the raw data folder (settings `raw_dir`). A new or changed file
  `<register>/<register>_<YYYY>.<ext>` requests the register's ingest asset and everything downstream
  of it for that year (registers delivered for the same years in one run), except the indicators:
  those, with their marts and report, get one run for that year and the neighbour years whose units
  read that year's data (each indicator's year reach, asset metadata `year_reach_before` /
  `year_reach_after`; `refresh_plan`), requested by `refresh_indicators_sensor` once every load run of
  the refresh has succeeded (a failed load starts no indicator run). A one-file register
  `<register>/<register>.<ext>` requests the unpartitioned ingest asset and everything downstream of
  it for every year. The cursor remembers each file's size and modification time (plus a SHA-256 for
  files small enough to hash cheaply), so a file that was only touched or copied again unchanged does
  not start a run.

Both are running by default (state lives in DAGSTER_HOME); stop them in the UI's Automation page or
with `dagster sensor stop raw_files_sensor` / `dagster schedule stop nightly_refresh`.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import dagster as dg

from pipeline.partitions import YEARS
from pipeline.resources import SettingsResource

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph

V = TypeVar("V")
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
RAW_SUFFIXES = frozenset({".parquet", ".csv", ".sas7bdat"})
HASH_LIMIT_BYTES = 64 * 1024 * 1024  # hashing a national-scale extract every change is not cheap
SETTLE_SECONDS = 60  # a file modified this recently may still be being copied: look again next tick
NIGHTLY_CRON = "0 2 * * *"
NIGHTLY_TIMEZONE = "Europe/Copenhagen"

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    description="Every asset of the pipeline; schedules and sensors request a sub-selection and the years.",
)


# --- years and partition requests -------------------------------------------------------------------


def partition_years_of(partitions_def: dg.PartitionsDefinition) -> list[int]:
    return sorted(int(k) for k in partitions_def.get_partition_keys())


def year_blocks(years: Iterable[int]) -> list[tuple[int, int]]:
    """Split years into runs of consecutive years: [2015, 2016, 2019] -> [(2015, 2016), (2019, 2019)]."""
    return [(first, last) for first, last, _ in _blocks(dict.fromkeys(years, True))]


def partition_request(first: int, last: int) -> dict[str, object]:
    """RunRequest arguments naming one year (a partition key) or a range (single-run backfill tags)."""
    if first == last:
        return {"partition_key": str(first), "tags": {}}
    return {"partition_key": None, "tags": {RANGE_START_TAG: str(first), RANGE_END_TAG: str(last)}}


# Asset metadata of the indicator assets (assets/indicators.py, `year_reach`): a unit of year U reads
# event data of U - before .. U + after.
REACH_BEFORE, REACH_AFTER = "year_reach_before", "year_reach_after"

# Tags of a refresh plan's load runs (`run_requests_for`), read back by `followup_requests`: the plan's
# id, which of its loads the run is, and the new data the plan was laid out for (JSON: key -> years).
PLAN_TAG, LOAD_TAG, REFRESHED_TAG = "psyk/refresh_plan", "psyk/refresh_load", "psyk/refreshed"


def _reach(asset_graph: BaseAssetGraph, key: dg.AssetKey) -> tuple[int, int] | None:
    md = asset_graph.get(key).metadata or {}
    if REACH_BEFORE not in md or REACH_AFTER not in md:
        return None
    return int(getattr(md[REACH_BEFORE], "value", md[REACH_BEFORE])), int(getattr(md[REACH_AFTER], "value", md[REACH_AFTER]))


@dataclass(frozen=True)
class PlannedRun:
    """One run of a refresh: `selection` for the years first..last (None: unpartitioned)."""

    label: str  # the registers whose new files the run loads, or "indicators" for the indicators' run
    first: int | None
    last: int | None
    selection: list[dg.AssetKey]
    after_loads: bool = False  # computes indicators: requested only once every load run succeeded

    @property
    def span(self) -> str:
        return f"{self.first}-{self.last}"


def _key_order(keys: Iterable[dg.AssetKey]) -> list[dg.AssetKey]:
    return sorted(keys, key=lambda k: k.to_string())


def _blocks(by_year: Mapping[int, V]) -> list[tuple[int, int, V]]:
    """Consecutive years with the same (non-empty) value, as (first, last, value)."""
    blocks: list[tuple[int, int, V]] = []
    for year in sorted(y for y, value in by_year.items() if value):
        if blocks and blocks[-1][1] == year - 1 and blocks[-1][2] == by_year[year]:
            blocks[-1] = (blocks[-1][0], year, blocks[-1][2])
        else:
            blocks.append((year, year, by_year[year]))
    return blocks


def refresh_plan(
    asset_graph: BaseAssetGraph, refreshed: Mapping[dg.AssetKey, Iterable[int]], partition_years: Sequence[int]
) -> list[PlannedRun]:
    """The runs that bring everything downstream of new data up to date: loads first, then the indicators.

    `refreshed`: yearly asset keys (the ingest assets of the new files) -> the years of the new data.
    New data of year Y changes what is downstream of it for Y, and also the units of the years around Y
    that read it (an indicator asset's year reach, metadata `year_reach_before` / `year_reach_after`:
    units of Y - after .. Y + before), which a run for Y alone does not recompute: e.g. a 2025 LPR
    delivery changes 2024's readmissions (30 days after a December discharge). So:
    - the load runs: for each block of consecutive years with the same selection, the new data's assets
      and everything downstream of them except the indicators with a year reach and what is downstream
      of those (registers delivered in the same years share one run);
    - the indicator runs: each indicator with a year reach downstream of the new data, for the years of
      the new data and the years around them that read it, with everything downstream of it (marts,
      report), consecutive years with the same selection in one run: a 2025 LPR delivery's twelve
      indicators run once for 2024-2025 (one scan of the core tables, one aggregation, one report
      run) instead of a run for 2025 and a second one for 2024.
    The indicator runs (`after_loads`) are requested only when every load run has succeeded (the
    `refresh_indicators_sensor`; `followup_requests`), so no indicator, mart or report is computed
    from core tables a failed load left half written. A load block and an indicator block of the same
    years (e.g. a survey year: its indicators read their own year only) are one run, after the loads
    and before the other indicator runs.
    """
    years_ok = set(partition_years)
    load: dict[int, set[dg.AssetKey]] = {}
    late: dict[int, set[dg.AssetKey]] = {}
    sources: dict[int, set[str]] = {}
    for key, years in refreshed.items():
        main = set(years) & years_ok
        if not main:
            continue
        downstream = dg.AssetSelection.assets(key).downstream().resolve(asset_graph)
        for y in main:
            load.setdefault(y, set()).update(downstream)
            sources.setdefault(y, set()).add(key.to_user_string())
        for ind in downstream:
            reach = _reach(asset_graph, ind)
            if reach is None:
                continue
            before, after = reach
            follow = dg.AssetSelection.assets(ind).downstream().resolve(asset_graph)
            for u in {u for y in main for u in range(y - after, y + before + 1)} & years_ok:
                late.setdefault(u, set()).update(follow)
    load_blocks = _blocks({y: frozenset(sel - late.get(y, set())) for y, sel in load.items()})
    late_blocks = _blocks({y: frozenset(sel) for y, sel in late.items()})
    late_spans = {(a, b) for a, b, _ in late_blocks}
    merged = {(a, b): sel for a, b, sel in load_blocks if (a, b) in late_spans}

    def label(a: int, b: int) -> str:
        return "+".join(sorted(set().union(*(sources[y] for y in range(a, b + 1)))))

    # loads first; then the runs that load and compute the same years (their indicators read only what
    # is loaded by then); then the indicator runs
    runs = [PlannedRun(label(a, b), a, b, _key_order(sel)) for a, b, sel in load_blocks if (a, b) not in merged]
    runs += [PlannedRun(label(a, b), a, b, _key_order(sel | merged[(a, b)]), after_loads=True)
             for a, b, sel in late_blocks if (a, b) in merged]
    runs += [PlannedRun("indicators", a, b, _key_order(sel), after_loads=True)
             for a, b, sel in late_blocks if (a, b) not in merged]
    return runs


def nightly_years(tick: datetime, partition_years: Sequence[int]) -> list[int]:
    """The current and the previous year of the tick, keeping only those that are partitions."""
    wanted = {tick.year - 1, tick.year}
    return sorted(wanted & set(partition_years))


# --- schedule ---------------------------------------------------------------------------------------


def build_nightly_schedule(
    partitions_def: dg.PartitionsDefinition = YEARS,
    job: dg.UnresolvedAssetJobDefinition = refresh_job,
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.RUNNING,
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="nightly_refresh",
        cron_schedule=NIGHTLY_CRON,
        execution_timezone=NIGHTLY_TIMEZONE,
        target=job,
        default_status=default_status,
        description="Nightly: every asset for the current and the previous year of the tick.",
    )
    def nightly_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        tick = context.scheduled_execution_time
        years = nightly_years(tick, partition_years_of(partitions_def))
        if not years:
            return dg.SkipReason(f"neither {tick.year - 1} nor {tick.year} is a configured year")
        # The two years are consecutive, so they are always one block: one run.
        (first, last), *_ = year_blocks(years)
        req = partition_request(first, last)
        return dg.RunRequest(
            run_key=f"nightly:{tick.date().isoformat()}",
            partition_key=req["partition_key"],
            tags=req["tags"],
        )

    return nightly_refresh


# --- raw folder state -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawFile:
    """One extract file under the raw root, as the sensor sees it."""

    rel_path: str  # "<register>/<file name>", the cursor key
    register: str
    year: int | None  # from `<register>_<YYYY>.<ext>`; None for a one-file register's file
    size: int
    mtime_ns: int


def _parse_name(register: str, file_name: str) -> tuple[bool, int | None]:
    """(follows the naming contract, year). Names are compared case-insensitively (SAS upper-cases)."""
    stem, suffix = Path(file_name).stem.lower(), Path(file_name).suffix.lower()
    if suffix not in RAW_SUFFIXES:
        return False, None
    if stem == register.lower():
        return True, None
    m = re.fullmatch(re.escape(register.lower()) + r"_(\d{4})", stem)
    return (True, int(m.group(1))) if m else (False, None)


def scan_raw_dir(raw_dir: Path) -> tuple[list[RawFile], int]:
    """Every extract file under the raw root, and how many files were ignored for their names.

    Folders and files starting with `_` or `.` are not registers (e.g. the generator's manifest).
    """
    files: list[RawFile] = []
    ignored = 0
    if not raw_dir.is_dir():
        return files, ignored
    for folder in sorted(p for p in raw_dir.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        for f in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(("_", "."))):
            ok, year = _parse_name(folder.name, f.name)
            if not ok:
                ignored += 1
                continue
            st = f.stat()
            files.append(RawFile(f"{folder.name}/{f.name}", folder.name, year, st.st_size, st.st_mtime_ns))
    return files, ignored


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a file small enough to hash cheaply, else None (size and mtime decide alone)."""
    if path.stat().st_size > HASH_LIMIT_BYTES:
        return None
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_cursor(cursor: str | None) -> dict[str, dict]:
    return json.loads(cursor) if cursor else {}


def dump_cursor(state: dict[str, dict]) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class RawChanges:
    changed: list[RawFile]  # new or changed content: these start runs
    state: dict[str, dict]  # the next cursor
    settling: int  # files modified too recently to trust yet
    unchanged_content: int  # size/mtime changed but the hash is the same


def detect_changes(raw_dir: Path, previous: dict[str, dict], now: float, settle_seconds: int) -> RawChanges:
    """Compare the raw folder with the previous cursor state."""
    files, _ = scan_raw_dir(raw_dir)
    changed: list[RawFile] = []
    state: dict[str, dict] = {}
    settling = same_content = 0
    for f in files:
        old = previous.get(f.rel_path)
        if old and old["size"] == f.size and old["mtime_ns"] == f.mtime_ns:
            state[f.rel_path] = old
            continue
        if now - f.mtime_ns / 1e9 < settle_seconds:
            settling += 1
            if old:  # keep the old entry, so the file still counts as changed once it settles
                state[f.rel_path] = old
            continue
        digest = file_sha256(raw_dir / f.rel_path)
        state[f.rel_path] = {"size": f.size, "mtime_ns": f.mtime_ns, "sha256": digest}
        if old and digest is not None and old.get("sha256") == digest:
            same_content += 1
            continue
        changed.append(f)
    return RawChanges(changed, state, settling, same_content)


# --- run requests -----------------------------------------------------------------------------------


def _materialized_since(instance: dg.DagsterInstance, key: dg.AssetKey, year: int | None, mtime_ns: int) -> bool:
    """Whether the asset (partition) was materialised after the file was last modified."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[str(year)] if year is not None else None),
        limit=1,
    ).records
    return bool(records) and records[0].timestamp * 1e9 >= mtime_ns


def run_requests_for(
    changed: Sequence[RawFile],
    asset_graph: BaseAssetGraph,
    partition_years: Sequence[int],
    log: dg.DagsterLogManager | None = None,
) -> list[dg.RunRequest]:
    """The runs for new or changed files: a one-file register's ingest asset and everything downstream
    of it for every year; the yearly registers' new years as `refresh_plan` lays them out (load runs by
    block of years, then the indicators of those years and of the years around them that read them)."""
    by_register: dict[str, list[RawFile]] = {}
    for f in changed:
        by_register.setdefault(f.register, []).append(f)
    all_keys = asset_graph.get_all_asset_keys()
    requests: list[dg.RunRequest] = []
    refreshed: dict[dg.AssetKey, set[int]] = {}
    fingerprint = _fingerprint(changed)
    for register in sorted(by_register):
        key = dg.AssetKey(register)
        if key not in all_keys:
            if log:
                log.warning(f"raw folder {register!r} has no ingest asset; {len(by_register[register])} file(s) not loaded")
            continue
        files = by_register[register]
        if asset_graph.get(key).is_partitioned:
            years = {f.year for f in files if f.year is not None}
            outside = sorted(years - set(partition_years))
            if log and (outside or len(years) < len(files)):
                log.warning(f"{register}: {len(files) - len(years & set(partition_years))} file(s) outside the configured years or not yearly")
            if years & set(partition_years):
                refreshed[key] = years & set(partition_years)
            continue
        selection = _key_order(dg.AssetSelection.assets(key).downstream().resolve(asset_graph))
        partitioned_downstream = any(asset_graph.get(k).is_partitioned for k in selection)
        first, last = (min(partition_years), max(partition_years)) if partitioned_downstream else (None, None)
        span = f"{first}-{last}" if first is not None else "all"
        requests.append(_run_request(f"raw:{register}:{span}:{_fingerprint(files)}", selection, first, last))
    plan = refresh_plan(asset_graph, refreshed, partition_years)
    loads = [run for run in plan if not run.after_loads]
    tags = {PLAN_TAG: fingerprint,
            REFRESHED_TAG: json.dumps({k.to_user_string(): sorted(v) for k, v in sorted(refreshed.items())})}
    for run in loads:
        requests.append(_run_request(f"raw:{run.label}:{run.span}:{fingerprint}", run.selection, run.first, run.last,
                                     {**tags, LOAD_TAG: f"{run.label}:{run.span}"}))
    if not loads:  # nothing to wait for
        requests += after_load_requests(plan, fingerprint)
    return requests


def after_load_requests(plan: Sequence[PlannedRun], plan_id: str) -> list[dg.RunRequest]:
    """The plan's indicator runs (those after its loads), in order."""
    return [_run_request(f"raw:{run.label}:{run.span}:{plan_id}", run.selection, run.first, run.last)
            for run in plan if run.after_loads]


def _plan_of(tags: Mapping[str, str], asset_graph: BaseAssetGraph, partition_years: Sequence[int]
             ) -> tuple[str, list[PlannedRun]] | None:
    """The refresh plan a load run's tags name: (plan id, runs), or None for a run without them."""
    plan_id = tags.get(PLAN_TAG)
    if not plan_id or REFRESHED_TAG not in tags:
        return None
    refreshed = {dg.AssetKey.from_user_string(k): set(v) for k, v in json.loads(tags[REFRESHED_TAG]).items()}
    return plan_id, refresh_plan(asset_graph, refreshed, partition_years)


def planned_followups(load_tags: Mapping[str, str], asset_graph: BaseAssetGraph,
                      partition_years: Sequence[int]) -> list[dg.RunRequest]:
    """The indicator runs of the plan a load run's tags name (whatever the state of its load runs)."""
    found = _plan_of(load_tags, asset_graph, partition_years)
    return after_load_requests(found[1], found[0]) if found else []


def followup_requests(run: dg.DagsterRun, instance: dg.DagsterInstance, asset_graph: BaseAssetGraph,
                      partition_years: Sequence[int]) -> tuple[list[dg.RunRequest], str]:
    """After a load run of a refresh plan succeeded: the plan's indicator runs, if every load run of the
    plan has succeeded by now (a re-execution of a failed one counts), else none; and why."""
    found = _plan_of(run.tags, asset_graph, partition_years)
    if found is None:
        return [], "not a load run of the raw-folder sensor"
    plan_id, plan = found
    loads = {f"{r.label}:{r.span}" for r in plan if not r.after_loads}
    succeeded = instance.get_runs(filters=dg.RunsFilter(tags={PLAN_TAG: plan_id},
                                                        statuses=[dg.DagsterRunStatus.SUCCESS]))
    waiting = loads - {r.tags.get(LOAD_TAG) for r in succeeded}
    if waiting:
        return [], f"refresh {plan_id}: waiting for load run(s) {', '.join(sorted(waiting))}"
    requests = after_load_requests(plan, plan_id)
    return requests, f"refresh {plan_id}: every load run succeeded; {len(requests)} indicator run(s) requested"


def _fingerprint(files: Sequence[RawFile]) -> str:
    return hashlib.sha256(dump_cursor({f.rel_path: [f.size, f.mtime_ns] for f in files}).encode()).hexdigest()[:12]


def _run_request(run_key: str, selection: list[dg.AssetKey], first: int | None, last: int | None,
                 tags: Mapping[str, str] | None = None) -> dg.RunRequest:
    """A run of `selection` for first..last (one partition key or a range), or unpartitioned (None)."""
    req = partition_request(first, last) if first is not None and last is not None else {"partition_key": None, "tags": {}}
    return dg.RunRequest(run_key=run_key, asset_selection=selection, partition_key=req["partition_key"],
                         tags={**req["tags"], **(tags or {})})


def build_raw_files_sensor(
    partitions_def: dg.PartitionsDefinition = YEARS,
    job: dg.UnresolvedAssetJobDefinition = refresh_job,
    settle_seconds: int = SETTLE_SECONDS,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    @dg.sensor(
        name="raw_files_sensor",
        target=job,
        minimum_interval_seconds=60,
        default_status=default_status,
        description="New or changed extract files under the raw folder: reload that register and year.",
    )
    def raw_files_sensor(context: dg.SensorEvaluationContext, settings: SettingsResource) -> dg.SensorResult:
        raw_dir = Path(settings.raw_dir)
        first_tick = context.cursor is None
        changes = detect_changes(raw_dir, load_cursor(context.cursor), time.time(), settle_seconds)
        changed = changes.changed
        if first_tick:
            # Turning the sensor on over a loaded warehouse must not reload everything: a file whose
            # asset partition was materialised after the file's last change is taken as loaded.
            changed = [
                f
                for f in changed
                if not _materialized_since(context.instance, dg.AssetKey(f.register), f.year, f.mtime_ns)
            ]
        asset_graph = context.repository_def.asset_graph
        requests = run_requests_for(changed, asset_graph, partition_years_of(partitions_def), context.log)
        context.log.info(
            f"raw files: {len(changes.state)} tracked, {len(changed)} new or changed, "
            f"{changes.unchanged_content} touched without content change, {changes.settling} still settling; "
            f"{len(requests)} run(s) requested"
        )
        cursor = dump_cursor(changes.state)
        if not requests:
            return dg.SensorResult(skip_reason="no new or changed raw files", cursor=cursor)
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return raw_files_sensor


def build_refresh_indicators_sensor(
    partitions_def: dg.PartitionsDefinition = YEARS,
    job: dg.UnresolvedAssetJobDefinition = refresh_job,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.RunStatusSensorDefinition:
    @dg.run_status_sensor(
        name="refresh_indicators_sensor",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[job],
        request_job=job,
        minimum_interval_seconds=10,
        default_status=default_status,
        description="After the raw-folder sensor's load runs succeeded: the indicator runs of their years and "
        "the neighbour years (with marts and report).",
    )
    def refresh_indicators_sensor(context: dg.RunStatusSensorContext):  # noqa: ANN202 (yields requests)
        asset_graph = context.repository_def.asset_graph
        requests, why = followup_requests(context.dagster_run, context.instance, asset_graph,
                                          partition_years_of(partitions_def))
        context.log.info(why)
        if not requests:
            yield dg.SkipReason(why)
        yield from requests

    return refresh_indicators_sensor


nightly_refresh = build_nightly_schedule()
raw_files_sensor = build_raw_files_sensor()
refresh_indicators_sensor = build_refresh_indicators_sensor()

schedules = [nightly_refresh]
sensors = [raw_files_sensor, refresh_indicators_sensor]
jobs = [refresh_job]
