"""`make bench` / `make bench-small`: time the whole pipeline at national scale on this machine.

What belongs here: generating the benchmark registers once per scale, the yardstick scan of every raw
byte, the full run and the incremental refresh of one year (the runs the raw-folder sensor requests for
the new files, `pipeline.ops.run_requests_for`: the load of the year, then its indicators with those of
the neighbour years whose units read it, marts and report), and the per-stage table written to
`bench/results.json` (or `bench/results-scale-<scale>.json`). Not a test: nothing here asserts a speed.

Stages are read from the run's event log (step start and end), peak memory from a sampler thread
watching the process's resident set size (DuckDB works inside this process, so its memory counts).
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import psutil

from pipeline.config import PROJECT_ROOT, Settings, parse_years

BENCH_DIR = PROJECT_ROOT / "bench"
SEED = 20250101
STAGE_OF_GROUP = {"reference": "core model", "core": "core model", "ingest": "ingest + validate"}


class MemorySampler:
    """Samples this process's RSS and CPU time (with its child processes: the report's figure worker)
    every `interval` seconds; `peak(t0, t1)` gives the peak memory in a window, `cpu(t0, t1)` the CPU
    seconds spent in it (user + system, all cores, interpolated between samples)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval, self.samples = interval, []
        self.cpu_samples: list[tuple[float, float]] = []
        self._proc, self._stop = psutil.Process(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> tuple[int, float]:
        """(RSS, CPU seconds) of this process with its live children; the CPU time also counts its
        finished children."""
        rss, t = self._proc.memory_info().rss, self._proc.cpu_times()
        cpu = t.user + t.system + t.children_user + t.children_system
        for child in self._proc.children(recursive=True):
            try:
                rss += child.memory_info().rss
                c = child.cpu_times()
                cpu += c.user + c.system
            except psutil.Error:
                pass
        return rss, cpu

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, cpu = self._sample()
            now = time.time()
            self.samples.append((now, rss))
            self.cpu_samples.append((now, cpu))
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_samples.append((time.time(), self._sample()[1]))  # the end of the last window

    def peak(self, t0: float, t1: float) -> int:
        inside = [rss for t, rss in self.samples if t0 - self.interval <= t <= t1 + self.interval]
        return max(inside, default=0)

    def _cpu_at(self, t: float) -> float:
        s = self.cpu_samples
        if not s:
            return 0.0
        i = bisect.bisect_left(s, (t, -math.inf))
        if i == 0:
            return s[0][1]
        if i == len(s):
            return s[-1][1]
        (ta, ca), (tb, cb) = s[i - 1], s[i]
        return ca + (cb - ca) * (t - ta) / (tb - ta) if tb > ta else cb

    def cpu(self, t0: float, t1: float) -> float:
        return max(0.0, self._cpu_at(t1) - self._cpu_at(t0))


@dataclass
class Stage:
    name: str
    seconds: float = 0.0
    rows_in: int | None = None
    rows_out: int | None = None
    peak_bytes: int = 0
    cpu_seconds: float = 0.0
    steps: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        rows = self.rows_out if self.rows_out is not None else self.rows_in  # as in every earlier result
        return {
            "stage": self.name,
            "seconds": round(self.seconds, 2),
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "rows_per_second": round(rows / self.seconds) if rows and self.seconds > 0 else None,
            "peak_memory_gb": round(self.peak_bytes / 1e9, 2),
            "cpu_seconds": round(self.cpu_seconds, 1),
            "steps": self.steps,
            "step_seconds": {k: round(v, 2) for k, v in sorted(self.step_seconds.items(), key=lambda kv: -kv[1])},
        }


def raw_files(raw_dir: Path) -> list[Path]:
    return sorted(
        p for p in raw_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in {".parquet", ".csv", ".sas7bdat"} and not p.name.startswith("_")
    )


def _csv_encoding(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1"


def scan_all(raw_dir: Path) -> tuple[float, int, int]:
    """The yardstick: DuckDB reads every raw byte once (every column of every file). Returns
    (seconds, rows, bytes). `make bench` reads them twice and takes the second, cached pass."""
    files = raw_files(raw_dir)
    total_bytes = sum(p.stat().st_size for p in files)
    rows = 0
    t0 = time.perf_counter()
    with duckdb.connect() as con:
        con.execute("set threads = 2").fetchall()
        for p in files:
            if p.suffix.lower() == ".parquet":
                source = "read_parquet($path)"
                params: dict[str, Any] = {"path": str(p)}
            elif p.suffix.lower() == ".csv":
                source = "read_csv($path, all_varchar = true, encoding = $enc)"
                params = {"path": str(p), "enc": _csv_encoding(p)}
            else:
                continue  # the benchmark registers contain no SAS files
            # hash every column so that no column can be skipped by projection pushdown
            n, _ = con.execute(f"select count(*), bit_xor(hash(columns(*))) from {source}", params).fetchone()[:2]
            rows += n
    return time.perf_counter() - t0, rows, total_bytes


def generate(raw_dir: Path, scale: float, years: list[int]) -> Stage:
    """Generate the benchmark registers unless a manifest of the same scale and years is there."""
    manifest = raw_dir / "_synthetic.json"
    want = {"scale": scale, "years": years, "seed": SEED}
    if manifest.exists():
        have = json.loads(manifest.read_text())
        if all(have.get(k) == v for k, v in want.items()):
            print(f"bench: reusing registers in {raw_dir}")
            return Stage("generate (reused)")
    raw_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pipeline", "synth", "--out", str(raw_dir), "--scale", str(scale),
           "--years", f"{min(years)}-{max(years)}", "--seed", str(SEED)]
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd)
    peak, cpu = 0, 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, proc.memory_info().rss)
            t = proc.cpu_times()
            cpu = t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
        time.sleep(0.2)
    if proc.returncode:
        raise SystemExit(f"bench: generator failed with exit code {proc.returncode}")
    # rows: the scan's count; CPU: as last seen (up to 0.2 s before it ended)
    return Stage("generate", seconds=time.perf_counter() - t0, peak_bytes=peak, cpu_seconds=cpu)


def _stage_name(step: str, groups: dict[str, str]) -> str:
    if step not in groups:  # an asset check's step is named <asset>_<check>: count it with its asset
        step = max((k for k in groups if step.startswith(k + "_")), key=len, default=step)
    group = groups.get(step, "")
    if group == "indicators":
        return f"indicator {step}"
    return STAGE_OF_GROUP.get(group, group or step)


def _count(metadata: dict[str, Any], key: str) -> int | None:
    value = getattr(metadata.get(key), "value", None)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _rows_in_out(group: str, metadata: dict[str, Any]) -> tuple[int | None, int | None]:
    """(rows in, rows out) of one materialization, from its metadata: an ingest delivery's rows read and
    staged, the rows of the core or reference tables a step wrote (their size after the write), a mart's
    rows, the report's indicator value rows read and table rows written. Indicators: `_table_rows`."""
    if group == "ingest":
        return _count(metadata, "rows_read"), _count(metadata, "rows_staged")
    if group in ("core", "reference"):
        tables = [n for k in metadata if k.startswith("rows_") and (n := _count(metadata, k)) is not None]
        return None, sum(tables) if tables else _count(metadata, "rows")
    if group == "marts":
        return None, _count(metadata, "rows")
    if group == "exports":
        return _count(metadata, "value_rows"), _count(metadata, "table_rows")
    return None, None


def _add(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


def stages_from_run(instance: Any, run_id: str, groups: dict[str, str], sampler: MemorySampler) -> list[Stage]:
    """Group the run's steps into stages with wall time, rows and peak memory."""
    from dagster import DagsterEventType

    starts: dict[str, float] = {}
    stages: dict[str, Stage] = {}
    windows: dict[str, list[tuple[float, float]]] = {}
    counted: set[tuple[str, str]] = set()
    for entry in instance.all_logs(run_id):
        ev = entry.dagster_event
        if ev is None or ev.step_key is None:
            continue
        step = ev.step_key
        name = _stage_name(step, groups)
        if ev.event_type == DagsterEventType.STEP_START:
            starts[step] = entry.timestamp
        elif ev.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            t0 = starts.get(step, entry.timestamp)
            st = stages.setdefault(name, Stage(name))
            st.seconds += entry.timestamp - t0
            st.steps.append(step)
            st.step_seconds[step] = st.step_seconds.get(step, 0.0) + entry.timestamp - t0
            windows.setdefault(name, []).append((t0, entry.timestamp))
        elif ev.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            # a single-run backfill emits one materialization per partition, all with the run's metadata
            key = (step, ev.event_specific_data.materialization.asset_key.to_user_string())
            if key in counted:
                continue
            counted.add(key)
            rows_in, rows_out = _rows_in_out(groups.get(key[1], ""), ev.event_specific_data.materialization.metadata)
            if rows_in is not None or rows_out is not None:
                st = stages.setdefault(name, Stage(name))
                st.rows_in, st.rows_out = _add(st.rows_in, rows_in), _add(st.rows_out, rows_out)
    for name, st in stages.items():
        st.peak_bytes = max((sampler.peak(a, b) for a, b in windows.get(name, [])), default=0)
        st.cpu_seconds = sum(sampler.cpu(a, b) for a, b in windows.get(name, []))
    order = ["ingest + validate", "core model"]
    return sorted(stages.values(), key=lambda s: (order.index(s.name) if s.name in order else
                                                  2 if s.name.startswith("indicator") else 3, s.name))


def run_full(settings: Settings) -> tuple[list[Stage], float, int, str, bool, float]:
    """One measured pass as `pipeline run` does it: every asset over the years, then the status report
    of the last year. Returns (stages, wall seconds, peak bytes, run id, ok, CPU seconds)."""
    import dagster as dg

    from pipeline.runner import RANGE_END, RANGE_START, REPORT_ASSET

    first, last = min(settings.years), max(settings.years)
    report = dg.AssetSelection.assets(REPORT_ASSET)
    calls: list[dict[str, Any]] = [
        {"tags": {RANGE_START: str(first), RANGE_END: str(last)}, "selection": dg.AssetSelection.all() - report},
        {"partition_key": str(last), "selection": report},
    ]
    return _measured_runs(settings, calls, None)


def run_requested(settings: Settings, request: Any) -> tuple[list[Stage], float, int, str, bool, float]:
    """One run exactly as the raw-folder sensor requests it (a `dagster.RunRequest`): its selection, its
    partition key or range tags, the report (if selected) of every year of the run."""
    import dagster as dg

    from pipeline.ops import RANGE_END_TAG, RANGE_START_TAG

    tags = dict(request.tags)
    if request.partition_key:
        years = [int(request.partition_key)]
    else:
        years = list(range(int(tags[RANGE_START_TAG]), int(tags[RANGE_END_TAG]) + 1))
    call = {"tags": tags, "partition_key": request.partition_key,
            "selection": dg.AssetSelection.assets(*request.asset_selection)}
    return _measured_runs(settings, [call], years)


def _measured_runs(settings: Settings, calls: list[dict[str, Any]], years: list[int] | None
                   ) -> tuple[list[Stage], float, int, str, bool, float]:
    """Materialise `calls` (materialize() arguments) one after the other while sampling memory; the
    stages of all of them together. Stops at the first failed run."""
    import dagster as dg

    from pipeline.definitions import build_defs
    from pipeline.runner import QUIET_LOGS

    defs = build_defs(settings)
    groups = {}
    for a in defs.assets:
        for key in a.keys:
            groups[key.to_user_string()] = a.group_names_by_key.get(key, "")
    instance = dg.DagsterInstance.ephemeral()
    run = {"assets": [*defs.assets, *defs.asset_checks], "resources": defs.resources, "instance": instance,
           "run_config": QUIET_LOGS, "raise_on_error": False}
    runs = []
    with MemorySampler() as sampler:
        t0, start = time.perf_counter(), time.time()
        for call in calls:
            runs.append(dg.materialize(**run, **call))
            if not runs[-1].success:
                break
        wall, end = time.perf_counter() - t0, time.time()
    stages: dict[str, Stage] = {}
    for r in runs:
        for st in stages_from_run(instance, r.run_id, groups, sampler):
            have = stages.setdefault(st.name, Stage(st.name))
            have.seconds += st.seconds
            have.steps += st.steps
            have.step_seconds.update(st.step_seconds)
            have.peak_bytes = max(have.peak_bytes, st.peak_bytes)
            have.cpu_seconds += st.cpu_seconds
            have.rows_in, have.rows_out = _add(have.rows_in, st.rows_in), _add(have.rows_out, st.rows_out)
    ok = len(runs) == len(calls) and all(r.success for r in runs)
    _table_rows(settings, stages, years)
    peak = max((r for _, r in sampler.samples), default=0)
    return list(stages.values()), wall, peak, runs[0].run_id, ok, sampler.cpu(start, end)


def _table_rows(settings: Settings, stages: dict[str, Stage], years: list[int] | None) -> None:
    """The rows the metadata does not give, read from the warehouse after the run: an indicator's rows
    in (the rows of the core tables it reads, whole: its SQL reads those of its years where it can) and
    out (its unit rows of the years run); the marts' rows in (every indicator's unit rows of the years:
    indicator_values aggregates them all); the core model's rows in (the rows this run staged)."""
    from assets.indicators import CORE_DEPS
    from pipeline.catalogue import load_catalogue

    if "core model" in stages and "ingest + validate" in stages:
        stages["core model"].rows_in = stages["ingest + validate"].rows_out
    if not settings.warehouse.exists():
        return
    where = "" if years is None else " where list_contains($y, year)"
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        located = dict(con.execute("select table_name, min(table_schema) from information_schema.tables "
                                   "where table_schema in ('core', 'ref') group by table_name").fetchall())
        sizes: dict[str, int] = {}

        def size(table: str) -> int:
            if table not in sizes:
                sizes[table] = int(con.execute(f'select count(*) from "{located[table]}"."{table}"').fetchall()[0][0])
            return sizes[table]

        units = 0
        for spec in load_catalogue().values():
            try:
                n = int(con.execute(f"select count(*) from {spec.unit_table}{where}",
                                    {"y": years} if years else None).fetchall()[0][0])
            except duckdb.Error:
                continue
            units += n
            st = stages.get(f"indicator {spec.id}")
            if st is not None:
                st.rows_out = n
                st.rows_in = sum(size(t) for t in CORE_DEPS.get(spec.id, ()) if t in located) or None
        if "marts" in stages:
            stages["marts"].rows_in = units


def new_delivery(raw_dir: Path, register: str, year: int) -> Path:
    """Replace one year's file of a register with a corrected delivery: 0.5 % of rows withdrawn."""
    folder = raw_dir / register
    matches = [p for p in folder.iterdir() if p.stem.lower() == f"{register}_{year}"]
    if not matches:
        raise SystemExit(f"bench: no {register} file for {year} in {folder}")
    path = matches[0]
    if path.suffix == ".parquet":
        df = pl.read_parquet(path)
        df.filter(pl.int_range(pl.len()) % 200 != 0).write_parquet(path)
    else:
        enc = _csv_encoding(path)
        text = path.read_bytes().decode(enc).splitlines(keepends=True)
        kept = [line for i, line in enumerate(text) if i == 0 or i % 200 != 0]
        path.write_bytes("".join(kept).encode(enc))
    return path


def print_table(rows: list[dict[str, Any]]) -> None:
    """Per stage: wall seconds, CPU seconds (all cores), rows in and out, rows out per second, peak GB."""
    def n(v: int | None) -> str:
        return f"{v:,}" if v is not None else ""

    print(f"{'stage':40} {'seconds':>9} {'CPU s':>8} {'rows in':>15} {'rows out':>15} {'rows out/s':>12} "
          f"{'peak GB':>8}")
    for r in rows:
        print(f"{r['stage'][:40]:40} {r['seconds']:9.1f} {r.get('cpu_seconds', 0.0):8.1f} {n(r['rows_in']):>15} "
              f"{n(r['rows_out']):>15} {n(r['rows_per_second']):>12} {r['peak_memory_gb']:8.2f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipeline.bench", description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--years", default="2010-2025")
    p.add_argument("--refresh-year", type=int, default=None, help="year of the new delivery (default: last)")
    p.add_argument("--refresh-only", action="store_true",
                   help="time the refresh only, on the warehouse an earlier run of the same scale left "
                        "(writes bench/results-refresh-scale-<scale>.json; results.json is not touched)")
    args = p.parse_args(argv)
    years = parse_years(args.years)
    refresh_year = args.refresh_year or max(years)
    tag = f"scale-{args.scale:g}"
    root = BENCH_DIR / "data" / tag
    settings = Settings(raw_dir=root / "raw", warehouse=root / "warehouse.duckdb", marts_dir=root / "marts",
                        exports_dir=root / "exports", years=years)
    os.environ.update(settings.to_env())  # partitions are read from the environment at import
    os.environ.setdefault("POLARS_MAX_THREADS", "2")

    if args.refresh_only:
        if not settings.warehouse.exists() or not (settings.raw_dir / "_synthetic.json").exists():
            raise SystemExit(f"bench: --refresh-only needs the registers and the warehouse of an earlier run at "
                             f"this scale in {root}; run `python -m pipeline.bench --scale {args.scale:g}` first")
        probes = {"start": _probe("start")}
        incremental = run_refresh(settings, years, refresh_year)
        probes["end"] = _probe("end")
        _write(BENCH_DIR / f"results-refresh-{tag}.json",
               {**_header(args.scale, years, probes), "incremental": incremental})
        return 0 if incremental["ok"] else 1

    gen = generate(settings.raw_dir, args.scale, years)
    probes = {"start": _probe("start")}
    # the yardstick is read twice: the first pass finds the files on disk or in the page cache (as the
    # generator or an earlier run left them), the second in the cache, as the pipeline then reads them;
    # the second is the steady figure the multiple is taken of, the first is reported beside it
    first_s, scan_rows, scan_bytes = scan_all(settings.raw_dir)
    scan_s, _, _ = scan_all(settings.raw_dir)
    if gen.name == "generate":
        gen.rows_out = scan_rows  # the rows of every file it wrote
    print(f"bench: scan of every raw byte: {scan_s:.1f}s (first pass {first_s:.1f}s), {scan_rows:,} rows, "
          f"{scan_bytes / 1e9:.2f} GB")
    if settings.warehouse.exists():
        settings.warehouse.unlink()
    from assets.ingest import raw_archive_dir

    shutil.rmtree(raw_archive_dir(settings.warehouse), ignore_errors=True)
    # the full run starts cold: no disclosure results cached by an earlier bench (the refresh then uses
    # what the full run cached, as a real refresh would)
    from pipeline.report import disclosure_cache_dir

    shutil.rmtree(disclosure_cache_dir(settings.warehouse), ignore_errors=True)

    stages, wall, peak, run_id, ok, cpu = run_full(settings)
    print(f"bench: full run {'OK' if ok else 'FAILED'} in {wall:.1f}s ({cpu:.0f} CPU-s), peak memory "
          f"{peak / 1e9:.2f} GB")
    incremental = run_refresh(settings, years, refresh_year)
    probes["end"] = _probe("end")

    rows = [gen.row()] + [s.row() for s in stages]
    results = {
        **_header(args.scale, years, probes),
        "run_ok": ok, "run_id": run_id,
        "scan": {"seconds": round(scan_s, 2), "first_pass_seconds": round(first_s, 2), "rows": scan_rows,
                 "bytes": scan_bytes},
        "full_run": {"seconds": round(wall, 2), "cpu_seconds": round(cpu, 1), "peak_memory_gb": round(peak / 1e9, 2),
                     "multiple_of_scan": round(wall / scan_s, 2) if scan_s else None},
        "generate": gen.row(),
        "stages": rows,
        "incremental": incremental,
    }
    print()
    print_table(rows)
    print(f"\nwhole pipeline {wall:.1f}s = {results['full_run']['multiple_of_scan']}x the raw scan "
          f"({scan_s:.1f}s cached, {first_s:.1f}s first pass); incremental refresh {incremental['seconds']:.1f}s "
          f"({len(incremental['runs'])} run(s): {', '.join(r['run'] for r in incremental['runs'])}); "
          f"generator {gen.seconds:.1f}s")
    out = BENCH_DIR / ("results.json" if args.scale >= 1.0 else f"results-{tag}.json")
    _write(out, results)
    return 0 if ok and incremental["ok"] else 1


PROBE_ROWS = 30_000_000  # integers the CPU probe hashes ten times each


def cpu_probe() -> dict[str, float]:
    """How fast this machine's cores are right now: seconds DuckDB takes for one fixed piece of work
    (hashing PROBE_ROWS integers of a table ten times) on one thread, and the same work on two. A
    shared virtual machine's cores slow down and speed up between runs (the same code's national run
    took 597 and 706 s an hour apart), so a run's times compare with another's only where their probes
    are alike; `two_core_speedup` (one / two) is what the second core adds (2.0: a full core)."""
    seconds = {}
    hashes = ", ".join(f"sum(hash(i + {k}))" for k in range(10))
    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false").fetchall()
        con.execute("create table probe as select i from range($n) t(i)", {"n": PROBE_ROWS}).fetchall()
        for threads in (1, 2):
            con.execute(f"set threads = {threads}").fetchall()
            t = time.perf_counter()
            con.execute(f"select {hashes} from probe").fetchall()
            seconds[threads] = time.perf_counter() - t
    return {"one_core_seconds": round(seconds[1], 2), "two_core_seconds": round(seconds[2], 2),
            "two_core_speedup": round(seconds[1] / seconds[2], 2) if seconds[2] else None}


def _probe(label: str) -> dict[str, float]:
    probe = cpu_probe()
    print(f"bench: CPU probe ({label}): {probe['one_core_seconds']}s on one core, {probe['two_core_seconds']}s on two "
          f"(speed-up {probe['two_core_speedup']})")
    return probe


def _header(scale: float, years: list[int], probes: dict[str, dict[str, float]] | None = None) -> dict[str, Any]:
    return {
        "machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
                    "python": platform.python_version(), "platform": platform.platform(),
                    "cpu_probe": probes or {}},
        "git_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                     cwd=PROJECT_ROOT).stdout.strip() or None,
        "scale": scale, "years": [min(years), max(years)],
    }


def _write(out: Path, results: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"bench: wrote {out}")


def run_refresh(settings: Settings, years: list[int], refresh_year: int) -> dict[str, Any]:
    """The refresh: a new delivery of one year's LPR3 contacts and coercion files, refreshed by the runs
    the sensors request for them, in that order: the load run(s) the raw-folder sensor requests
    (pipeline.ops.run_requests_for), then, every load having succeeded, the indicator run(s)
    refresh_indicators_sensor requests. Returns the `incremental` part of the results."""
    from pipeline.definitions import build_defs
    from pipeline.ops import RawFile, planned_followups, run_requests_for

    changed = [new_delivery(settings.raw_dir, r, refresh_year) for r in ("lpr_f_kontakter", "tvang")]
    files = [RawFile(f"{p.parent.name}/{p.name}", p.parent.name, refresh_year, p.stat().st_size,
                     p.stat().st_mtime_ns) for p in changed]
    graph = build_defs(settings).resolve_asset_graph()
    loads = run_requests_for(files, graph, years)
    inc_wall, inc_cpu, inc_peak, refresh_runs = 0.0, 0.0, 0, []

    def run(requests: list[Any]) -> bool:
        nonlocal inc_wall, inc_cpu, inc_peak
        for req in requests:
            st, w, pk, _, ok_r, cpu = run_requested(settings, req)
            label = req.run_key.rsplit(":", 1)[0]
            refresh_runs.append({"run": label, "seconds": round(w, 2), "cpu_seconds": round(cpu, 1), "ok": ok_r,
                                 "peak_memory_gb": round(pk / 1e9, 2), "stages": [x.row() for x in st]})
            inc_wall, inc_cpu, inc_peak = inc_wall + w, inc_cpu + cpu, max(inc_peak, pk)
            print(f"bench: refresh run {label} {'OK' if ok_r else 'FAILED'} in {w:.1f}s ({cpu:.0f} CPU-s)")
            print_table([x.row() for x in st])
            if not ok_r:
                return False
        return True

    inc_ok = run(loads) and run(planned_followups(loads[0].tags, graph, years))
    print(f"bench: incremental refresh of {refresh_year} {'OK' if inc_ok else 'FAILED'} in {inc_wall:.1f}s "
          f"({inc_cpu:.0f} CPU-s, {len(refresh_runs)} run(s))")
    return {"year": refresh_year, "files": [p.name for p in changed], "ok": inc_ok, "seconds": round(inc_wall, 2),
            "cpu_seconds": round(inc_cpu, 1), "peak_memory_gb": round(inc_peak / 1e9, 2), "runs": refresh_runs}


if __name__ == "__main__":
    sys.exit(main())
