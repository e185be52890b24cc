"""The repository's dagster.yaml is a valid instance config for the pinned dagster, with one writer."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator

from pipeline.config import PROJECT_ROOT


def test_dagster_yaml_loads_with_one_warehouse_writer_and_telemetry_off(tmp_path: Path) -> None:
    shutil.copy(PROJECT_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        concurrency = instance.get_concurrency_config()
        # The warehouse pool has no explicit limit, so the default limit is its limit.
        assert concurrency.pool_config.default_pool_limit == 1
        assert concurrency.run_queue_config.max_concurrent_runs == 1
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.telemetry_enabled is False
        # run history stays in the (project-local) DAGSTER_HOME
        assert Path(instance.root_directory) == tmp_path
    finally:
        instance.dispose()
