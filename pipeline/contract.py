"""The register contract as typed Python objects, loaded from `schemas/registers.yaml`.

Everything that depends on what a register looks like (file names, columns, types, rules, thresholds,
staging column types) reads it from here, so the contract lives in one place. No data is read here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CONTRACT_FILE = Path(__file__).resolve().parent.parent / "schemas" / "registers.yaml"

# contract type -> DuckDB type of the staging column
STAGING_TYPES = {
    "str": "VARCHAR",
    "int": "INTEGER",
    "hour": "INTEGER",
    "float": "DOUBLE",
    "date": "DATE",
    "time": "TIME",
}
# contract type -> name of the rule broken when a value cannot be read as that type
TYPE_RULES = {
    "int": "not_an_integer",
    "hour": "not_an_integer",
    "float": "not_a_number",
    "date": "not_a_date",
    "time": "not_a_time",
}
LINEAGE_COLUMNS = {
    "_year": "INTEGER",
    "_source_file": "VARCHAR",
    "_source_row": "BIGINT",
    "_loaded_at": "TIMESTAMP",
}
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    required: bool = False
    codes: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    gt: float | None = None
    pattern: str | None = None
    known_kom: bool = False
    reference_list: str | None = None

    @property
    def staging_type(self) -> str:
        return STAGING_TYPES[self.type]


@dataclass(frozen=True)
class Period:
    start_date: str
    end_date: str
    start_time: str | None = None
    end_time: str | None = None


@dataclass(frozen=True)
class Thresholds:
    max_rows: int
    max_share: float

    def exceeded(self, quarantined: int, read: int) -> bool:
        """True when a delivery quarantines too many rows: above the absolute floor OR above the share."""
        share = quarantined / read if read else 0.0
        return quarantined > self.max_rows or share > self.max_share


@dataclass(frozen=True)
class RegisterSpec:
    name: str
    yearly: bool
    description: str
    columns: tuple[ColumnSpec, ...]
    thresholds: Thresholds
    unique: tuple[str, ...] = ()
    periods: tuple[Period, ...] = ()
    week_columns: str | None = None  # dream: regex of the wide week columns
    week_reference_list: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    def is_week_column(self, name: str) -> bool:
        return bool(self.week_columns and re.fullmatch(self.week_columns, name))

    def data_columns(self, present: list[str]) -> list[str]:
        """The contract's columns in contract order, plus (dream) the week columns present, sorted."""
        weeks = sorted(c for c in present if self.is_week_column(c))
        return self.column_names + weeks

    def file_name_pattern(self) -> re.Pattern[str]:
        year = r"_(?P<year>\d{4})" if self.yearly else ""
        return re.compile(rf"^{re.escape(self.name)}{year}\.(?P<ext>parquet|csv|sas7bdat)$", re.IGNORECASE)


def quote_identifier(name: str) -> str:
    """A contract identifier (register, column) as quoted SQL; refuses anything that is not a plain name.

    Identifiers cannot be bound as parameters, so table and column names from the contract (and the
    dream week columns, which match the contract's pattern) are the only text put into SQL this way.
    """
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


def _column(name: str, spec: dict[str, Any]) -> ColumnSpec:
    if spec["type"] not in STAGING_TYPES:
        raise ValueError(f"column {name}: unknown type {spec['type']!r}")
    codes = spec.get("codes")
    return ColumnSpec(
        name=name,
        type=spec["type"],
        required=bool(spec.get("required", False)),
        codes=tuple(codes) if codes is not None else None,
        min=spec.get("min"),
        max=spec.get("max"),
        gt=spec.get("gt"),
        pattern=spec.get("pattern"),
        known_kom=bool(spec.get("known_kom", False)),
        reference_list=spec.get("reference_list"),
    )


def _register(name: str, spec: dict[str, Any], defaults: dict[str, Any]) -> RegisterSpec:
    quote_identifier(name)
    columns = tuple(_column(c, s) for c, s in spec["columns"].items())
    for c in columns:
        quote_identifier(c.name)
    th = {**defaults["thresholds"], **spec.get("thresholds", {})}
    reg = RegisterSpec(
        name=name,
        yearly=bool(spec["yearly"]),
        description=spec.get("description", ""),
        columns=columns,
        thresholds=Thresholds(max_rows=int(th["max_rows"]), max_share=float(th["max_share"])),
        unique=tuple(spec.get("unique", [])),
        periods=tuple(Period(**p) for p in spec.get("periods", [])),
        week_columns=spec.get("week_columns"),
        week_reference_list=spec.get("week_reference_list"),
    )
    named = set(reg.column_names)
    for p in reg.periods:
        for col in (p.start_date, p.end_date, p.start_time, p.end_time):
            if col is not None and col not in named:
                raise ValueError(f"{name}: period column {col} is not in the contract")
    for col in reg.unique:
        if col not in named:
            raise ValueError(f"{name}: unique column {col} is not in the contract")
    return reg


@cache
def load_contract(path: Path = CONTRACT_FILE) -> dict[str, RegisterSpec]:
    """Register name -> spec, in the contract's order."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return {name: _register(name, spec, data["defaults"]) for name, spec in data["registers"].items()}


def register(name: str) -> RegisterSpec:
    return load_contract()[name]


REGISTER_NAMES: list[str] = list(load_contract())
