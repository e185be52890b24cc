"""Yearly partitions. The years come from the settings (PSYK_YEARS), never from today's date.

Yearly assets use a single-run backfill policy: a run over 2015-2021 is one run whose assets receive
all seven keys in `context.partition_keys` and process them set-based.
"""

from __future__ import annotations

import warnings

import dagster as dg

from pipeline.config import Settings


def year_partitions(settings: Settings | None = None) -> dg.StaticPartitionsDefinition:
    s = settings or Settings.from_env()
    return dg.StaticPartitionsDefinition([str(y) for y in s.years])


YEARS = year_partitions()
SINGLE_RUN = dg.BackfillPolicy.single_run()

# Dagster marks `backfill_policy` as beta; the single-run policy is this project's convention for every
# yearly asset, so the warning would only repeat once per asset on every start.
warnings.filterwarnings("ignore", message=r".*backfill_policy.*", category=dg.BetaWarning)


def partition_years(context: dg.AssetExecutionContext) -> list[int]:
    """The years a run of a yearly asset covers (one or a range)."""
    return sorted(int(k) for k in context.partition_keys)
