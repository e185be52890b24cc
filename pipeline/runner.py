"""`pipeline run`: materialise the whole asset graph for a folder of extracts, without the UI.

What belongs here: building the Definitions for the given settings, the one in-process
`dg.materialize` call over every asset and check (partition-range tags for the selected years),
progress lines per step, and turning the result into a `RunOutcome` (failed blocking checks with their
counts by rule, failed steps, rows per register from `meta.load_log`). A failed blocking check skips
everything downstream, so the previous marts stay as they were.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from pipeline.config import Settings, parse_years

Echo = Callable[[str], None]
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class FailedCheck:
    asset: str
    check: str
    description: str | None
    metadata: dict[str, Any]


@dataclass
class RunOutcome:
    success: bool
    run_id: str | None = None
    failed_checks: list[FailedCheck] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)  # step: message (asset failures, e.g. schema drift)
    skipped_steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # warning-level checks that did not pass
    register_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    steps_succeeded: int = 0
    seconds: float = 0.0


class _Progress:
    """One line per step start and finish, with timing, from the run's events as they are stored."""

    def __init__(self, echo: Echo) -> None:
        self.echo, self.t0, self.started = echo, time.monotonic(), {}
        self.succeeded, self.skipped = 0, []

    def __call__(self, entry: Any) -> None:
        ev = entry.dagster_event
        if ev is None:
            message = entry.user_message or ""
            if entry.step_key and "Not executing" in message:  # Dagster logs a skipped step this way
                self.skipped.append(entry.step_key)
                self.echo(f"[{time.monotonic() - self.t0:7.1f}s] skipped {entry.step_key} (an upstream step or blocking check failed)")
            elif entry.level is not None and entry.level >= 30 and message:  # warnings from the assets
                self.echo(f"  warning: {message}")
            return
        step, now = ev.step_key, time.monotonic()
        kind = ev.event_type_value
        clock = f"[{now - self.t0:7.1f}s]"
        if kind == "STEP_START":
            self.started[step] = now
            self.echo(f"{clock} start   {step}")
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            took = now - self.started.get(step, now)
            word = "done   " if kind == "STEP_SUCCESS" else "FAILED "
            self.succeeded += kind == "STEP_SUCCESS"
            self.echo(f"{clock} {word} {step} ({took:.1f}s)")
        elif kind == "STEP_SKIPPED":
            self.skipped.append(step)
            self.echo(f"{clock} skipped {step} (an upstream step or blocking check failed)")


def _instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def _listen(instance: dg.DagsterInstance, progress: _Progress) -> None:
    # Dagster stores every event through handle_new_event; listening there gives live progress from
    # one dg.materialize call without a custom executor.
    store = instance.handle_new_event

    def handle(event: Any, **kwargs: Any) -> None:
        store(event, **kwargs)
        try:
            progress(event)
        except Exception:  # progress output must never break a run
            pass

    instance.handle_new_event = handle  # type: ignore[method-assign]


def _check_years(settings: Settings) -> None:
    from pipeline.partitions import YEARS

    keys = set(YEARS.get_partition_keys())
    outside = [y for y in range(min(settings.years), max(settings.years) + 1) if str(y) not in keys]
    if outside:
        raise SystemExit(
            f"years {outside} are not yearly partitions of this process (PSYK_YEARS); "
            "run through `pipeline run --years …`, which sets it before the assets are loaded"
        )


def _failure_message(ev: Any) -> str:
    data = ev.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    err = data.error
    while err is not None and err.cause is not None and "DagsterExecutionStepExecutionError" in (err.cls_name or ""):
        err = err.cause
    return (err.message if err else "unknown error").strip()


def register_counts(warehouse: Path, run_id: str) -> dict[str, dict[str, int]]:
    """Rows read / staged / quarantined and files per register, from the load log of one run."""
    if not warehouse.exists():
        return {}
    sql = (
        "select register, count(*), sum(rows_read), sum(rows_staged), sum(rows_quarantined), "
        "count(*) filter (where status <> 'loaded') from meta.load_log where run_id = $run_id "
        "group by register order by register"
    )
    try:
        with duckdb.connect(str(warehouse)) as con:
            rows = con.execute(sql, {"run_id": run_id}).fetchall()
    except duckdb.Error:
        return {}
    keys = ("files", "rows_read", "rows_staged", "rows_quarantined", "files_not_loaded")
    return {r[0]: dict(zip(keys, (int(v or 0) for v in r[1:]), strict=True)) for r in rows}


REPORT_ASSET = "status_report"


def _report_requests(report_years: list[int], partition_years: set[int]) -> list[dict[str, Any]]:
    """One request (partition key or range tags) per block of consecutive report years."""
    from pipeline.ops import partition_request, year_blocks

    years = sorted(set(report_years) & partition_years)
    return [partition_request(a, b) for a, b in year_blocks(years)]


def _collect(result: Any, outcome: RunOutcome) -> None:
    """Add a finished run's failed checks, warnings and failed steps to the outcome."""
    outcome.success = outcome.success and result.success
    for ev in result.get_asset_check_evaluations():
        if ev.passed:
            continue
        meta = {k: v.value for k, v in ev.metadata.items()}
        if ev.severity == dg.AssetCheckSeverity.WARN:
            outcome.warnings.append(f"{ev.asset_key.to_user_string()}/{ev.check_name}: {ev.description}")
        else:
            outcome.failed_checks.append(FailedCheck(ev.asset_key.to_user_string(), ev.check_name, ev.description, meta))
    for ev in result.get_step_failure_events():
        message = _failure_message(ev)
        if "blocking asset check" not in message:  # the failed check itself is reported above
            outcome.failed_steps.append(f"{ev.step_key}: {message}")


def run_pipeline(settings: Settings, *, echo: Echo = print, report_years: list[int] | None = None) -> RunOutcome:
    """Materialise every asset and check of `build_defs(settings)` for `settings.years`, in-process.

    The status report is a product of a report year, and its figures and workbook are the slowest step,
    so it is built for `report_years` only (default: the last year of the run), in a second run after
    the first one succeeded. Every other asset covers all of `settings.years`.
    """
    _check_years(settings)
    from pipeline.definitions import build_defs

    defs = build_defs(settings)
    instance = _instance()
    progress = _Progress(echo)
    _listen(instance, progress)
    years = f"{min(settings.years)}-{max(settings.years)}"
    echo(f"pipeline run: years {years}, raw {settings.raw_dir}, warehouse {settings.warehouse}")
    keys = {k.to_user_string() for a in defs.assets for k in a.keys}
    has_report = REPORT_ASSET in keys
    main_selection = dg.AssetSelection.all() - dg.AssetSelection.assets(REPORT_ASSET) if has_report else None
    t0 = time.monotonic()
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        resources=defs.resources,
        instance=instance,
        selection=main_selection,
        tags={RANGE_START: str(min(settings.years)), RANGE_END: str(max(settings.years))},
        run_config=QUIET_LOGS,
        raise_on_error=False,
    )
    outcome = RunOutcome(success=True, run_id=result.run_id)
    _collect(result, outcome)
    if has_report and outcome.success:
        wanted = report_years if report_years is not None else [max(settings.years)]
        for req in _report_requests(wanted, set(settings.years)):
            echo(f"pipeline run: status report for {req['partition_key'] or '-'.join(req['tags'].values())}")
            report = dg.materialize(
                [*defs.assets, *defs.asset_checks],
                resources=defs.resources,
                instance=instance,
                selection=dg.AssetSelection.assets(REPORT_ASSET),
                partition_key=req["partition_key"],
                tags=req["tags"],
                run_config=QUIET_LOGS,
                raise_on_error=False,
            )
            _collect(report, outcome)
    outcome.seconds = time.monotonic() - t0
    outcome.skipped_steps = progress.skipped
    outcome.steps_succeeded = progress.succeeded
    outcome.register_counts = register_counts(settings.warehouse, result.run_id)
    _report_failures(outcome, echo)
    return outcome


def _report_failures(outcome: RunOutcome, echo: Echo) -> None:
    for w in outcome.warnings:
        echo(f"warning: {w}")
    if outcome.success:
        return
    for fc in outcome.failed_checks:
        echo(f"FAILED check {fc.asset}/{fc.check}: {fc.description or 'did not pass'}")
        by_rule = fc.metadata.get("quarantined_by_rule")
        if by_rule:
            echo("  quarantined rows by rule: " + json.dumps(by_rule, sort_keys=True))
    for step in outcome.failed_steps:
        echo(f"FAILED step {step}")
    if outcome.skipped_steps:
        echo(f"{len(outcome.skipped_steps)} downstream step(s) skipped; the previous marts are left as they were.")


# --- command line -------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    env = Settings.from_env()
    parser.add_argument("--raw-dir", type=Path, default=env.raw_dir, help="folder of register extracts")
    parser.add_argument("--warehouse", type=Path, default=env.warehouse, help="DuckDB warehouse file")
    parser.add_argument("--marts-dir", type=Path, default=env.marts_dir, help="folder for the Parquet marts")
    parser.add_argument("--exports-dir", type=Path, default=env.exports_dir, help="folder for exports")
    parser.add_argument("--years", default=f"{min(env.years)}-{max(env.years)}", help="e.g. 2015-2021")
    parser.add_argument("--data-end", default=None, help="data end date YYYY-MM-DD (default: from the data)")
    parser.add_argument(
        "--report-years", default=None,
        help="years to build the status report for, e.g. 2025 or 2020-2025 (default: the last year of --years)",
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    env = Settings.from_env()
    return Settings(
        raw_dir=Path(args.raw_dir).resolve(),
        warehouse=Path(args.warehouse).resolve(),
        marts_dir=Path(args.marts_dir).resolve(),
        exports_dir=Path(args.exports_dir).resolve(),
        years=parse_years(args.years),
        data_end=date.fromisoformat(args.data_end) if args.data_end else env.data_end,
    )


def use_settings(settings: Settings) -> None:
    """Make the settings the process's environment, so modules that read it at import (partitions) agree."""
    os.environ.update(settings.to_env())


def main(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not settings.raw_dir.is_dir():
        print(f"pipeline run: raw folder {settings.raw_dir} does not exist")
        return 2
    use_settings(settings)
    report_years = parse_years(args.report_years) if getattr(args, "report_years", None) else None
    outcome = run_pipeline(settings, report_years=report_years)
    if outcome.success:
        print(f"pipeline run: OK, {outcome.steps_succeeded} steps in {outcome.seconds:.1f}s (run {outcome.run_id})")
        return 0
    print(f"pipeline run: FAILED (run {outcome.run_id}); see the messages above")
    return 1
