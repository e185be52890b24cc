"""Pandera (polars) models of the mart tables: marts.indicator_values, marts.target_progress, marts.data_quality.

What belongs here: the column names, types and value rules of the marts, used by assets/marts.py both
before anything is written (a failing frame leaves the previous marts in place) and by its asset checks
on the written tables. Column meanings are in docs/marts.md. Validate eager DataFrames (a LazyFrame
only gets its schema checked).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

BREAKDOWN_LEVELS = ["national", "region", "region2027", "sundhedsraad", "kom", "reporting_region"]
TARGET_STATUSES = ["achieved", "on_track", "off_track", "no_data"]


class IndicatorValues(pa.DataFrameModel):
    indicator_id: str = pa.Field(str_matches=r"^[a-z][a-z0-9_]*$")
    indicator_version: pl.Int32 = pa.Field(ge=1)
    measure: str
    year: pl.Int32 = pa.Field(ge=1900, le=2100)
    breakdown_level: str = pa.Field(isin=BREAKDOWN_LEVELS)
    breakdown_key: str
    sex: str = pa.Field(isin=["all", "male", "female", "unknown"])
    age_group: str
    numerator: float = pa.Field(nullable=True)
    denominator: float = pa.Field(nullable=True, ge=0)
    value: float = pa.Field(nullable=True)
    ci_low: float = pa.Field(nullable=True)
    ci_high: float = pa.Field(nullable=True)
    std_value: float = pa.Field(nullable=True)
    unit: str = pa.Field(isin=["percent", "count", "persons", "days", "per_1000", "ratio"])
    flags: str = pa.Field(nullable=True)
    run_id: str
    catalogue_version: str
    data_version: str = pa.Field(nullable=True)

    class Config:
        strict = True
        coerce = False
        unique = ["indicator_id", "measure", "year", "breakdown_level", "breakdown_key", "sex", "age_group"]

    @pa.dataframe_check
    def interval_contains_value(cls, data: PolarsData) -> pl.LazyFrame:
        """ci_low <= value <= ci_high wherever all three are set (tolerating float rounding)."""
        return data.lazyframe.select(
            pl.when(pl.col("value").is_null() | pl.col("ci_low").is_null() | pl.col("ci_high").is_null())
            .then(True)
            .otherwise(
                (pl.col("ci_low") <= pl.col("value") + 1e-9) & (pl.col("value") <= pl.col("ci_high") + 1e-9)
            )
        )


class TargetProgress(pa.DataFrameModel):
    indicator_id: str
    code: str
    measure: str
    age_group: str
    baseline_year: pl.Int32 = pa.Field(nullable=True)
    baseline_published: float = pa.Field(nullable=True)
    baseline_computed: float = pa.Field(nullable=True)
    latest_year: pl.Int32 = pa.Field(nullable=True)
    latest_value: float = pa.Field(nullable=True)
    target_value: float = pa.Field(nullable=True)
    target_year: pl.Int32 = pa.Field(nullable=True)
    target_rule: str = pa.Field(nullable=True)
    direction: str = pa.Field(isin=["up", "down"])
    needed_change: float = pa.Field(nullable=True)
    status: str = pa.Field(isin=TARGET_STATUSES)
    projection_value: float = pa.Field(nullable=True)
    projection_slope: float = pa.Field(nullable=True)
    projection_years: pl.Int32 = pa.Field(ge=0)
    run_id: str
    catalogue_version: str

    class Config:
        strict = True
        unique = ["indicator_id", "measure", "age_group"]


class DataQuality(pa.DataFrameModel):
    kind: str = pa.Field(isin=["register", "indicator"])
    source: str
    year: pl.Int32 = pa.Field(nullable=True)
    file: str = pa.Field(nullable=True)
    metric: str
    value: pl.Int64
    status: str = pa.Field(isin=["ok", "fail", "info"])
    run_id: str
    catalogue_version: str

    class Config:
        strict = True
