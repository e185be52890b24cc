"""The Dagster `Definitions`: every asset, check, job, schedule and sensor of the pipeline.

Each layer lives in its own module and is collected here; a module exposes its assets and checks as
module-level definitions, and may expose `schedules`, `sensors` and `jobs` lists.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import dagster as dg

from pipeline.config import Settings
from pipeline.resources import build_resources

LAYER_MODULES = [
    "assets.reference",  # shipped reference data (geography, code lists)
    "assets.ingest",  # one asset per register: raw -> staging + quarantine, with blocking checks
    "assets.core",  # persons, contacts, stays, admissions, coercion, DREAM weeks, survey answers
    "assets.indicators",  # one unit table per catalogue indicator
    "assets.marts",  # indicator_values, target_progress, data_quality, researchers' DuckDB file
    "assets.exports",  # disclosure-controlled status report per year
    "pipeline.ops",  # schedules and sensors
]


def _load_layers() -> list[ModuleType]:
    modules = []
    for name in LAYER_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:  # a layer not written yet; any other import error is real
            if not (exc.name and name.startswith(exc.name)):
                raise
    return modules


def build_defs(settings: Settings | None = None) -> dg.Definitions:
    s = settings or Settings.from_env()
    modules = _load_layers()
    schedules, sensors, jobs = [], [], []
    for m in modules:
        schedules += list(getattr(m, "schedules", []))
        sensors += list(getattr(m, "sensors", []))
        jobs += list(getattr(m, "jobs", []))
    return dg.Definitions(
        assets=dg.load_assets_from_modules(modules),
        asset_checks=dg.load_asset_checks_from_modules(modules),
        schedules=schedules,
        sensors=sensors,
        jobs=jobs,
        resources=build_resources(s),
        executor=dg.in_process_executor,
    )


defs = build_defs()
